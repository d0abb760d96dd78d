import { describe, expect, it } from 'vitest';
import { parseHostPort } from './addr.ts';
import { main, USAGE } from './cli.ts';
import { forwardTarget } from './client.ts';
import { fromWireId, toWireId } from './ids.ts';
import { percentile } from './load.ts';
import { type Out, ProgressBar } from './terminal.ts';

function sink(isTTY = false): Out & { text: string } {
  const s = {
    text: '',
    isTTY,
    write(t: string) {
      s.text += t;
    },
  };
  return s;
}

describe('cli', () => {
  it('help prints the usage and exits 0; no command exits 2', async () => {
    const out = sink();
    expect(await main(['help'], out, sink())).toBe(0);
    expect(out.text).toBe(USAGE);
    expect(await main([], sink(), sink())).toBe(2);
  });

  it('usage mistakes exit 2 with a message and the usage', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['--http-addr', '127.0.0.1:0'], /--id is required/],
      [['--id', '1'], /--http-addr is required/],
      [['--id', 'x', '--http-addr', '127.0.0.1:0'], /--id expects an integer/],
      [['--id', '1', '--http-addr', 'a:1', '--log-level', 'loud'], /unknown level "loud"/],
      [['--id', '1', '--http-addr', 'a:1', '--what'], /Unknown option '--what'/],
      [['bench', '--read-ratio', '2'], /--read-ratio expects a number in \[0, 1\]/],
      [['cluster', '--nodes', '0'], /--nodes expects an integer >= 1/],
      [['--id', '1', '--http-addr', 'a:1', '--transport', 'udp'], /--transport expects one of tcp, grpc/],
      [
        ['--id', '1', '--http-addr', 'a:1', '--transport', 'grpc', '--local-address', '127.0.0.1'],
        /--local-address needs --transport tcp/,
      ],
      [['--id', '1', '--http-addr', 'a:1', '--test-mode'], /Unknown option '--test-mode'/],
      [['--id', '1', '--http-addr', 'a:1', '--plant-bug', 'skip-fsync'], /Unknown option '--plant-bug'/],
      [['--id', '1', '--http-addr', 'a:1', '--file-io', 'volatile'], /Unknown option '--file-io'/],
    ];
    for (const [argv, re] of cases) {
      const err = sink();
      expect(await main(argv, sink(), err)).toBe(2);
      expect(err.text).toMatch(re);
      expect(err.text).toContain('Usage:');
    }
  });

  it('a bad address fails with the error code and exit 1', async () => {
    const err = sink();
    expect(await main(['--id', '1', '--http-addr', 'nope', '--dir', '/nonexistent/x'], sink(), err)).toBe(1);
    expect(err.text).toMatch(
      /^error \[INVALID_CONFIG\]: invalid config addr: expected host:port, got "nope"/,
    );
  });
});

describe('small helpers', () => {
  it('node ids: decimal strings become numbers and back; others stay strings; JSON ids are checked', () => {
    expect(toWireId('12')).toBe(12);
    expect(toWireId('012')).toBe('012');
    expect(toWireId('n1')).toBe('n1');
    expect(toWireId('99999999999999999999')).toBe('99999999999999999999');
    expect(fromWireId(7, '$')).toBe('7');
    for (const bad of [-1, 1.5, '1', null, Number.MAX_SAFE_INTEGER + 1])
      expect(() => fromWireId(bad, '$[0]')).toThrow(/\$\[0\]/);
  });

  it('parseHostPort accepts host:port and [v6]:port only', () => {
    expect(parseHostPort('127.0.0.1:21001')).toEqual({ host: '127.0.0.1', port: 21001 });
    expect(parseHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 });
    for (const bad of ['127.0.0.1', ':80', 'a:99999', 'a:b', '::1:80'])
      expect(() => parseHostPort(bad)).toThrow(/host:port/);
  });

  it('forwardTarget reads ForwardToLeader replies only', () => {
    const fwd = (node: unknown) => ({
      Err: { APIError: { ForwardToLeader: { leader_id: 1, leader_node: node } } },
    });
    expect(forwardTarget(fwd({ addr: 'h:1' }))).toBe('h:1');
    expect(forwardTarget(fwd(null))).toBeNull();
    expect(forwardTarget({ Ok: 1 })).toBeUndefined();
    expect(forwardTarget({ Err: { Fatal: 'Stopped' } })).toBeUndefined();
  });

  it('percentile uses the nearest rank', () => {
    const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect([percentile(s, 50), percentile(s, 90), percentile(s, 99), percentile(s, 100)]).toEqual([
      5, 9, 10, 10,
    ]);
    expect(percentile([], 50)).toBeNaN();
  });

  it('the progress bar prints quarters off a terminal and redraws in place on one', () => {
    const plain = sink(false);
    const bar = new ProgressBar(plain, 8, 'w');
    for (let i = 1; i <= 8; i++) bar.update(i);
    expect(plain.text.split('\n').filter((l) => l !== '')).toEqual([
      'w 13% (1/8) ',
      'w 25% (2/8) ',
      'w 50% (4/8) ',
      'w 75% (6/8) ',
      'w 100% (8/8) ',
    ]);
    const tty = sink(true);
    const b2 = new ProgressBar(tty, 2, 'w');
    b2.update(2);
    b2.finish();
    expect(tty.text).toMatch(/^\rw █+ 100% 2\/2 .*\n$/);
  });
});
