/**
 * Owns every error of Flotilla's API: the stable codes (`ErrorCode`), the `FlotillaError` base with
 * its `cause`, and one class per kind (API, fatal, storage misuse, RPC), with `hasErrorCode` and
 * `isFatalError` to tell them apart. Must never be matched by `instanceof` across packages (two copies
 * of a package make two classes): callers compare `code`.
 */
import type { LogId } from './log-id.ts';
import type { Node, NodeId } from './node.ts';
import type { Vote } from './vote.ts';

/**
 * Every stable error code of Flotilla. Identify errors by `code` (see `hasErrorCode`), never by
 * `instanceof` across packages: two copies of a package make two classes.
 */
export const ErrorCode = {
  // API errors: expected outcomes a caller handles.
  ForwardToLeader: 'FORWARD_TO_LEADER',
  ChangeMembership: 'CHANGE_MEMBERSHIP',
  Initialize: 'INITIALIZE',
  NotLeader: 'NOT_LEADER',
  Timeout: 'TIMEOUT',
  OutcomeUnknown: 'OUTCOME_UNKNOWN',
  Overloaded: 'OVERLOADED',
  EntryTooLarge: 'ENTRY_TOO_LARGE',
  InvalidConfig: 'INVALID_CONFIG',
  InvalidMembership: 'INVALID_MEMBERSHIP',
  InvalidRequest: 'INVALID_REQUEST',
  LogReversion: 'LOG_REVERSION',
  // Fatal errors: the node stops.
  Stopped: 'STOPPED',
  Storage: 'STORAGE',
  Panicked: 'PANICKED',
  // Storage misuse: a caller broke the storage contract.
  StorageMisuse: 'STORAGE_MISUSE',
  // RPC errors, thrown by networks.
  Unreachable: 'UNREACHABLE',
  Network: 'NETWORK',
  RpcTimeout: 'RPC_TIMEOUT',
  Remote: 'REMOTE',
} as const;

/** A stable error code. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes after which the node has stopped. */
export const FATAL_CODES: readonly ErrorCode[] = [ErrorCode.Stopped, ErrorCode.Storage, ErrorCode.Panicked];

/**
 * The base of every Flotilla error: a message, a stable `code`, an optional `cause`. Each subclass
 * fixes `C` to its own code, which is what lets `hasErrorCode` narrow to it (see `ErrorOfCode`).
 */
export class FlotillaError<C extends ErrorCode = ErrorCode> extends Error {
  /** The stable code. */
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
  /** Plain data for logs and wire formats. */
  toJSON(): { name: string; code: ErrorCode; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/**
 * Whether `err` is an error carrying `code` (or any Flotilla code when `code` is omitted). With a
 * code it narrows to that code's class (`ErrorOfCode`), so its own fields are in reach:
 *
 * ```ts
 * if (hasErrorCode(err, ErrorCode.ForwardToLeader)) redirect(err.leaderNode);
 * ```
 *
 * The check reads `code` only, never `instanceof` (two copies of this package make two classes):
 * an object carrying a code is trusted to carry that code's fields.
 */
export function hasErrorCode<C extends ErrorCode>(err: unknown, code: C): err is ErrorOfCode<C>;
/**
 * Whether `err` carries any Flotilla error code (or `code`, when a code that may be absent is
 * given): narrows to the base class only.
 */
export function hasErrorCode(err: unknown, code?: ErrorCode): err is FlotillaError;
export function hasErrorCode(err: unknown, code?: ErrorCode): boolean {
  if (err === null || typeof err !== 'object') return false;
  const c = (err as { code?: unknown }).code;
  if (typeof c !== 'string') return false;
  return code === undefined ? (Object.values(ErrorCode) as string[]).includes(c) : c === code;
}

/** Whether `err` is fatal: the node that raised it has stopped. */
export function isFatalError(err: unknown): boolean {
  return hasErrorCode(err) && FATAL_CODES.includes(err.code);
}

// ---------------------------------------------------------------- API errors

/** A write or linearizable read went to a node that is not the leader. */
export class ForwardToLeaderError extends FlotillaError<typeof ErrorCode.ForwardToLeader> {
  /** The leader this node knows of, if any. */
  readonly leaderId: NodeId | null;
  /** The leader's node, if known. */
  readonly leaderNode: Node | null;
  /**
   * @param detail - replaces the default message when the node knows more (e.g. that it was never
   * initialized, so no leader will ever be known through it until it joins a cluster).
   */
  constructor(leaderId: NodeId | null, leaderNode: Node | null, detail?: string) {
    super(
      ErrorCode.ForwardToLeader,
      detail ??
        (leaderId === null ? 'not the leader; leader unknown' : `not the leader; forward to ${leaderId}`),
    );
    this.leaderId = leaderId;
    this.leaderNode = leaderNode;
  }
}

/** Why a membership change was refused. */
export type ChangeMembershipReason =
  /** Another membership change is not committed yet. */
  | 'InProgress'
  /** The change would leave no voter. */
  | 'EmptyMembership'
  /** A node that is to be (or stay) a voter has no node: add it as a learner first. */
  | 'LearnerNotFound'
  /** With `maxPromotionLag`: a node to become a voter lags too far behind. */
  | 'NotCaughtUp'
  /** `removeNodes` or `replaceAllNodes` would drop the node of a voter: remove it from the voters first. */
  | 'NodeIsVoter'
  /** `changeMembershipIf`: the effective membership is no longer the one the caller expected. */
  | 'MembershipChanged'
  /** The resulting membership breaks a structural rule (e.g. a node without a string `addr`). */
  | 'Invalid';

/** A membership change was refused. */
export class ChangeMembershipError extends FlotillaError<typeof ErrorCode.ChangeMembership> {
  /** Why. */
  readonly reason: ChangeMembershipReason;
  constructor(reason: ChangeMembershipReason, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.ChangeMembership, message, options);
    this.reason = reason;
  }
}

/** Why `initialize` was refused. */
export type InitializeReason = 'NotAllowed' | 'NotInMembers' | 'Invalid';

/** `initialize` was refused. */
export class InitializeError extends FlotillaError<typeof ErrorCode.Initialize> {
  /** Why. */
  readonly reason: InitializeReason;
  constructor(reason: InitializeReason, message: string) {
    super(ErrorCode.Initialize, message);
    this.reason = reason;
  }
}

/** The node lost (or never had) leadership while serving a request that needs it. */
export class NotLeaderError extends FlotillaError<typeof ErrorCode.NotLeader> {
  constructor(message = 'not the leader', options?: { cause?: unknown }) {
    super(ErrorCode.NotLeader, message, options);
  }
}

/** An API wait (e.g. `wait({timeoutMs})`, `addLearner` blocking) gave up. */
export class TimeoutError extends FlotillaError<typeof ErrorCode.Timeout> {
  constructor(message: string) {
    super(ErrorCode.Timeout, message);
  }
}

/**
 * A write's fate is unknown: it was proposed but leadership was lost before it was known to be
 * committed. It may or may not be applied; retry with the same `(clientId, sequence)` to be safe.
 */
export class OutcomeUnknownError extends FlotillaError<typeof ErrorCode.OutcomeUnknown> {
  /** The log id the write was given, if it got one. */
  readonly logId: LogId | null;
  constructor(
    logId: LogId | null,
    message = 'the outcome of the write is unknown',
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.OutcomeUnknown, message, options);
    this.logId = logId;
  }
}

/** Too many pending writes; the write was not proposed. Retry later. */
export class OverloadedError extends FlotillaError<typeof ErrorCode.Overloaded> {
  constructor(message = 'too many pending writes') {
    super(ErrorCode.Overloaded, message);
  }
}

/** An entry exceeded `maxEntryBytes`; it was not proposed. */
export class EntryTooLargeError extends FlotillaError<typeof ErrorCode.EntryTooLarge> {
  /** The encoded size. */
  readonly bytes: number;
  /** The limit. */
  readonly limit: number;
  constructor(bytes: number, limit: number) {
    super(ErrorCode.EntryTooLarge, `entry of ${bytes} bytes exceeds maxEntryBytes ${limit}`);
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** A configuration value is invalid. */
export class InvalidConfigError extends FlotillaError<typeof ErrorCode.InvalidConfig> {
  /** The field at fault. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(ErrorCode.InvalidConfig, `invalid config ${field}: ${message}`);
    this.field = field;
  }
}

/** Why a membership is invalid. */
export type InvalidMembershipReason =
  | 'TooManyConfigs'
  | 'EmptyConfig'
  | 'DuplicateVoter'
  | 'MissingNode'
  | 'InvalidNodeId'
  | 'InvalidNode';

/** A membership breaks a structural rule. */
export class InvalidMembershipError extends FlotillaError<typeof ErrorCode.InvalidMembership> {
  /** Which rule. */
  readonly reason: InvalidMembershipReason;
  constructor(reason: InvalidMembershipReason, message: string) {
    super(ErrorCode.InvalidMembership, message);
    this.reason = reason;
  }
}

/** A well-framed but invalid request (wrong shape, range or id). Nothing was changed. */
export class InvalidRequestError extends FlotillaError<typeof ErrorCode.InvalidRequest> {
  /** The path of the offending field, e.g. `entries[3].logId.index`. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(ErrorCode.InvalidRequest, `invalid request at ${path}: ${message}`);
    this.path = path;
  }
}

/**
 * The leader refused a follower's log reversion: the follower lost entries it had acknowledged
 * (restored from an old backup, restarted with a wiped store) and the leader replicates nothing
 * more to it (`allowLogReversion` off). Reported in the leader's metrics
 * (`replication[target].logReversion.error`, as plain data); `trigger.allowNextRevert(target, true)`
 * repairs it once.
 */
export class LogReversionError extends FlotillaError<typeof ErrorCode.LogReversion> {
  /** The follower whose log went back. */
  readonly target: NodeId;
  /** What it had acknowledged. */
  readonly matching: LogId | null;
  /** The index of the entry it no longer holds. */
  readonly conflictIndex: number;
  constructor(target: NodeId, matching: LogId | null, conflictIndex: number) {
    super(
      ErrorCode.LogReversion,
      `log reversion refused: ${target} lost entries it had acknowledged (matched ${matching === null ? 'nothing' : `${matching.term}-${matching.index}`}, conflict at index ${conflictIndex}); nothing more is replicated to it`,
    );
    this.target = target;
    this.matching = matching;
    this.conflictIndex = conflictIndex;
  }
}

// ---------------------------------------------------------------- fatal errors

/** The node was shut down (or stopped after a fatal error); the call was not served. */
export class StoppedError extends FlotillaError<typeof ErrorCode.Stopped> {
  constructor(message = 'the node is stopped', options?: { cause?: unknown }) {
    super(ErrorCode.Stopped, message, options);
  }
}

/** What a storage operation was doing when it failed. */
export type StorageOp =
  | 'read'
  | 'write'
  | 'flush'
  | 'open'
  | 'vote'
  | 'truncate'
  | 'purge'
  | 'snapshot'
  | 'apply';

/** Storage failed; the node stops rather than risk corruption. */
export class StorageError extends FlotillaError<typeof ErrorCode.Storage> {
  /** What was being done. */
  readonly op: StorageOp;
  constructor(op: StorageOp, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Storage, `storage ${op} failed: ${message}`, options);
    this.op = op;
  }
}

/** An internal invariant broke (a bug); the node stops. */
export class PanickedError extends FlotillaError<typeof ErrorCode.Panicked> {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Panicked, message, options);
  }
}

/** Why a storage call broke the storage contract. */
export type StorageMisuseReason =
  | 'Hole'
  | 'NotConsecutive'
  | 'TruncateBeyondEnd'
  | 'PurgeBeyondEnd'
  | 'PurgedRange'
  | 'Closed'
  | 'Failed';

/** A caller broke the storage contract (e.g. an append that leaves a hole). Nothing was changed. */
export class StorageMisuseError extends FlotillaError<typeof ErrorCode.StorageMisuse> {
  /** Which rule. */
  readonly reason: StorageMisuseReason;
  constructor(reason: StorageMisuseReason, message: string) {
    super(ErrorCode.StorageMisuse, message);
    this.reason = reason;
  }
}

// ---------------------------------------------------------------- RPC errors

/** The target cannot be reached now (no route, refused, isolated). Back off before retrying. */
export class UnreachableError extends FlotillaError<typeof ErrorCode.Unreachable> {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Unreachable, message, options);
  }
}

/** A connection failed during a call; the request may or may not have been delivered. */
export class NetworkError extends FlotillaError<typeof ErrorCode.Network> {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Network, message, options);
  }
}

/** No answer within the call's timeout. */
export class RpcTimeoutError extends FlotillaError<typeof ErrorCode.RpcTimeout> {
  constructor(message: string) {
    super(ErrorCode.RpcTimeout, message);
  }
}

/** The target answered with an error; `remoteCode` is its code when it had one. */
export class RemoteError extends FlotillaError<typeof ErrorCode.Remote> {
  /** The remote error's code, if it was a Flotilla error. */
  readonly remoteCode: string | null;
  constructor(remoteCode: string | null, message: string) {
    super(ErrorCode.Remote, message);
    this.remoteCode = remoteCode;
  }
}

// ---------------------------------------------------------------- code to class

/**
 * Every Flotilla error class, one per `ErrorCode`. Each class fixes its own code as the type argument
 * of `FlotillaError<C>` (checked against the code it passes to `super`), so this union is the one
 * mapping from code to class: `ErrorOfCode` reads it, nothing restates it.
 */
export type AnyFlotillaError =
  | ForwardToLeaderError
  | ChangeMembershipError
  | InitializeError
  | NotLeaderError
  | TimeoutError
  | OutcomeUnknownError
  | OverloadedError
  | EntryTooLargeError
  | InvalidConfigError
  | InvalidMembershipError
  | InvalidRequestError
  | LogReversionError
  | StoppedError
  | StorageError
  | PanickedError
  | StorageMisuseError
  | UnreachableError
  | NetworkError
  | RpcTimeoutError
  | RemoteError;

/**
 * The error class of a code (or the union of the classes of a union of codes): what
 * `hasErrorCode(err, code)` narrows to. `ErrorOfCode<typeof ErrorCode.ForwardToLeader>` is
 * `ForwardToLeaderError`, with its `leaderId` and `leaderNode`.
 */
export type ErrorOfCode<C extends ErrorCode> = Extract<AnyFlotillaError, { readonly code: C }>;

/** A vote that outranks the caller's: carried by errors and responses that depose a leader. */
export interface HigherVote {
  /** The greater vote seen. */
  vote: Vote;
}
