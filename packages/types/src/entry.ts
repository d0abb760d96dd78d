/**
 * Owns what a log entry is: `Entry` and its payloads, the client session that makes a write
 * exactly-once, the state machine's decoded view (`ApplyEntry`) and the builders of each kind. Plain
 * data: application bytes are encoded once, by the runtime's codec; this file must never encode them.
 */
import type { LogId } from './log-id.ts';
import type { Membership } from './membership.ts';

/**
 * What a log entry carries. Application data is encoded **once**, when the client writes, by the
 * runtime's `Codec`; stores and transports carry these bytes as they are.
 */
export type EntryPayload =
  /** An entry without data: a new leader's first entry of its term (Raft §8). */
  | { type: 'blank' }
  /** Application data, already encoded; `session` when the client asked for exactly-once application. */
  | { type: 'normal'; data: Uint8Array; session?: ClientSession }
  /** A membership change; takes effect as soon as it is appended (Raft §6). */
  | { type: 'membership'; membership: Membership };

/**
 * Identifies a client write for exactly-once application (Raft thesis §6.3): a state machine applies a
 * write whose `sequence` is not above the last one it applied for `clientId` only once, answering
 * retries with the first response (see `ClientSessions` in `@flotilla/raft`).
 */
export interface ClientSession {
  /** The client's session id. */
  clientId: string;
  /** The write's sequence number in the session; increasing. */
  sequence: number;
}

/** A log entry. Plain data: encodes with msgpack and compares with deep equality. */
export interface Entry {
  /** The entry's identity. */
  logId: LogId;
  /** What it carries. */
  payload: EntryPayload;
}

/** An entry as the state machine sees it: application data decoded to `D`. */
export type ApplyEntry<D> = {
  /** The entry's identity. */
  logId: LogId;
  /** What it carries, with application data decoded. */
  payload:
    | { type: 'blank' }
    | { type: 'normal'; data: D; session?: ClientSession }
    | { type: 'membership'; membership: Membership };
};

/** Builds a blank entry. */
export function blankEntry(term: number, index: number): Entry {
  return { logId: { term, index }, payload: { type: 'blank' } };
}

/** Builds a normal entry with already-encoded data. */
export function normalEntry(term: number, index: number, data: Uint8Array): Entry {
  return { logId: { term, index }, payload: { type: 'normal', data } };
}

/** Builds a membership entry. */
export function membershipEntry(term: number, index: number, membership: Membership): Entry {
  return { logId: { term, index }, payload: { type: 'membership', membership } };
}

/** The number of payload bytes of an entry (its application data; 0 for blank and membership). */
export function entryDataBytes(entry: Entry): number {
  return entry.payload.type === 'normal' ? entry.payload.data.byteLength : 0;
}
