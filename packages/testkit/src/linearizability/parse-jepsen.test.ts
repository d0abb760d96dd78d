import { ErrorCode, hasErrorCode } from '@flotilla/types';
import { describe, expect, it } from 'vitest';
import { parseJepsenEtcdLog } from './parse-jepsen.ts';
import { UNKNOWN } from './types.ts';

const log = [
  '2017-01-01 INFO  jepsen.core - some noise',
  'INFO  jepsen.util - 0\t:invoke\t:write\t3',
  'INFO  jepsen.util - 1   :invoke :read  nil', // spaces instead of tabs
  'INFO  jepsen.util - 0\t:ok\t:write\t3',
  'INFO  jepsen.util - 1\t:ok\t:read\t3',
  'INFO  jepsen.util - 2\t:invoke\t:cas\t[3 4]',
  'INFO  jepsen.util - 2\t:fail\t:cas\t[3 4]',
  'INFO  jepsen.util - 3\t:invoke\t:cas\t[3 nil]',
  'INFO  jepsen.util - 4\t:invoke\t:read\tnil',
  'INFO  jepsen.util - 4\t:fail\t:read\t:timed-out',
  'INFO  jepsen.util - 3\t:info\t:cas\t:timed-out',
  'INFO  jepsen.util - 5\t:invoke\t:write\t-1',
  '',
].join('\n');

describe('parseJepsenEtcdLog', () => {
  it('pairs calls with completions and skips noise', () => {
    expect(parseJepsenEtcdLog(log)).toEqual([
      { clientId: 0, input: { kind: 'write', value: 3 }, output: { ok: true }, call: 2, return: 4 },
      { clientId: 1, input: { kind: 'read' }, output: { ok: true, value: 3 }, call: 3, return: 5 },
      { clientId: 2, input: { kind: 'cas', from: 3, to: 4 }, output: { ok: false }, call: 6, return: 7 },
      {
        clientId: 3,
        input: { kind: 'cas', from: 3, to: null },
        output: UNKNOWN,
        call: 8,
        return: Number.POSITIVE_INFINITY,
      },
      { clientId: 4, input: { kind: 'read' }, output: UNKNOWN, call: 9, return: Number.POSITIVE_INFINITY },
      {
        clientId: 5,
        input: { kind: 'write', value: -1 },
        output: UNKNOWN,
        call: 12,
        return: Number.POSITIVE_INFINITY,
      },
    ]);
  });

  it('rejects inconsistent logs with INVALID_REQUEST naming the line', () => {
    const bad = [
      'INFO  jepsen.util - 0\t:ok\t:write\t3',
      'INFO  jepsen.util - 0\t:invoke\t:write\t3\nINFO  jepsen.util - 0\t:invoke\t:write\t3',
      'INFO  jepsen.util - 0\t:invoke\t:write\t3\nINFO  jepsen.util - 0\t:ok\t:read\t3',
      'INFO  jepsen.util - 0\t:invoke\t:write\tx',
      'INFO  jepsen.util - 0\t:invoke\t:cas\t[1]',
    ];
    for (const text of bad) {
      let caught: unknown;
      try {
        parseJepsenEtcdLog(text);
      } catch (err) {
        caught = err;
      }
      expect(hasErrorCode(caught, ErrorCode.InvalidRequest), text).toBe(true);
      expect((caught as Error).message).toMatch(/^invalid request at line [12]: /);
    }
  });
});
