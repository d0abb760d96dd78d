/**
 * Reads a key-value history written one flat EDN map a line into a history for `kvModel`, with the
 * small EDN scalar reader it needs. A parser only: it must never guess at a malformed line (it throws
 * `InvalidRequestError` naming the line), and an outcome it cannot know stays `UNKNOWN`.
 */
import { InvalidRequestError } from '@flotilla/types';
import type { KvInput, KvOutput } from './kv.ts';
import { type PendingCall, settlePendingAsUnknown } from './parse-pending.ts';
import type { Operation } from './types.ts';
import { UNKNOWN } from './types.ts';

/** A scalar EDN value as found in history lines; keywords keep their leading colon. */
export type EdnScalar = string | number | boolean | null | { readonly keyword: string };

/**
 * Parses one flat EDN map (`{:k v, :k2 v2}`) whose keys are keywords and whose values are
 * scalars: strings, integers, `nil`, `true`/`false` or keywords.
 *
 * @param line - the text of the map.
 * @param where - the path used in errors.
 * @returns the entries, keyed by keyword name without the colon.
 * @throws InvalidRequestError (`INVALID_REQUEST`) on anything else.
 */
export function parseEdnMap(line: string, where: string): Map<string, EdnScalar> {
  let i = 0;
  const fail = (msg: string): never => {
    throw new InvalidRequestError(where, `${msg} at column ${i + 1}`);
  };
  const skip = (): void => {
    while (i < line.length && /[\s,]/.test(line[i] as string)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < line.length && !/[\s,{}[\]()"]/.test(line[i] as string)) i++;
    return line.slice(start, i);
  };
  const value = (): EdnScalar => {
    if (line[i] === '"') {
      let s = '';
      i++;
      while (i < line.length && line[i] !== '"') {
        let c = line[i] as string;
        if (c === '\\') {
          i++;
          const e = line[i];
          c = e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : (e ?? fail('unterminated escape'));
        }
        s += c;
        i++;
      }
      if (i >= line.length) fail('unterminated string');
      i++;
      return s;
    }
    const t = token();
    if (t === 'nil') return null;
    if (t === 'true' || t === 'false') return t === 'true';
    if (/^-?\d+$/.test(t)) return Number(t);
    if (/^:[^:]/.test(t)) return { keyword: t.slice(1) };
    return fail(`unexpected ${JSON.stringify(t || line[i] || 'end of line')}`);
  };
  const map = new Map<string, EdnScalar>();
  skip();
  if (line[i] !== '{') fail('expected {');
  i++;
  for (;;) {
    skip();
    if (line[i] === '}') break;
    if (i >= line.length) fail('unterminated map');
    const k = token();
    if (!/^:[^:]/.test(k)) fail(`expected a keyword key, got ${JSON.stringify(k || line[i])}`);
    skip();
    map.set(k.slice(1), value());
  }
  i++;
  skip();
  if (i < line.length) fail('trailing text after the map');
  return map;
}

function keyword(v: EdnScalar | undefined): string | undefined {
  return typeof v === 'object' && v !== null ? v.keyword : undefined;
}

/**
 * Parses a key-value history with one EDN map a line, e.g.
 * `{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}`, into a history for
 * {@link kvModel}.
 *
 * `:type` is `:invoke`, `:ok`, `:fail` (the call did not take effect: it is dropped) or `:info`
 * (outcome unknown); `:f` is `:get`, `:put` or `:append`. A get's `nil` value reads as `''`. Times
 * are line numbers; calls still pending at the end have an unknown outcome. Blank lines are skipped.
 *
 * @param text - the whole file.
 * @returns the operations, in call order.
 * @throws InvalidRequestError (`INVALID_REQUEST`, `path` = `line N`) on malformed lines or a
 *   completion that does not match a pending call.
 */
export function parseKvEdnHistory(text: string): Operation<KvInput, KvOutput>[] {
  const ops: (Operation<KvInput, KvOutput> | null | undefined)[] = [];
  const pending = new Map<number, PendingCall<KvInput>>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] as string).trim();
    if (line === '') continue;
    const where = `line ${n + 1}`;
    const map = parseEdnMap(line, where);
    const process = map.get('process');
    const type = keyword(map.get('type'));
    const f = keyword(map.get('f'));
    const key = map.get('key');
    const value = map.get('value');
    if (typeof process !== 'number') throw new InvalidRequestError(where, ':process must be an integer');
    if (f !== 'get' && f !== 'put' && f !== 'append') {
      throw new InvalidRequestError(where, ':f must be :get, :put or :append');
    }
    if (typeof key !== 'string') throw new InvalidRequestError(where, ':key must be a string');
    if (type === 'invoke') {
      if (pending.has(process)) {
        throw new InvalidRequestError(where, `process ${process} invoked again before completing`);
      }
      let input: KvInput;
      if (f === 'get') {
        input = { kind: 'get', key };
      } else {
        if (typeof value !== 'string') throw new InvalidRequestError(where, `:${f} needs a string :value`);
        input = { kind: f, key, value };
      }
      pending.set(process, { clientId: process, input, call: n + 1, slot: ops.length });
      ops.push(undefined);
      continue;
    }
    if (type !== 'ok' && type !== 'fail' && type !== 'info') {
      throw new InvalidRequestError(where, ':type must be :invoke, :ok, :fail or :info');
    }
    const p = pending.get(process);
    if (p === undefined) throw new InvalidRequestError(where, `process ${process} completed without a call`);
    if (p.input.kind !== f || p.input.key !== key) {
      throw new InvalidRequestError(where, `process ${process} completed a different call than it invoked`);
    }
    pending.delete(process);
    const base = { clientId: process, input: p.input, call: p.call };
    if (type === 'fail') {
      ops[p.slot] = null;
    } else if (type === 'info') {
      ops[p.slot] = { ...base, output: UNKNOWN, return: Number.POSITIVE_INFINITY };
    } else if (f === 'get') {
      if (value !== null && typeof value !== 'string') {
        throw new InvalidRequestError(where, ':get must return a string or nil');
      }
      ops[p.slot] = { ...base, output: { value: value ?? '' }, return: n + 1 };
    } else {
      ops[p.slot] = { ...base, output: {}, return: n + 1 };
    }
  }
  settlePendingAsUnknown(ops, pending.values());
  return ops.filter((op): op is Operation<KvInput, KvOutput> => op != null);
}
