import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { NETNS_ENV } from '../src/netns.ts';

const run = promisify(execFile);

// Needs root (unshare --net, iptables), as `pnpm chaos` does for partitions.
describe('cuts in a private network namespace', () => {
  it('proves a cut with a probe, heals it, refuses an unproven cut, and sees outgoing sources', async () => {
    const { stdout } = await run(
      'unshare',
      [
        '--net',
        '--',
        process.execPath,
        '--conditions=@flotilla/source',
        '--import',
        'tsx',
        'test/netns-script.ts',
      ],
      { cwd: `${import.meta.dirname}/..`, env: { ...process.env, [NETNS_ENV]: '1' }, timeout: 60_000 },
    );
    const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    expect(out).toEqual({
      iptables: 'ok',
      before: 'connected',
      cut: 'timeout',
      other: 'connected',
      // The rule is keyed on the node's address: a socket leaving from 127.0.0.1 is not cut.
      unboundSource: 'connected',
      healed: 'connected',
      unproven: 'CUT_NOT_EFFECTIVE',
      sourcesUnbound: { seen: 1, wrong: [expect.stringContaining('leaves from 127.0.0.1')] },
      sourcesBound: { seen: 1, wrong: [] },
    });
  });
});
