import { describe, expect, it } from 'vitest';
import {
  ChangeMembershipError,
  EntryTooLargeError,
  ErrorCode,
  FlotillaError,
  ForwardToLeaderError,
  hasErrorCode,
  InitializeError,
  InvalidConfigError,
  InvalidRequestError,
  isFatalError,
  NetworkError,
  NotLeaderError,
  OutcomeUnknownError,
  OverloadedError,
  PanickedError,
  RemoteError,
  RpcTimeoutError,
  StoppedError,
  StorageError,
  StorageMisuseError,
  TimeoutError,
  UnreachableError,
} from './errors.ts';

describe('errors', () => {
  it('carry stable codes, names and causes', () => {
    const cause = new Error('disk');
    const e = new StorageError('flush', 'fdatasync failed', { cause });
    expect(e.code).toBe('STORAGE');
    expect(e.name).toBe('StorageError');
    expect(e.op).toBe('flush');
    expect(e.cause).toBe(cause);
    expect(e.message).toBe('storage flush failed: fdatasync failed');
    expect(e.toJSON()).toEqual({ name: 'StorageError', code: 'STORAGE', message: e.message });
    expect(e).toBeInstanceOf(Error);
  });
  it('are identified by code, also for plain objects from another copy of the package', () => {
    expect(hasErrorCode(new NotLeaderError(), ErrorCode.NotLeader)).toBe(true);
    expect(hasErrorCode({ code: 'FORWARD_TO_LEADER' }, ErrorCode.ForwardToLeader)).toBe(true);
    expect(hasErrorCode({ code: 'FORWARD_TO_LEADER' })).toBe(true);
    expect(hasErrorCode({ code: 'ENOENT' })).toBe(false);
    expect(hasErrorCode(new Error('x'))).toBe(false);
    expect(hasErrorCode(null)).toBe(false);
    expect(hasErrorCode('STOPPED')).toBe(false);
  });
  it('separate fatal errors from API and RPC errors', () => {
    expect(isFatalError(new StoppedError())).toBe(true);
    expect(isFatalError(new StorageError('write', 'x'))).toBe(true);
    expect(isFatalError(new PanickedError('bug'))).toBe(true);
    expect(isFatalError(new ForwardToLeaderError('a', { addr: 'a:1' }))).toBe(false);
    expect(isFatalError(new UnreachableError('down'))).toBe(false);
  });
  it('expose their fields', () => {
    const f = new ForwardToLeaderError('b', { addr: 'b:1' });
    expect([f.code, f.leaderId, f.leaderNode]).toEqual(['FORWARD_TO_LEADER', 'b', { addr: 'b:1' }]);
    expect(new ForwardToLeaderError(null, null).message).toContain('unknown');
    expect(new ChangeMembershipError('InProgress', 'x').reason).toBe('InProgress');
    expect(new InitializeError('NotAllowed', 'x').reason).toBe('NotAllowed');
    expect(new OutcomeUnknownError({ term: 1, index: 2 }).logId).toEqual({ term: 1, index: 2 });
    const big = new EntryTooLargeError(10, 5);
    expect([big.code, big.bytes, big.limit]).toEqual(['ENTRY_TOO_LARGE', 10, 5]);
    expect(new InvalidConfigError('leaseMs', 'must be positive').field).toBe('leaseMs');
    expect(new InvalidRequestError('entries[0]', 'bad').path).toBe('entries[0]');
    expect(new StorageMisuseError('Hole', 'gap').reason).toBe('Hole');
    expect(new RemoteError('STOPPED', 'remote stopped').remoteCode).toBe('STOPPED');
    const codes = [
      new TimeoutError('t'),
      new OverloadedError(),
      new NetworkError('n'),
      new RpcTimeoutError('r'),
    ].map((x) => x.code);
    expect(codes).toEqual(['TIMEOUT', 'OVERLOADED', 'NETWORK', 'RPC_TIMEOUT']);
  });
  it('has unique codes', () => {
    const values = Object.values(ErrorCode);
    expect(new Set(values).size).toBe(values.length);
    expect(new FlotillaError(ErrorCode.Timeout, 'x').name).toBe('FlotillaError');
  });
});
