import { describe, expect, it } from 'vitest';
import { ClientSessions } from './sessions.ts';

describe('ClientSessions', () => {
  it('applies a retried write once and replays its response', () => {
    const s = new ClientSessions<number>();
    let n = 0;
    expect(s.apply('c1', 1, () => ++n)).toEqual({ response: 1, duplicate: false });
    expect(s.apply('c1', 1, () => ++n)).toEqual({ response: 1, duplicate: true });
    expect(s.apply('c1', 2, () => ++n)).toEqual({ response: 2, duplicate: false });
    expect(s.apply('c1', 1, () => ++n)).toEqual({ response: undefined, duplicate: true });
    expect(s.apply('c2', 1, () => ++n)).toEqual({ response: 3, duplicate: false });
    expect(n).toBe(3);
    expect(s.lastSequence('c1')).toBe(2);
  });
  it('survives a snapshot round trip and bounds its memory', () => {
    const s = new ClientSessions<string>({ maxSessions: 2 });
    s.apply('a', 1, () => 'x');
    s.apply('b', 1, () => 'y');
    s.apply('c', 1, () => 'z');
    expect(s.lastSequence('a')).toBeUndefined();
    const t = ClientSessions.fromJSON(JSON.parse(JSON.stringify(s.toJSON())) as [string, number, string][]);
    expect(t.apply('c', 1, () => 'again')).toEqual({ response: 'z', duplicate: true });
  });
});
