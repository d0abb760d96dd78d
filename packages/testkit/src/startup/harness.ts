/**
 * What an implementation gives the start-up suite (`StartupHarness`: fresh stores, a way to start a
 * node on them and read what it computed) and the helpers the cases fill stores with. Must never
 * assume anything of the stores beyond `RaftLogStorage` and `RaftStateMachine`, nor of the node
 * beyond its `RaftMetrics`.
 */
import type {
  ApplyEntry,
  Entry,
  LogId,
  Membership,
  RaftLogStorage,
  RaftMetrics,
  RaftStateMachine,
  Vote,
} from '@flotilla/types';
import { FlushProbe } from '../testing/fixtures.ts';

/** A log store and a state machine: what one node starts from. */
export interface StartupStores<D, R> {
  /** The node's log store. */
  logStore: RaftLogStorage;
  /** The node's state machine. */
  stateMachine: RaftStateMachine<D, R>;
}

/** A node started on pre-filled stores, as the suite sees it: its metrics only. */
export interface StartedNode {
  /** The node's metrics now. */
  metrics(): RaftMetrics;
  /**
   * Resolves with the metrics once `pred` holds (e.g. `raft.wait({timeoutMs}).until(pred, what)`);
   * rejects after a timeout of the harness's choosing, saying `what` it waited for.
   */
  until(pred: (m: RaftMetrics) => boolean, what: string): Promise<RaftMetrics>;
  /** Stops the node (its stores stay as they are). */
  stop(): Promise<void>;
}

/** How the start-up suite gets stores and starts a node on them. */
export interface StartupHarness<D, R> {
  /** A fresh, empty log store and state machine. */
  setup(): Promise<StartupStores<D, R>>;
  /**
   * Starts node `id` on `stores` (e.g. `Raft.create({ id, logStore, stateMachine, network, config })`).
   * The suite fills the stores first, through their contracts only; the node is never a voter of
   * the memberships the cases write, so it stays a follower or learner and changes nothing by
   * itself. Rejecting is how a node refuses stores that contradict each other.
   */
  start(stores: StartupStores<D, R>, id: string): Promise<StartedNode>;
  /** Disposes of the stores (after the node was stopped). */
  teardown?(stores: StartupStores<D, R>): Promise<void>;
}

/** The id of the node every case starts. */
export const STARTUP_NODE_ID = 'n0';

/** A blank log entry. */
export function blank(term: number, index: number): Entry {
  return { logId: { term, index }, payload: { type: 'blank' } };
}

/** A membership log entry whose voters are `voters` (each with address `<id>:1`). */
export function membershipAt(term: number, index: number, voters: readonly string[]): Entry {
  return { logId: { term, index }, payload: { type: 'membership', membership: uniform(voters) } };
}

/** A uniform membership of `voters`. */
export function uniform(voters: readonly string[]): Membership {
  return { configs: [[...voters]], nodes: Object.fromEntries(voters.map((v) => [v, { addr: `${v}:1` }])) };
}

/** Appends entries and waits until they are durable. */
export async function appendDurable(store: RaftLogStorage, entries: Entry[]): Promise<void> {
  const probe = new FlushProbe();
  await store.append(entries, probe.onFlushed);
  await probe.flushed();
}

/** Applies log entries (blank and membership ones only) to a state machine. */
export async function applyAll<D, R>(sm: RaftStateMachine<D, R>, entries: Entry[]): Promise<void> {
  const out: ApplyEntry<D>[] = entries.map((e) => {
    if (e.payload.type === 'normal')
      throw new Error('the start-up cases apply blank and membership entries only');
    return { logId: e.logId, payload: e.payload };
  });
  await sm.apply(out);
}

/** A committed vote of `term` for `nodeId`. */
export function voteOf(term: number, nodeId: string, committed = false): Vote {
  return { term, nodeId, committed };
}

/** `{term, index}`. */
export function logId(term: number, index: number): LogId {
  return { term, index };
}
