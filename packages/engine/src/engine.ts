import { InflightIdGen } from '@flotilla/progress';
import {
  type AppendEntriesRequest,
  compareLogId,
  type EntryPayload,
  formatLogId,
  InitializeError,
  type InstallSnapshotRequest,
  InvalidRequestError,
  indexOf,
  initialVote,
  isVoter,
  type LogId,
  leaderOf,
  type Membership,
  maxLogId,
  type Node,
  type NodeId,
  PanickedError,
  type ReplicationMetrics,
  type ServerState,
  type SnapshotMeta,
  StorageError,
  type StoredMembership,
  type TransferLeaderRequest,
  type Vote,
  type VoteRequest,
  type VoteResponse,
  validateMembership,
  voteEquals,
} from '@flotilla/types';
import type { Command, LocalIoEvent, ReplicationResult } from './command.ts';
import { type EngineConfig, validateEngineConfig } from './config.ts';
import { EngineCore, type IoMark, type LogReversion } from './core.ts';
import { handleAppendEntries } from './handlers/following.ts';
import * as leaderH from './handlers/leader.ts';
import { appendToLog, membershipCommitted } from './handlers/log.ts';
import { onReplicationProgress } from './handlers/replication.ts';
import {
  checkServerStateInvariants,
  mayCampaign,
  resetElectionTimer,
  serverState,
} from './handlers/server-state.ts';
import {
  handleInstallSnapshot,
  onApplied,
  onSnapshotBuilt,
  purgeUpTo,
  schedulePurge,
} from './handlers/snapshot.ts';
import { elect, handleVoteRequest, handleVoteResponse, onVoteFlushed } from './handlers/vote.ts';
import { LogIdList } from './log-ids.ts';

/** What the runtime read from storage and the state machine at startup. */
export interface EngineStartup {
  /** The saved vote (`null`: never saved). */
  vote: Vote | null;
  /** The last purged log id. */
  purged: LogId | null;
  /**
   * The first log id of every term in the log after `purged`, ascending, then the last log id
   * (any superset of these ids in order also works, e.g. every log id).
   */
  keyLogIds: LogId[];
  /** The saved committed log id, if the store keeps it. */
  committed: LogId | null;
  /** The state machine's last applied log id. */
  applied: LogId | null;
  /** The current snapshot's meta, if any. */
  snapshot: SnapshotMeta | null;
  /** The last (up to two) membership entries of the log after `purged`, ascending. */
  memberships: StoredMembership[];
}

/** Options of `new Engine(...)`. */
export interface EngineOptions {
  /** This node's id. */
  id: NodeId;
  /** Configuration; missing fields take `defaultEngineConfig()` values. */
  config?: Partial<EngineConfig>;
  /** A seeded source of uniform numbers in [0, 1) for election timeouts. Never `Math.random` in tests. */
  random: () => number;
}

/**
 * The sans-I/O Raft engine. Inputs are method calls (time `now` is an argument of the injected
 * monotonic clock); outputs are `Command`s taken with `takeCommands()`. It performs no I/O, owns no
 * timer and never awaits. Illegal transitions and broken invariants throw `PanickedError`; bad API
 * use throws the typed errors of `@flotilla/types`.
 */
export class Engine {
  readonly #c: EngineCore;

  /** Creates an engine; call `startup` before anything else. */
  constructor(opts: EngineOptions) {
    this.#c = new EngineCore(opts.id, validateEngineConfig(opts.config), opts.random, new InflightIdGen());
  }

  /** This node's id. */
  get id(): NodeId {
    return this.#c.id;
  }

  /** The validated configuration. */
  get config(): EngineConfig {
    return this.#c.config;
  }

  /** Returns and clears the commands queued since the last call, in order. */
  takeCommands(): Command[] {
    const out = this.#c.commands;
    this.#c.commands = [];
    return out;
  }

  /**
   * Loads the persisted state. The log is reconciled with the snapshot (a log that does not hold the
   * snapshot's last log id is replaced by it) and `committed` is trusted only if the log holds it.
   * Emits `saveCommittedAndApply` when committed entries are not applied yet. Throws `StorageError`
   * (`op: 'open'`) when the log was purged beyond what the state machine applied and its snapshot
   * holds: the entries in between exist nowhere (a purge made durable before the snapshot install it
   * depended on), and the node must be wiped and re-added.
   */
  startup(s: EngineStartup, now: number): void {
    const c = this.#c;
    if (c.started) throw new PanickedError('startup called twice');
    const held = maxLogId(s.applied, s.snapshot?.lastLogId ?? null);
    if (indexOf(s.purged) > indexOf(held)) {
      throw new StorageError(
        'open',
        `the log is purged up to ${formatLogId(s.purged)} but the state machine holds only up to ${formatLogId(held)}`,
      );
    }
    c.started = true;
    c.now = now;
    c.vote = s.vote ?? initialVote();
    c.log = LogIdList.of(s.purged, s.keyLogIds);
    const snapLast = s.snapshot?.lastLogId ?? null;
    c.snapshot = s.snapshot;
    let memberships = s.memberships.filter((m) => compareLogId(m.logId, c.log.purged()) > 0);
    if (snapLast !== null && !c.log.contains(snapLast)) {
      // A snapshot install whose log writes were lost: the log after the purge point is stale.
      if (indexOf(c.log.last()) > snapLast.index) {
        const since = c.log.logIdAt(snapLast.index + 1)!;
        c.log.truncate(since.index);
        c.emit({ type: 'truncateLog', ioId: c.nextIo(), since });
      }
      c.log.purge(snapLast);
      c.emit({ type: 'purgeLog', ioId: c.nextIo(), upto: snapLast });
      memberships = [];
    }
    const base = s.snapshot?.lastMembership ?? { logId: null, membership: { configs: [], nodes: {} } };
    const all = [base, ...memberships].sort((a, b) => compareLogId(a.logId, b.logId));
    const effective = all[all.length - 1]!;
    const previous = all.length > 1 ? all[all.length - 2]! : effective;
    // The state machine applies committed entries only: what it applied is committed, even when the
    // store keeps no committed id (`saveCommitted` is optional).
    const appliedInLog = s.applied !== null && c.log.contains(s.applied) ? s.applied : null;
    const floor = maxLogId(maxLogId(snapLast, c.log.purged()), appliedInLog);
    c.committed = s.committed !== null && c.log.contains(s.committed) ? maxLogId(s.committed, floor) : floor;
    c.membership = {
      committed: compareLogId(effective.logId, c.committed) <= 0 ? effective : previous,
      effective,
    };
    c.applied = s.applied;
    c.applying = s.applied;
    const mark: IoMark = { ioId: c.io.accepted.ioId, vote: c.vote, lastLogId: c.log.last() };
    c.io = { accepted: mark, submitted: mark, flushed: mark, pending: c.io.pending };
    for (const p of c.io.pending) p.vote = c.vote;
    if (c.committed !== null && compareLogId(c.committed, c.applying) > 0) {
      c.emit({ type: 'saveCommittedAndApply', prevCommitted: c.applying, committed: c.committed });
      c.applying = c.committed;
    }
    // When this node last heard from its leader is lost with the restart: count the restart as that
    // contact, so it keeps refusing other candidates for a whole lease (thesis §6.4).
    c.lastLeaderContact = leaderOf(c.vote) === null ? null : now;
    resetElectionTimer(c, now);
  }

  /**
   * Initializes a pristine node with `membership` (entry 0-0) and starts an election. Throws
   * `InitializeError` ('NotAllowed' if the node has a log or a vote, 'NotInMembers', 'Invalid').
   */
  initialize(membership: Membership, now: number): LogId {
    const c = this.#require();
    if (c.log.last() !== null || c.vote.term !== 0 || c.vote.nodeId !== null) {
      throw new InitializeError('NotAllowed', 'the node already has a log or a vote');
    }
    try {
      validateMembership(membership);
    } catch (err) {
      throw new InitializeError('Invalid', (err as Error).message);
    }
    if (membership.configs.length === 0) throw new InitializeError('Invalid', 'the membership has no voters');
    if (!isVoter(membership, c.id))
      throw new InitializeError('NotInMembers', `${c.id} is not a voter of the membership`);
    const logId = { term: 0, index: 0 };
    appendToLog(c, [{ logId, payload: { type: 'membership', membership } }]);
    elect(c, now);
    return logId;
  }

  /** Starts an election now (pre-vote first when enabled). Ignored by leaders and learners. */
  elect(now: number): void {
    const c = this.#require();
    c.now = now;
    elect(c, now);
  }

  /** Advances time: election timeout, heartbeats, check-quorum. */
  tick(now: number): void {
    const c = this.#require();
    c.now = now;
    if (c.leader !== null) leaderH.leaderTick(c, now);
    else if (now >= c.electionDeadline && mayCampaign(c)) elect(c, now);
  }

  /** Handles a vote or pre-vote request; the answer is a `respond` command carrying `reply`. */
  handleVoteRequest(req: VoteRequest, reply: unknown, now: number): void {
    const c = this.#require();
    c.now = now;
    handleVoteRequest(c, req, reply, now);
  }

  /** Handles a reply from `from` to our vote or pre-vote request. */
  handleVoteResponse(from: NodeId, resp: VoteResponse, now: number): void {
    const c = this.#require();
    c.now = now;
    handleVoteResponse(c, from, resp, now);
  }

  /** Handles AppendEntries (or a heartbeat); the answer is a `respond` command carrying `reply`. */
  handleAppendEntries(req: AppendEntriesRequest, reply: unknown, now: number): void {
    const c = this.#require();
    c.now = now;
    handleAppendEntries(c, req, reply, now);
  }

  /** Handles a fully received snapshot from the leader; the answer is a `respond` command. */
  handleInstallSnapshot(req: InstallSnapshotRequest, reply: unknown, now: number): void {
    const c = this.#require();
    c.now = now;
    handleInstallSnapshot(c, req, reply, now);
  }

  /**
   * The leader of our current vote is handing leadership over to `req.to` (it sends this to every
   * other voter). Every receiver stops holding that leader's lease against `req.to` (only against
   * it, only in this term). The target itself, if its log has caught up, elects itself at once (no
   * pre-vote). A request from any other leader is ignored.
   */
  handleTransferLeader(req: TransferLeaderRequest, now: number): void {
    const c = this.#require();
    c.now = now;
    if (!voteEquals(req.from, c.vote) || c.leader !== null) return;
    c.leaseWaiver = { term: c.vote.term, to: req.to };
    if (req.to !== c.id) return;
    if (compareLogId(c.log.last(), req.lastLogId) < 0) return;
    c.lastLeaderContact = null;
    elect(c, now, { skipPreVote: true });
  }

  /** Leader: appends client payloads (blank or normal). Returns their log ids. */
  leaderAppend(payloads: EntryPayload[], now: number): LogId[] {
    const c = this.#require();
    c.now = now;
    return leaderH.leaderAppend(c, payloads, now);
  }

  /**
   * Leader: changes the voter set through joint consensus. Returns the first membership entry's id.
   * Throws `ForwardToLeaderError` on a non-leader and `ChangeMembershipError`: 'InProgress',
   * 'EmptyMembership', 'LearnerNotFound' (a new voter neither a learner nor in `addNodes`),
   * 'NotCaughtUp' (only with `maxPromotionLag`), 'Invalid'.
   */
  changeMembership(
    voters: NodeId[],
    opts: { retain?: boolean; addNodes?: Record<NodeId, Node> },
    now: number,
  ): LogId {
    const c = this.#require();
    c.now = now;
    return leaderH.changeMembership(c, voters, opts, now);
  }

  /** Leader: adds a learner. Returns the membership entry's id. */
  addLearner(id: NodeId, node: Node, now: number): LogId {
    const c = this.#require();
    c.now = now;
    return leaderH.addLearner(c, id, node, now);
  }

  /** Leader: asks voter `to` to take over leadership. */
  transferLeader(to: NodeId, now: number): void {
    const c = this.#require();
    c.now = now;
    leaderH.transferLeader(c, to, now);
  }

  /** Leader: sends a heartbeat round now. */
  heartbeat(now: number): void {
    const c = this.#require();
    c.now = now;
    leaderH.broadcastHeartbeat(c, now);
  }

  /** Leader: an outcome of replication to `target` (`inflightId: null` for a heartbeat ack). */
  onReplicationProgress(
    target: NodeId,
    ev: { inflightId: number | null; result: ReplicationResult },
    now: number,
  ): void {
    const c = this.#require();
    c.now = now;
    onReplicationProgress(c, target, ev.inflightId, ev.result, now);
  }

  /** A storage write was submitted (readable) or flushed (durable, with every earlier write). */
  onLocalIo(ev: LocalIoEvent, now: number): void {
    const c = this.#require();
    c.now = now;
    if (ev.ioId > c.io.accepted.ioId) throw new PanickedError(`io ${ev.ioId} reported but never issued`);
    const find = (id: number) => c.io.pending.find((m) => m.ioId === id);
    if (ev.type === 'submitted') {
      const m = find(ev.ioId);
      if (m !== undefined && m.ioId > c.io.submitted.ioId) c.io.submitted = m;
      return;
    }
    if (ev.ioId <= c.io.flushed.ioId) return;
    let flushed = c.io.flushed;
    while (c.io.pending.length > 0 && c.io.pending[0]!.ioId <= ev.ioId) flushed = c.io.pending.shift()!;
    c.io.flushed = flushed;
    if (c.io.submitted.ioId < flushed.ioId) c.io.submitted = flushed;
    const leader = c.leader;
    if (leader !== null && flushed.vote.term === leader.vote.term) leaderH.selfAccepted(c, flushed.lastLogId);
    onVoteFlushed(c, flushed.vote, now);
  }

  /** The state machine applied every committed entry up to `logId`. */
  onApplied(logId: LogId): void {
    onApplied(this.#require(), logId);
  }

  /** A snapshot build finished. */
  onSnapshotBuilt(meta: SnapshotMeta): void {
    onSnapshotBuilt(this.#require(), meta);
  }

  /** Purges the log behind the current snapshot now, as the snapshot policy allows (batch size included). */
  triggerPurge(): void {
    schedulePurge(this.#require());
  }

  /**
   * Purges the log up to `index` inclusive (`trigger.purgeLog(index)`), bounded by the current
   * snapshot and the applied index; `maxInSnapshotLogToKeep` and `purgeBatchSize` do not apply. The
   * purge waits while a replication stream may still read the range (a failed send releases it).
   * Returns the log id the purge will reach, or `null` when there is nothing to purge (no snapshot,
   * or already purged that far). Throws `InvalidRequestError` when `index` is not a non-negative
   * integer.
   */
  purgeUpTo(index: number): LogId | null {
    const c = this.#require();
    if (!Number.isSafeInteger(index) || index < 0) {
      throw new InvalidRequestError('index', `expected a non-negative integer log index, got ${index}`);
    }
    return purgeUpTo(c, index);
  }

  // ------------------------------------------------------------------ read-only views

  /** The node's role. */
  serverState(): ServerState {
    return serverState(this.#c);
  }
  /** The vote in force (maybe not yet durable). */
  vote(): Vote {
    return this.#c.vote;
  }
  /** The leader this node knows of (itself when leader). */
  currentLeader(): NodeId | null {
    return leaderOf(this.#c.vote);
  }
  /** The last log id (as issued). */
  lastLogId(): LogId | null {
    return this.#c.log.last();
  }
  /** The last purged log id. */
  purged(): LogId | null {
    return this.#c.log.purged();
  }
  /** The log id at `index`, if held. */
  logIdAt(index: number): LogId | null {
    return this.#c.log.logIdAt(index);
  }
  /** The committed log id. */
  committed(): LogId | null {
    return this.#c.committed;
  }
  /** The last applied log id reported by the state machine. */
  applied(): LogId | null {
    return this.#c.applied;
  }
  /** The current snapshot's meta. */
  snapshot(): SnapshotMeta | null {
    return this.#c.snapshot;
  }
  /** The effective and committed memberships. */
  membership(): { effective: StoredMembership; committed: StoredMembership } {
    return { ...this.#c.membership };
  }
  /** Whether a membership change is in progress (the effective membership is not committed). */
  membershipChangeInProgress(): boolean {
    return !membershipCommitted(this.#c);
  }
  /** I/O progress of log and vote writes. */
  ioProgress(): { accepted: IoMark; submitted: IoMark; flushed: IoMark } {
    const { accepted, submitted, flushed } = this.#c.io;
    return { accepted, submitted, flushed };
  }
  /** Until when the leader may serve lease reads (`null` if not leader or while transferring leadership). */
  leaseValidUntil(): number | null {
    return leaderH.leaseValidUntil(this.#c);
  }
  /** Per-target replication metrics when leader; `null` otherwise. */
  replicationMetrics(): Record<NodeId, ReplicationMetrics> | null {
    const leader = this.#c.leader;
    if (leader === null) return null;
    const out: Record<NodeId, ReplicationMetrics> = {};
    for (const [id, p] of leader.progress) {
      const r = this.#c.logReversions.get(id);
      out[id] =
        r === undefined || r.term !== leader.vote.term
          ? { matching: p.matching, mode: p.mode() }
          : {
              matching: p.matching,
              mode: p.mode(),
              logReversion: { matching: r.matching, conflictIndex: r.conflictIndex, repaired: r.repaired },
            };
    }
    return out;
  }
  /**
   * The log reversions this node detected while leader, the latest per target: a target whose log
   * went back behind what it had acknowledged. With `allowLogReversion` the target's progress is
   * reset and it is repaired (`repaired: true`); without, nothing more is sent to it under that
   * leadership (`repaired: false`) and the runtime should report it. A conflict on a heartbeat
   * counts: report it with `onReplicationProgress(target, {inflightId: null, result: {type:
   * 'conflict', prevLogId, sentAt}})` where `prevLogId` is that heartbeat's `matching`.
   */
  logReversions(): LogReversion[] {
    return [...this.#c.logReversions.values()].map((r) => ({ ...r })).sort((a, b) => a.seq - b.seq);
  }
  /** When the election timer fires next (meaningless for a leader). */
  electionDeadline(): number {
    return this.#c.electionDeadline;
  }

  /** Checks every internal invariant; throws `PanickedError` on the first broken one. */
  checkInvariants(): void {
    const c: EngineCore = this.#c;
    checkServerStateInvariants(c);
    const last = c.log.last();
    c.assert(compareLogId(c.log.purged(), last) <= 0, () => 'purged beyond last');
    c.assert(
      c.committed === null || c.log.contains(c.committed) || indexOf(c.committed) <= indexOf(c.log.purged()),
      () => 'committed log id not in the log',
    );
    c.assert(compareLogId(c.applied, c.applying) <= 0, () => 'applied beyond applying');
    c.assert(compareLogId(c.applying, c.committed) <= 0, () => 'applying beyond committed');
    c.assert(
      c.io.flushed.ioId <= c.io.submitted.ioId && c.io.submitted.ioId <= c.io.accepted.ioId,
      () => 'io order',
    );
    c.assert(
      compareLogId(c.membership.committed.logId, c.membership.effective.logId) <= 0,
      () => 'committed membership after effective',
    );
    if (c.leader !== null) for (const p of c.leader.progress.values()) p.checkInvariants();
  }

  #require(): EngineCore {
    if (!this.#c.started) throw new PanickedError('Engine.startup must be called first');
    return this.#c;
  }
}
