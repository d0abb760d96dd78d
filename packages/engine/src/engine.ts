/**
 * The public `Engine`: each input stamps the time and hands over to one handler or to a step of
 * `steps.ts`; it also restores the persisted state at `startup`, moves the I/O marks the runtime
 * reports (`onLocalIo`) and answers read-only queries. Must never carry a role's protocol rule (the
 * handlers do), never hand its core out, and never perform I/O, read a clock or await.
 */
import { InflightIdGen } from '@flotilla/progress';
import {
  type AppendEntriesRequest,
  type ChangeMembers,
  compareLogId,
  type EntryPayload,
  type ErrorCode,
  formatLogId,
  InitializeError,
  type InstallSnapshotRequest,
  InvalidRequestError,
  indexOf,
  initialVote,
  isVoter,
  type LogId,
  LogReversionError,
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
} from '@flotilla/types';
import type { Command, LocalIoEvent, ReplicationResult } from './command.ts';
import { type EngineConfig, validateEngineConfig } from './config.ts';
import { EngineCore, type IoMark, type LogReversion } from './core.ts';
import { restoreCommitted } from './handlers/commit.ts';
import * as leaderH from './handlers/leader.ts';
import { appendToLog, membershipCommitted } from './handlers/log.ts';
import * as replicationH from './handlers/replication.ts';
import {
  checkServerStateInvariants,
  mayCampaign,
  resetElectionTimer,
  serverState,
} from './handlers/server-state.ts';
import * as voteH from './handlers/vote.ts';
import { LogIdList } from './log-ids.ts';
import * as steps from './steps.ts';

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
  readonly #core: EngineCore;

  /** Creates an engine; call `startup` before anything else. */
  constructor(opts: EngineOptions) {
    this.#core = new EngineCore(opts.id, validateEngineConfig(opts.config), opts.random, new InflightIdGen());
  }

  /** This node's id. */
  get id(): NodeId {
    return this.#core.id;
  }

  /** The validated configuration. */
  get config(): EngineConfig {
    return this.#core.config;
  }

  /** Returns and clears the commands queued since the last call, in order. */
  takeCommands(): Command[] {
    const out = this.#core.commands;
    this.#core.commands = [];
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
  startup(saved: EngineStartup, now: number): void {
    const core = this.#core;
    if (core.started) throw new PanickedError('startup called twice');
    const held = maxLogId(saved.applied, saved.snapshot?.lastLogId ?? null);
    if (indexOf(saved.purged) > indexOf(held)) {
      throw new StorageError(
        'open',
        `the log is purged up to ${formatLogId(saved.purged)} but the state machine holds only up to ${formatLogId(held)}`,
      );
    }
    core.started = true;
    core.now = now;
    core.vote = saved.vote ?? initialVote();
    core.log = LogIdList.of(saved.purged, saved.keyLogIds);
    const snapLast = saved.snapshot?.lastLogId ?? null;
    core.snapshot = saved.snapshot;
    let memberships = saved.memberships.filter((m) => compareLogId(m.logId, core.log.purged()) > 0);
    if (snapLast !== null && !core.log.contains(snapLast)) {
      // A snapshot install whose log writes were lost: the log after the purge point is stale.
      if (indexOf(core.log.last()) > snapLast.index) {
        const since = core.log.logIdAt(snapLast.index + 1)!;
        core.log.truncate(since.index);
        core.emit({ type: 'truncateLog', ioId: core.nextIo(), since });
      }
      core.log.purge(snapLast);
      core.emit({ type: 'purgeLog', ioId: core.nextIo(), upto: snapLast });
      memberships = [];
    }
    const base = saved.snapshot?.lastMembership ?? { logId: null, membership: { configs: [], nodes: {} } };
    const all = [base, ...memberships].sort((a, b) => compareLogId(a.logId, b.logId));
    const effective = all[all.length - 1]!;
    const previous = all.length > 1 ? all[all.length - 2]! : effective;
    // The state machine applies committed entries only: what it applied is committed, even when the
    // store keeps no committed id (`saveCommitted` is optional).
    const appliedInLog = saved.applied !== null && core.log.contains(saved.applied) ? saved.applied : null;
    const floor = maxLogId(maxLogId(snapLast, core.log.purged()), appliedInLog);
    const committed =
      saved.committed !== null && core.log.contains(saved.committed)
        ? maxLogId(saved.committed, floor)
        : floor;
    core.membership = {
      committed: compareLogId(effective.logId, committed) <= 0 ? effective : previous,
      effective,
    };
    const mark: IoMark = { ioId: core.io.accepted.ioId, vote: core.vote, lastLogId: core.log.last() };
    core.io = { accepted: mark, submitted: mark, flushed: mark, pending: core.io.pending };
    for (const p of core.io.pending) p.vote = core.vote;
    restoreCommitted(core, committed, saved.applied);
    // When this node last heard from its leader is lost with the restart: count the restart as that
    // contact, so it keeps refusing other candidates for a whole lease (thesis §6.4).
    core.lastLeaderContact = leaderOf(core.vote) === null ? null : now;
    resetElectionTimer(core, now);
  }

  /**
   * Initializes a pristine node with `membership` (entry 0-0) and starts an election. Throws
   * `InitializeError` ('NotAllowed' if the node has a log or a vote, 'NotInMembers', 'Invalid').
   */
  initialize(membership: Membership, now: number): LogId {
    const core = this.#require();
    if (core.log.last() !== null || core.vote.term !== 0 || core.vote.nodeId !== null) {
      throw new InitializeError('NotAllowed', 'the node already has a log or a vote');
    }
    try {
      validateMembership(membership);
    } catch (err) {
      throw new InitializeError('Invalid', (err as Error).message);
    }
    if (membership.configs.length === 0) throw new InitializeError('Invalid', 'the membership has no voters');
    if (!isVoter(membership, core.id))
      throw new InitializeError('NotInMembers', `${core.id} is not a voter of the membership`);
    const logId = { term: 0, index: 0 };
    appendToLog(core, [{ logId, payload: { type: 'membership', membership } }]);
    voteH.elect(core, now);
    return logId;
  }

  /** Starts an election now (pre-vote first when enabled). Ignored by leaders and learners. */
  elect(now: number): void {
    const core = this.#require();
    core.now = now;
    voteH.elect(core, now);
  }

  /** Advances time: election timeout, heartbeats, check-quorum. */
  tick(now: number): void {
    const core = this.#require();
    core.now = now;
    if (core.leader !== null) leaderH.leaderTick(core, now);
    else if (now >= core.electionDeadline && mayCampaign(core)) voteH.elect(core, now);
  }

  /** Handles a vote or pre-vote request; the answer is a `respond` command carrying `reply`. */
  handleVoteRequest(req: VoteRequest, reply: unknown, now: number): void {
    const core = this.#require();
    core.now = now;
    voteH.handleVoteRequest(core, req, reply, now);
  }

  /** Handles a reply from `from` to our vote or pre-vote request. */
  handleVoteResponse(from: NodeId, resp: VoteResponse, now: number): void {
    const core = this.#require();
    core.now = now;
    steps.afterElection(core, voteH.handleVoteResponse(core, from, resp, now), now);
  }

  /** Handles AppendEntries (or a heartbeat); the answer is a `respond` command carrying `reply`. */
  handleAppendEntries(req: AppendEntriesRequest, reply: unknown, now: number): void {
    const core = this.#require();
    core.now = now;
    steps.handleAppendEntries(core, req, reply, now);
  }

  /** Handles a fully received snapshot from the leader; the answer is a `respond` command. */
  handleInstallSnapshot(req: InstallSnapshotRequest, reply: unknown, now: number): void {
    const core = this.#require();
    core.now = now;
    steps.handleInstallSnapshot(core, req, reply, now);
  }

  /**
   * The leader of our current vote is handing leadership over to `req.to` (it sends this to every
   * other voter). Every receiver stops holding that leader's lease against `req.to` (only against
   * it, only in this term). The target itself, if its log has caught up, elects itself at once (no
   * pre-vote). A request from any other leader is ignored.
   */
  handleTransferLeader(req: TransferLeaderRequest, now: number): void {
    const core = this.#require();
    core.now = now;
    voteH.handleTransferLeader(core, req, now);
  }

  /** Leader: appends client payloads (blank or normal). Returns their log ids. */
  leaderAppend(payloads: EntryPayload[], now: number): LogId[] {
    const core = this.#require();
    core.now = now;
    return steps.leaderAppend(core, payloads);
  }

  /**
   * Leader: changes the voter set through joint consensus. Returns the first membership entry's id.
   * Throws `ForwardToLeaderError` on a non-leader and `ChangeMembershipError`: 'InProgress',
   * 'EmptyMembership', 'LearnerNotFound' (a new voter neither a learner nor in `addNodes`),
   * 'NotCaughtUp' (only with `maxPromotionLag`), 'Invalid'. The same as `changeMembers` with
   * `{batch: [{setNodes: addNodes}, {replaceAllVoters: voters}]}`.
   */
  changeMembership(
    voters: NodeId[],
    opts: { retain?: boolean; addNodes?: Record<NodeId, Node> },
    now: number,
  ): LogId {
    const changes: ChangeMembers = {
      batch: [{ setNodes: opts.addNodes ?? {} }, { replaceAllVoters: voters }],
    };
    const retain = opts.retain === undefined ? {} : { retain: opts.retain };
    return this.changeMembers(changes, retain, now).logId;
  }

  /**
   * Leader: proposes a membership change given as openraft's `ChangeMembers` (see
   * `planChangeMembers` in `@flotilla/types`). Appends the joint config when the voter set changes
   * (the uniform one follows once it commits) or, for a change of nodes only, the one final entry.
   * Returns that entry's id and the voter set the change leads to. With `expectedMembershipLogId`,
   * refuses unless the effective membership's log id equals it. Throws `ForwardToLeaderError` on a
   * non-leader and `ChangeMembershipError`: 'MembershipChanged', 'InProgress', 'EmptyMembership',
   * 'NodeIsVoter', 'LearnerNotFound', 'NotCaughtUp' (only with `maxPromotionLag`), 'Invalid'.
   */
  changeMembers(
    changes: ChangeMembers,
    opts: { retain?: boolean; expectedMembershipLogId?: LogId | null },
    now: number,
  ): { logId: LogId; voters: NodeId[] } {
    const core = this.#require();
    core.now = now;
    const plan = leaderH.planChangeMembersStep(core, changes, {
      ...(opts.retain === undefined ? {} : { retain: opts.retain }),
      ...(opts.expectedMembershipLogId === undefined ? {} : { expected: opts.expectedMembershipLogId }),
    });
    return { logId: steps.appendMembership(core, plan.next), voters: plan.voters };
  }

  /** Leader: adds a learner. Returns the membership entry's id. */
  addLearner(id: NodeId, node: Node, now: number): LogId {
    const core = this.#require();
    core.now = now;
    return steps.appendMembership(core, leaderH.planAddLearner(core, id, node));
  }

  /** Leader: asks voter `to` to take over leadership. */
  transferLeader(to: NodeId, now: number): void {
    const core = this.#require();
    core.now = now;
    leaderH.transferLeader(core, to);
  }

  /**
   * Leader: the next log reversion of `target` is repaired (`allow: true`) or refused (`false`),
   * once, whatever `allowLogReversion` says (openraft's `allow_next_revert`); a target already
   * refused is resumed and repaired. Throws `ForwardToLeaderError` on a non-leader and
   * `InvalidRequestError` when `target` is not a member this leader replicates to.
   */
  allowNextRevert(target: NodeId, allow: boolean, now: number): void {
    const core = this.#require();
    core.now = now;
    leaderH.requireLeader(core);
    if (!replicationH.allowNextRevert(core, target, allow)) {
      throw new InvalidRequestError('target', `${target} is not a node this leader replicates to`);
    }
  }

  /** Leader: sends a heartbeat round now. */
  heartbeat(now: number): void {
    const core = this.#require();
    core.now = now;
    leaderH.broadcastHeartbeat(core, now);
  }

  /** Leader: an outcome of replication to `target` (`inflightId: null` for a heartbeat ack). */
  onReplicationProgress(
    target: NodeId,
    ev: { inflightId: number | null; result: ReplicationResult },
    now: number,
  ): void {
    const core = this.#require();
    core.now = now;
    steps.onReplicationProgress(core, target, ev.inflightId, ev.result, now);
  }

  /** A storage write was submitted (readable) or flushed (durable, with every earlier write). */
  onLocalIo(ev: LocalIoEvent, now: number): void {
    const core = this.#require();
    core.now = now;
    if (ev.ioId > core.io.accepted.ioId) throw new PanickedError(`io ${ev.ioId} reported but never issued`);
    const find = (id: number) => core.io.pending.find((m) => m.ioId === id);
    if (ev.type === 'submitted') {
      const m = find(ev.ioId);
      if (m !== undefined && m.ioId > core.io.submitted.ioId) core.io.submitted = m;
      return;
    }
    if (ev.ioId <= core.io.flushed.ioId) return;
    let flushed = core.io.flushed;
    while (core.io.pending.length > 0 && core.io.pending[0]!.ioId <= ev.ioId)
      flushed = core.io.pending.shift()!;
    core.io.flushed = flushed;
    if (core.io.submitted.ioId < flushed.ioId) core.io.submitted = flushed;
    const leader = core.leader;
    if (leader !== null && flushed.vote.term === leader.vote.term)
      steps.selfAccepted(core, flushed.lastLogId);
    steps.afterElection(core, voteH.onVoteFlushed(core, flushed.vote, now), now);
  }

  /** The state machine applied every committed entry up to `logId`. */
  onApplied(logId: LogId): void {
    steps.onApplied(this.#require(), logId);
  }

  /** A snapshot build finished. */
  onSnapshotBuilt(meta: SnapshotMeta): void {
    steps.onSnapshotBuilt(this.#require(), meta);
  }

  /** Purges the log behind the current snapshot now, as the snapshot policy allows (batch size included). */
  triggerPurge(): void {
    steps.schedulePurge(this.#require());
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
    const core = this.#require();
    if (!Number.isSafeInteger(index) || index < 0) {
      throw new InvalidRequestError('index', `expected a non-negative integer log index, got ${index}`);
    }
    return steps.purgeUpTo(core, index);
  }

  // ------------------------------------------------------------------ read-only views

  /** The node's role. */
  serverState(): ServerState {
    return serverState(this.#core);
  }
  /** The vote in force (maybe not yet durable). */
  vote(): Vote {
    return this.#core.vote;
  }
  /** The leader this node knows of (itself when leader). */
  currentLeader(): NodeId | null {
    return leaderOf(this.#core.vote);
  }
  /** The last log id (as issued). */
  lastLogId(): LogId | null {
    return this.#core.log.last();
  }
  /** The last purged log id. */
  purged(): LogId | null {
    return this.#core.log.purged();
  }
  /** The log id at `index`, if held. */
  logIdAt(index: number): LogId | null {
    return this.#core.log.logIdAt(index);
  }
  /** The committed log id. */
  committed(): LogId | null {
    return this.#core.committed;
  }
  /** The last applied log id reported by the state machine. */
  applied(): LogId | null {
    return this.#core.applied;
  }
  /** The current snapshot's meta. */
  snapshot(): SnapshotMeta | null {
    return this.#core.snapshot;
  }
  /** The effective and committed memberships. */
  membership(): { effective: StoredMembership; committed: StoredMembership } {
    return { ...this.#core.membership };
  }
  /** Whether a membership change is in progress (the effective membership is not committed). */
  membershipChangeInProgress(): boolean {
    return !membershipCommitted(this.#core);
  }
  /**
   * I/O progress of log and vote writes, as the engine issued them and as `onLocalIo` reported them:
   * `accepted` (the last write issued) ≥ `submitted` (the last reported readable) ≥ `flushed` (the
   * last reported durable). Each mark is the write's io id with the vote and last log id in force once
   * it is applied: the runtime publishes these as the replication streams' watches (`ioAccepted`,
   * `ioSubmitted`) without keeping a copy of its own.
   */
  ioProgress(): { accepted: IoMark; submitted: IoMark; flushed: IoMark } {
    const { accepted, submitted, flushed } = this.#core.io;
    return { accepted, submitted, flushed };
  }
  /**
   * The mark of storage write `ioId` (a `saveVote`, `appendEntries`, `truncateLog` or `purgeLog`
   * command): the vote and last log id in force once that write is applied. Known from when the
   * command is taken until a later write is reported flushed; the runtime asks when it runs the
   * command, publishes it as `ioAccepted` before handing the write to storage and as `ioSubmitted`
   * once the write is readable. Throws `PanickedError` for an id never issued or no longer known.
   */
  ioMark(ioId: number): IoMark {
    const io = this.#core.io;
    const mark = ioId === io.flushed.ioId ? io.flushed : io.pending.find((m) => m.ioId === ioId);
    if (mark === undefined) {
      throw new PanickedError(
        `io ${ioId} is ${ioId > io.accepted.ioId ? 'not issued' : 'flushed and superseded'}: its mark is gone`,
      );
    }
    return mark;
  }
  /** Until when the leader may serve lease reads (`null` if not leader or while transferring leadership). */
  leaseValidUntil(): number | null {
    return leaderH.leaseValidUntil(this.#core);
  }
  /** Per-target replication metrics when leader; `null` otherwise. */
  replicationMetrics(): Record<NodeId, ReplicationMetrics> | null {
    const leader = this.#core.leader;
    if (leader === null) return null;
    const out: Record<NodeId, ReplicationMetrics> = {};
    for (const [id, p] of leader.progress) {
      const r = this.#core.logReversions.get(id);
      out[id] =
        r === undefined || r.term !== leader.vote.term
          ? { matching: p.matching, mode: p.mode() }
          : {
              matching: p.matching,
              mode: p.mode(),
              logReversion: {
                matching: r.matching,
                conflictIndex: r.conflictIndex,
                repaired: r.repaired,
                error: r.repaired ? null : reversionError(r),
              },
            };
    }
    return out;
  }
  /**
   * The log reversions this node detected while leader, the latest per target: a target whose log
   * went back behind what it had acknowledged. With `allowLogReversion` the target's progress is
   * reset and it is repaired (`repaired: true`); without, nothing more is sent to it under that
   * leadership (`repaired: false`) and the runtime should report it. A refused heartbeat counts:
   * report it with `onReplicationProgress(target, {inflightId: null, result})`, `result` being
   * `{type: 'conflict', prevLogId, sentAt}` with the refused heartbeat's own `prevLogId` (the
   * `matching` its `broadcastHeartbeat` target carried). A refusal never loses the target's
   * progress: one whose `prevLogId` is above the current `matching` (a heartbeat from before a reset)
   * is ignored, one at or below it is a log reversion.
   */
  logReversions(): LogReversion[] {
    return [...this.#core.logReversions.values()].map((r) => ({ ...r })).sort((a, b) => a.seq - b.seq);
  }
  /** When the election timer fires next (meaningless for a leader). */
  electionDeadline(): number {
    return this.#core.electionDeadline;
  }

  /** Checks every internal invariant; throws `PanickedError` on the first broken one. */
  checkInvariants(): void {
    const core: EngineCore = this.#core;
    checkServerStateInvariants(core);
    const last = core.log.last();
    core.assert(compareLogId(core.log.purged(), last) <= 0, () => 'purged beyond last');
    core.assert(
      core.committed === null ||
        core.log.contains(core.committed) ||
        indexOf(core.committed) <= indexOf(core.log.purged()),
      () => 'committed log id not in the log',
    );
    core.assert(compareLogId(core.applied, core.applying) <= 0, () => 'applied beyond applying');
    core.assert(compareLogId(core.applying, core.committed) <= 0, () => 'applying beyond committed');
    core.assert(
      core.io.flushed.ioId <= core.io.submitted.ioId && core.io.submitted.ioId <= core.io.accepted.ioId,
      () => 'io order',
    );
    core.assert(
      compareLogId(core.membership.committed.logId, core.membership.effective.logId) <= 0,
      () => 'committed membership after effective',
    );
    if (core.leader !== null) for (const p of core.leader.progress.values()) p.checkInvariants();
  }

  #require(): EngineCore {
    if (!this.#core.started) throw new PanickedError('Engine.startup must be called first');
    return this.#core;
  }
}

/** A refused reversion as the plain error data the metrics carry. */
function reversionError(r: LogReversion): { code: typeof ErrorCode.LogReversion; message: string } {
  const { code, message } = new LogReversionError(r.target, r.matching, r.conflictIndex);
  return { code, message };
}
