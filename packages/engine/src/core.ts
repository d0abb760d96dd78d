/**
 * The engine's state: `EngineCore`, every field of a node's Raft state in one object, the shapes of
 * its parts (I/O marks, memberships, leader and candidate state, log reversions) and the few
 * primitives all handlers share (`emit`, `nextIo`, `invariant`). Owns the shapes and the initial
 * values only: it must never decide a Raft rule; which handler changes which field is in its header.
 */
import type { InflightIdGen, ProgressEntry, VecProgress } from '@flotilla/progress';
import {
  emptyStoredMembership,
  initialVote,
  type LogId,
  type NodeId,
  PanickedError,
  type SnapshotMeta,
  type StoredMembership,
  type Vote,
} from '@flotilla/types';
import type { Command } from './command.ts';
import type { EngineConfig } from './config.ts';
import { LogIdList } from './log-ids.ts';

/**
 * Throws `PanickedError` (a bug) naming engine `id` when `cond` is false. A function rather than the
 * core's method, so that handlers holding only a slice of the core can narrow with it.
 */
export function invariant(id: NodeId, cond: boolean, message: () => string): asserts cond {
  if (!cond) throw new PanickedError(`engine ${id}: ${message()}`);
}

/** A storage write as the engine issued it: its id, and the vote and last log id right after it. */
export interface IoMark {
  /** The write's io id (strictly increasing per engine instance; 0 = the startup state). */
  ioId: number;
  /** The vote in force once this write is applied. */
  vote: Vote;
  /** The last log id once this write is applied. */
  lastLogId: LogId | null;
}

/** I/O progress of log and vote writes: accepted (issued) ≥ submitted (readable) ≥ flushed (durable). */
export interface IoProgress {
  /** The last write issued to the runtime. */
  accepted: IoMark;
  /** The last write reported readable. */
  submitted: IoMark;
  /** The last write reported durable. */
  flushed: IoMark;
  /** Issued writes not yet flushed, ascending. */
  pending: IoMark[];
}

/** The last two memberships: `committed` is known committed, `effective` (possibly newer) is in force. */
export interface MembershipState {
  /** The last membership known committed. */
  committed: StoredMembership;
  /** The membership in force: the last one in the log (effective on append, Raft §6). */
  effective: StoredMembership;
}

/** The leader's volatile state (Raft Figure 2's "volatile state on leaders"). */
export interface LeaderState {
  /** The leader's committed vote. */
  vote: Vote;
  /** Replication progress per target (every member but the leader). */
  progress: Map<NodeId, ProgressEntry>;
  /** Flushed/acked log id per voter, for the commit index (the leader counts itself after its flush). */
  commit: VecProgress<LogId | null>;
  /** Send time of the latest acked request per voter, for the lease and check-quorum. */
  clock: VecProgress<number>;
  /** When the last heartbeat broadcast was sent. */
  lastHeartbeatAt: number;
  /** When this node became leader. */
  since: number;
  /** The voter set a two-step (joint then uniform) membership change is heading to. */
  membershipGoal: { voters: NodeId[]; retain: boolean } | null;
  /**
   * The address each target's replication stream was built with (at the last
   * `rebuildReplicationStreams`). The runtime replaces the stream of a target whose address changed
   * (`setNodes`), so that target's inflight is released when the address changes.
   */
  streamAddrs: Map<NodeId, string>;
  /** The node leadership is being transferred to. */
  transferTo: NodeId | null;
  /**
   * The transfer request not sent to `transferTo` yet: it is sent once the target matches
   * `lastLogId` (the leader's last log id when the transfer started); `null` once sent.
   */
  transferPending: { lastLogId: LogId | null } | null;
}

/**
 * A target whose log went back behind what it had acknowledged (e.g. it restarted from an older
 * durable state, or with a wiped store), as the leader of term `term` detected it.
 */
export interface LogReversion {
  /** The target. */
  target: NodeId;
  /** The term of the leader that detected it. */
  term: number;
  /** What the target had acknowledged before. */
  matching: LogId | null;
  /** The index of the `prevLogId` it no longer holds. */
  conflictIndex: number;
  /**
   * `true`: allowed (`allowLogReversion`): the progress was reset and the target is being repaired.
   * `false`: refused: nothing more is replicated to the target under this leader.
   */
  repaired: boolean;
  /** When it was detected. */
  at: number;
  /** Increases with every detection on this engine (tells new reports from old ones). */
  seq: number;
}

/** A candidate's (or pre-candidate's) election in progress. */
export interface CandidateState {
  /** The vote asked for (for a pre-vote: the vote the real election would ask for). */
  vote: Vote;
  /** Pre-vote round: nothing saved, no term change. */
  preVote: boolean;
  /** Voters that granted (the candidate itself once its vote is durable; at once for a pre-vote). */
  granted: Set<NodeId>;
  /** When the election started. */
  startedAt: number;
}

/**
 * All of an engine's state, shared by the handler modules. Each handler reads and changes only the
 * parts its concern owns (documented per module).
 */
export class EngineCore {
  readonly id: NodeId;
  readonly config: EngineConfig;
  readonly random: () => number;
  readonly ids: InflightIdGen;
  commands: Command[] = [];

  /** The vote in force (maybe not yet durable: see `io`). */
  vote: Vote = initialVote();
  /** The log as issued (maybe not yet durable). */
  log: LogIdList = new LogIdList();
  /** The last committed log id known here. */
  committed: LogId | null = null;
  /** The last committed log id handed to the state machine. */
  applying: LogId | null = null;
  /** The last log id the state machine reported applied. */
  applied: LogId | null = null;
  /** The current snapshot's meta. */
  snapshot: SnapshotMeta | null = null;
  /** Whether a snapshot build is running. */
  buildingSnapshot = false;
  /** A purge postponed while a replication stream may still read the range. */
  pendingPurge: LogId | null = null;
  /**
   * Leader: targets whose send failed while a purge was pending; re-sent once the purge ran (a
   * re-send would pin its range again: to an unreachable target a range is always in flight or in
   * back-off, and two such targets would hold the purge back for ever).
   */
  deferredSends = new Set<NodeId>();
  membership: MembershipState = { committed: emptyStoredMembership(), effective: emptyStoredMembership() };
  io: IoProgress;
  leader: LeaderState | null = null;
  candidate: CandidateState | null = null;
  /** Follower: the greatest log id matched in a request from the leader of the current vote. */
  acceptedFromLeader: LogId | null = null;
  /** Last time a leader (or this node as leader) was heard from; votes are refused within the lease. */
  lastLeaderContact: number | null = null;
  /**
   * The leader of term `term` is handing over to `to`: this voter does not hold that leader's lease
   * against `to` (thesis §3.10; the old leader stopped serving lease reads when it started the transfer).
   */
  leaseWaiver: { term: number; to: NodeId } | null = null;
  /** Log reversions detected as leader, the latest per target (see {@link LogReversion}). */
  logReversions = new Map<NodeId, LogReversion>();
  /** The `seq` of the last log reversion recorded (increasing, never reused). */
  logReversionSeq = 0;
  /** When the election timer fires. */
  electionDeadline = 0;
  /** Extra back-off added after seeing a voter with a greater log. */
  backoffUntil = 0;
  /** Whether `startup` ran. */
  started = false;
  /** The latest time seen. */
  now = 0;

  constructor(id: NodeId, config: EngineConfig, random: () => number, ids: InflightIdGen) {
    this.id = id;
    this.config = config;
    this.random = random;
    this.ids = ids;
    const mark: IoMark = { ioId: 0, vote: this.vote, lastLogId: null };
    this.io = { accepted: mark, submitted: mark, flushed: mark, pending: [] };
  }

  /** Queues a command. */
  emit(cmd: Command): void {
    this.commands.push(cmd);
  }

  /** Issues a storage write: records its io mark (vote and log as they stand now) and returns its id. */
  nextIo(): number {
    const mark: IoMark = { ioId: this.io.accepted.ioId + 1, vote: this.vote, lastLogId: this.log.last() };
    this.io.accepted = mark;
    this.io.pending.push(mark);
    return mark.ioId;
  }

  /** The condition under which everything issued so far is durable (`null`: it already is). */
  whenDurable(): { type: 'ioFlushed'; ioId: number } | null {
    return this.io.accepted.ioId > this.io.flushed.ioId
      ? { type: 'ioFlushed', ioId: this.io.accepted.ioId }
      : null;
  }

  /** Throws `PanickedError` (a bug) when `cond` is false. */
  assert(cond: boolean, message: () => string): asserts cond {
    invariant(this.id, cond, message);
  }
}
