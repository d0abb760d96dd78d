// Shared by the fileStateMachine tests: a small key-value application and entry builders.
import type { ApplyEntry, ClientSession, LogId } from '@flotilla/types';
import { type FileIO, type FileStateMachine, fileStateMachine } from '../src/index.ts';

/** A write: set `key` to `value`. */
export type Cmd = { key: string; value: number };
/** The previous value of the key (`null` when unset). */
export type Resp = number | null;
/** The state: a Map, changed in place (the default codec keeps it a Map). */
export type Kv = Map<string, number>;
export type KvSm = FileStateMachine<Kv, Cmd, Resp>;

/** Applications seen by `open`'s apply function, to tell applied writes from answered duplicates. */
export const executed: LogId[] = [];

/** Opens a key-value file state machine in `dir`. */
export function open(dir: string, io?: FileIO, extra: { maxSessions?: number } = {}): Promise<KvSm> {
  return fileStateMachine<Kv, Cmd, Resp>({
    dir,
    initial: new Map(),
    apply: (s, { key, value }, logId) => {
      executed.push(logId);
      const old = s.get(key) ?? null;
      s.set(key, value);
      return [s, old];
    },
    ...(io === undefined ? {} : { io }),
    ...extra,
  });
}

/** A normal entry at `index` (term 1), with a session when given. */
export function write(index: number, key: string, value: number, session?: ClientSession): ApplyEntry<Cmd> {
  const data = { key, value };
  return {
    logId: { term: 1, index },
    payload: session === undefined ? { type: 'normal', data } : { type: 'normal', data, session },
  };
}
