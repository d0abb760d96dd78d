/**
 * Reads a Jepsen etcd log (register operations) into a history for `registerModel`. A parser only:
 * it must never guess at a malformed or unmatched line (it throws `InvalidRequestError` naming the
 * line), and an outcome it cannot know stays `UNKNOWN`.
 */
import { InvalidRequestError } from '@flotilla/types';
import { type PendingCall, settlePendingAsUnknown } from './parse-pending.ts';
import type { RegisterInput, RegisterOutput, RegisterValue } from './register.ts';
import type { Operation } from './types.ts';
import { UNKNOWN } from './types.ts';

const LINE = /jepsen\.util - (\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s*(.*?)\s*$/;

function parseValue(text: string, where: string): RegisterValue {
  if (text === 'nil') return null;
  if (/^-?\d+$/.test(text)) return Number(text);
  throw new InvalidRequestError(where, `expected nil or an integer, got ${JSON.stringify(text)}`);
}

function parseInput(f: string, arg: string, where: string): RegisterInput {
  switch (f) {
    case 'read':
      return { kind: 'read' };
    case 'write':
      return { kind: 'write', value: parseValue(arg, where) };
    default: {
      const m = /^\[(\S+)\s+(\S+)\]$/.exec(arg);
      if (m === null) throw new InvalidRequestError(where, `expected [from to], got ${JSON.stringify(arg)}`);
      return { kind: 'cas', from: parseValue(m[1] as string, where), to: parseValue(m[2] as string, where) };
    }
  }
}

/**
 * Parses a Jepsen etcd log (register operations read / write / cas) into a history for
 * {@link registerModel}.
 *
 * Only lines of the form `INFO  jepsen.util - <process> :<type> :<f> <value>` count (fields split
 * by tabs or spaces); all others are skipped. Times are line numbers. `:ok` and `:fail` complete
 * the process's pending call (a failed cas did not swap; a failed read observed nothing); `:info`
 * and a timed-out `:fail` make the outcome unknown, as do calls still pending at the end.
 *
 * @param text - the whole log.
 * @returns the operations, in call order.
 * @throws InvalidRequestError (`INVALID_REQUEST`, `path` = `line N`) on a completion without a
 *   pending call, a second call from a busy process, a mismatched function or a malformed value.
 */
export function parseJepsenEtcdLog(text: string): Operation<RegisterInput, RegisterOutput>[] {
  interface Pending extends PendingCall<RegisterInput> {
    readonly f: string;
  }
  const ops: (Operation<RegisterInput, RegisterOutput> | undefined)[] = [];
  const pending = new Map<number, Pending>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const m = LINE.exec(lines[n] as string);
    if (m === null) continue;
    const where = `line ${n + 1}`;
    const clientId = Number(m[1]);
    const type = m[2] as string;
    const f = m[3] as string;
    const arg = m[4] as string;
    if (type === 'invoke') {
      if (pending.has(clientId)) {
        throw new InvalidRequestError(where, `process ${clientId} invoked again before completing`);
      }
      pending.set(clientId, { clientId, f, input: parseInput(f, arg, where), call: n + 1, slot: ops.length });
      ops.push(undefined);
      continue;
    }
    const p = pending.get(clientId);
    if (p === undefined) throw new InvalidRequestError(where, `process ${clientId} completed without a call`);
    if (p.f !== f)
      throw new InvalidRequestError(where, `process ${clientId} invoked :${p.f} but completed :${f}`);
    pending.delete(clientId);
    const base = { clientId, input: p.input, call: p.call };
    if (type === 'info' || (type === 'fail' && arg === ':timed-out')) {
      ops[p.slot] = { ...base, output: UNKNOWN, return: Number.POSITIVE_INFINITY };
    } else if (type === 'fail') {
      ops[p.slot] = { ...base, output: { ok: false }, return: n + 1 };
    } else if (f === 'read') {
      ops[p.slot] = { ...base, output: { ok: true, value: parseValue(arg, where) }, return: n + 1 };
    } else {
      ops[p.slot] = { ...base, output: { ok: true }, return: n + 1 };
    }
  }
  settlePendingAsUnknown(ops, pending.values());
  return ops as Operation<RegisterInput, RegisterOutput>[];
}
