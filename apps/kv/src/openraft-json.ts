import type { ClientWriteResponse } from '@flotilla/raft';
import {
  type ChangeMembershipError,
  ErrorCode,
  type ForwardToLeaderError,
  hasErrorCode,
  type InitializeError,
  type LogId,
  type Membership,
  type RaftMetrics,
  type StoredMembership,
  systemClock,
  type Vote,
} from '@flotilla/types';
import { toWireId, toWireIdOrNull } from './ids.ts';

/**
 * Converters from Flotilla values to the JSON that openraft's `raft-kv-memstore` example sends, so
 * its clients keep working. Log ids keep Flotilla's `{term, index}` shape (openraft writes
 * `{leader_id:{term,node_id}, index}`; Flotilla log ids carry no node id).
 */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** `{"Ok": value}`. */
export function ok(value: Json): { Ok: Json } {
  return { Ok: value };
}

/** `{"Err": value}`. */
export function err(value: Json): { Err: Json } {
  return { Err: value };
}

/** A log id as JSON: `{term, index}` or `null`. */
export function logIdJson(l: LogId | null): Json {
  return l === null ? null : { term: l.term, index: l.index };
}

/** openraft's vote shape: `{leader_id:{term,node_id}, committed}`. */
export function voteJson(v: Vote): Json {
  return { leader_id: { term: v.term, node_id: toWireIdOrNull(v.nodeId) }, committed: v.committed };
}

/** openraft's membership shape: `{configs:[[1,2,3]], nodes:{"1":{addr}}}` with numeric ids. */
export function membershipJson(m: Membership): Json {
  const nodes: Record<string, Json> = {};
  for (const [id, node] of Object.entries(m.nodes)) {
    const n: Record<string, Json> = { addr: node.addr };
    if (node.data !== undefined) n.data = node.data as Json;
    nodes[String(toWireId(id))] = n;
  }
  return {
    configs: m.configs.map((c) => [...c].sort(compareIds).map((id) => toWireId(id))),
    nodes,
  };
}

/** openraft's stored membership shape: `{log_id, membership}`. */
export function storedMembershipJson(m: StoredMembership): Json {
  return { log_id: logIdJson(m.logId), membership: membershipJson(m.membership) };
}

/**
 * `/metrics` body: openraft's `RaftMetrics` field names (`id`, `current_term`, `vote`,
 * `last_log_index`, `last_applied`, `snapshot`, `purged`, `state`, `current_leader`,
 * `millis_since_quorum_ack`, `membership_config`, `replication`, `running_state`), plus
 * Flotilla's `committed`, `committed_membership_config`, and per target (leader only)
 * `replication_mode` (`probing`/`pipeline`/`snapshot`/`idle`), `millis_since_ack` (ms since the
 * target last acknowledged a heartbeat or an append, at `now` on the node's clock: openraft's
 * `heartbeat`) and `log_reversion` (targets whose log went back, with the refusal's typed error).
 * `replication` maps each target to its matching log id, as openraft does.
 */
export function metricsJson(m: RaftMetrics, now: number = systemClock.now()): Json {
  let replication: Json = null;
  let modes: Json = null;
  let acks: Json = null;
  let reversions: Json = null;
  if (m.replication !== null) {
    const r: Record<string, Json> = {};
    const md: Record<string, Json> = {};
    const ack: Record<string, Json> = {};
    const rev: Record<string, Json> = {};
    for (const [id, rep] of Object.entries(m.replication)) {
      const k = String(toWireId(id));
      r[k] = logIdJson(rep.matching);
      md[k] = rep.mode;
      ack[k] = rep.lastAcked === null ? null : Math.max(0, Math.round(now - rep.lastAcked));
      if (rep.logReversion !== undefined) {
        const { matching, conflictIndex, repaired, error } = rep.logReversion;
        rev[k] = { matching: logIdJson(matching), conflict_index: conflictIndex, repaired, error };
      }
    }
    replication = r;
    modes = md;
    acks = ack;
    reversions = rev;
  }
  return {
    running_state:
      m.error === null ? { Ok: null } : { Err: { code: m.error.code, message: m.error.message } },
    id: toWireId(m.id),
    current_term: m.currentTerm,
    vote: voteJson(m.vote),
    last_log_index: m.lastLogIndex,
    committed: logIdJson(m.committed),
    last_applied: logIdJson(m.lastApplied),
    snapshot: logIdJson(m.snapshot),
    purged: logIdJson(m.purged),
    state: m.state,
    current_leader: toWireIdOrNull(m.currentLeader),
    millis_since_quorum_ack: m.millisSinceQuorumAck,
    membership_config: storedMembershipJson(m.membership),
    committed_membership_config: storedMembershipJson(m.committedMembership),
    replication,
    replication_mode: modes,
    millis_since_ack: acks,
    log_reversion: reversions,
  };
}

/**
 * openraft's `ClientWriteResponse`: `{log_id, data, membership}` where `membership` is set when the
 * entry was a membership change (`memberhip` is given by the caller for add-learner and
 * change-membership, which answer with the membership they wrote).
 */
export function writeResponseJson<R>(
  res: ClientWriteResponse<R>,
  data: Json,
  membership: Membership | null = null,
): Json {
  return {
    log_id: logIdJson(res.logId),
    data,
    membership: membership === null ? null : membershipJson(membership),
  };
}

/** The `ForwardToLeader` body: `{leader_id, leader_node:{addr}}` (either may be `null`). */
export function forwardToLeaderJson(e: Pick<ForwardToLeaderError, 'leaderId' | 'leaderNode'>): Json {
  return {
    leader_id: toWireIdOrNull(e.leaderId),
    leader_node: e.leaderNode === null ? null : { addr: e.leaderNode.addr },
  };
}

/**
 * An error as openraft's `RaftError` serializes: `{"APIError": …}` for outcomes a client handles
 * (`ForwardToLeader`, `ChangeMembershipError`, `NotAllowed`, …) and `{"Fatal": …}` when the node has
 * stopped. Returns the body and whether it is fatal.
 */
export function raftErrorJson(e: unknown): { body: Json; fatal: boolean } {
  if (!hasErrorCode(e)) {
    const message = e instanceof Error ? e.message : String(e);
    return { body: { Fatal: { Panicked: { message } } }, fatal: true };
  }
  const message = e.message;
  switch (e.code) {
    case ErrorCode.ForwardToLeader:
      return {
        body: { APIError: { ForwardToLeader: forwardToLeaderJson(e as ForwardToLeaderError) } },
        fatal: false,
      };
    case ErrorCode.ChangeMembership:
      return {
        body: { APIError: { ChangeMembershipError: { [(e as ChangeMembershipError).reason]: { message } } } },
        fatal: false,
      };
    case ErrorCode.InvalidMembership:
      return { body: { APIError: { ChangeMembershipError: { Invalid: { message } } } }, fatal: false };
    case ErrorCode.Initialize:
      return { body: { APIError: { [(e as InitializeError).reason]: { message } } }, fatal: false };
    case ErrorCode.Stopped:
      return { body: { Fatal: 'Stopped' }, fatal: true };
    case ErrorCode.Storage:
      return { body: { Fatal: { StorageError: { message } } }, fatal: true };
    case ErrorCode.Panicked:
      return { body: { Fatal: { Panicked: { message } } }, fatal: true };
    default:
      return { body: { APIError: { [apiErrorName(e.code)]: { code: e.code, message } } }, fatal: false };
  }
}

/** `TIMEOUT` → `Timeout`, `OUTCOME_UNKNOWN` → `OutcomeUnknown`. */
function apiErrorName(code: string): string {
  return code
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** Orders ids numerically when both are decimal, else as strings. */
export function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isSafeInteger(na) && Number.isSafeInteger(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
