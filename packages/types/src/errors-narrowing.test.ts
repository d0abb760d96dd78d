// `hasErrorCode(err, code)` narrows to the class of `code`: type-level checks (typechecked by the
// package's tsconfig, so a wrong narrowing fails `tsc`) and the runtime behaviour behind them.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type AnyFlotillaError,
  type ChangeMembershipReason,
  ErrorCode,
  type ErrorOfCode,
  type FlotillaError,
  ForwardToLeaderError,
  hasErrorCode,
  type InitializeReason,
  type InvalidMembershipReason,
  type LogId,
  type Node,
  type NodeId,
  NotLeaderError,
  StorageError,
  type StorageMisuseReason,
  type StorageOp,
} from './index.ts';

describe('hasErrorCode narrowing (types)', () => {
  it('maps every code to exactly one class', () => {
    // a code added without its class in AnyFlotillaError would be left over here
    expectTypeOf<Exclude<ErrorCode, AnyFlotillaError['code']>>().toEqualTypeOf<never>();
    expectTypeOf<ErrorOfCode<typeof ErrorCode.ForwardToLeader>>().toEqualTypeOf<ForwardToLeaderError>();
    expectTypeOf<ErrorOfCode<typeof ErrorCode.Storage>>().toEqualTypeOf<StorageError>();
    expectTypeOf<ErrorOfCode<ErrorCode>>().toEqualTypeOf<AnyFlotillaError>();
  });

  it('reaches every code-specific field after narrowing an unknown', () => {
    const err: unknown = new ForwardToLeaderError('b', { addr: 'b:1' });
    if (hasErrorCode(err, ErrorCode.ForwardToLeader)) {
      expectTypeOf(err.leaderNode).toEqualTypeOf<Node | null>();
      expectTypeOf(err.leaderId).toEqualTypeOf<NodeId | null>();
      expectTypeOf(err.code).toEqualTypeOf<'FORWARD_TO_LEADER'>();
    }
    if (hasErrorCode(err, ErrorCode.ChangeMembership))
      expectTypeOf(err.reason).toEqualTypeOf<ChangeMembershipReason>();
    if (hasErrorCode(err, ErrorCode.Initialize)) expectTypeOf(err.reason).toEqualTypeOf<InitializeReason>();
    if (hasErrorCode(err, ErrorCode.OutcomeUnknown)) expectTypeOf(err.logId).toEqualTypeOf<LogId | null>();
    if (hasErrorCode(err, ErrorCode.EntryTooLarge)) {
      expectTypeOf(err.bytes).toEqualTypeOf<number>();
      expectTypeOf(err.limit).toEqualTypeOf<number>();
    }
    if (hasErrorCode(err, ErrorCode.InvalidConfig)) expectTypeOf(err.field).toEqualTypeOf<string>();
    if (hasErrorCode(err, ErrorCode.InvalidMembership))
      expectTypeOf(err.reason).toEqualTypeOf<InvalidMembershipReason>();
    if (hasErrorCode(err, ErrorCode.InvalidRequest)) expectTypeOf(err.path).toEqualTypeOf<string>();
    if (hasErrorCode(err, ErrorCode.Storage)) expectTypeOf(err.op).toEqualTypeOf<StorageOp>();
    if (hasErrorCode(err, ErrorCode.StorageMisuse))
      expectTypeOf(err.reason).toEqualTypeOf<StorageMisuseReason>();
    if (hasErrorCode(err, ErrorCode.Remote)) expectTypeOf(err.remoteCode).toEqualTypeOf<string | null>();
  });

  it('narrows to the code class only, not to its neighbours', () => {
    const err: unknown = new NotLeaderError();
    if (hasErrorCode(err, ErrorCode.NotLeader)) {
      // @ts-expect-error a NotLeaderError has no leaderNode
      expect(err.leaderNode).toBeUndefined();
    }
    if (hasErrorCode(err)) {
      expectTypeOf(err).toEqualTypeOf<FlotillaError>();
      // @ts-expect-error without a code only the base class is known
      expect(err.leaderNode).toBeUndefined();
    }
  });

  it('still takes a code that may be absent, narrowing to the base class', () => {
    function check(err: unknown, code: ErrorCode | undefined): boolean {
      if (!hasErrorCode(err, code)) return false;
      expectTypeOf(err).toEqualTypeOf<FlotillaError>();
      return true;
    }
    expect(check(new NotLeaderError(), undefined)).toBe(true);
    expect(check(new NotLeaderError(), ErrorCode.Stopped)).toBe(false);
  });

  it('narrows a union of codes to the union of their classes', () => {
    function isDown(err: unknown, code: typeof ErrorCode.Storage | typeof ErrorCode.Stopped): boolean {
      if (!hasErrorCode(err, code)) return false;
      expectTypeOf(err.code).toEqualTypeOf<'STORAGE' | 'STOPPED'>();
      return true;
    }
    expect(isDown(new StorageError('flush', 'x'), ErrorCode.Storage)).toBe(true);
  });
});

describe('hasErrorCode narrowing (runtime)', () => {
  /** What a caller writes: redirect on ForwardToLeader, using the field narrowing gives. */
  function leaderAddress(err: unknown): string | null {
    return hasErrorCode(err, ErrorCode.ForwardToLeader) ? (err.leaderNode?.addr ?? null) : null;
  }

  it('reads the code-specific fields of a thrown error', () => {
    expect(leaderAddress(new ForwardToLeaderError('b', { addr: 'b:1' }))).toBe('b:1');
    expect(leaderAddress(new ForwardToLeaderError(null, null))).toBeNull();
    expect(leaderAddress(new NotLeaderError())).toBeNull();
  });

  it('reads them from a plain object of another copy of the package (code, not instanceof)', () => {
    const fromWire = { code: 'FORWARD_TO_LEADER', leaderId: 'c', leaderNode: { addr: 'c:9' } };
    expect(leaderAddress(fromWire)).toBe('c:9');
  });

  it('refuses another code, a foreign code and non-objects', () => {
    const storage = new StorageError('write', 'x');
    expect(hasErrorCode(storage, ErrorCode.Storage)).toBe(true);
    expect(hasErrorCode(storage, ErrorCode.Stopped)).toBe(false);
    expect(hasErrorCode({ code: 'ENOENT' }, ErrorCode.Storage)).toBe(false);
    expect(hasErrorCode(undefined, ErrorCode.Storage)).toBe(false);
    expect(leaderAddress('FORWARD_TO_LEADER')).toBeNull();
  });
});
