import { afterEach, describe, expect, it } from 'vitest';
import { delay, recordingLogger, TestCluster } from './harness.ts';

let c: TestCluster | null = null;
afterEach(async () => {
  c?.router.heal();
  await c?.shutdown();
  c = null;
});

describe('sender-side peer warnings', () => {
  it('warns once per unreachable peer on the sending side, then logs its recovery once', async () => {
    c = new TestCluster();
    const logger = recordingLogger();
    await c.start('a', { logger });
    for (const id of ['b', 'c']) await c.start(id);
    await c.raft('a').initialize({ a: { addr: 'a' }, b: { addr: 'b' }, c: { addr: 'c' } });
    await c.raft('a').trigger.elect();
    await c.raft('a').wait({ timeoutMs: 10_000 }).currentLeader('a');
    c.router.setUnreachable('b');
    // Writes and heartbeats keep trying b for a while: many failures, one warning.
    for (let i = 0; i < 10; i++) {
      await c.raft('a').clientWrite({ key: 'k', value: i });
      await delay(20);
    }
    const warns = () => logger.lines.filter((l) => l.level === 'warn' && l.fields?.target === 'b');
    expect(warns()).toHaveLength(1);
    expect(warns()[0]?.msg).toContain('unreachable');
    expect(logger.lines.filter((l) => l.level === 'warn' && l.fields?.target === 'c')).toHaveLength(0);
    c.router.setUnreachable('b', false);
    const w = await c.raft('a').clientWrite({ key: 'k', value: 100 });
    await c.applied(w.logId.index, ['b']);
    const recovered = logger.lines.filter((l) => l.level === 'info' && l.msg.includes('answers again'));
    expect(recovered.map((l) => l.fields?.target)).toEqual(['b']);
    // Down again: warned again (once).
    c.router.setUnreachable('b');
    await c.raft('a').clientWrite({ key: 'k', value: 101 });
    await delay(100);
    expect(warns()).toHaveLength(2);
  });
});
