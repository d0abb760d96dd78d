import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { nodeFileIO } from '../src/file-io.ts';
import { fileLogStore } from '../src/index.ts';
import { GatedIO } from './gated-io.ts';
import { appendDurable, entries, tempDirPerTest } from './helpers.ts';

let dir = '';
tempDirPerTest((d) => {
  dir = d;
});

describe('the tail cache never evicts an entry that is not written yet', () => {
  it('an empty append in the same batch does not make a later append look written', async () => {
    const gate = new GatedIO(nodeFileIO);
    const s = await fileLogStore(dir, { io: gate.io, cacheEntries: 0, cacheBytes: 0 });
    await appendDurable(s, entries(1, 0, 1));
    await s.sync(); // and the zeros preallocated after that batch
    gate.hold(); // the meta write below stalls in its sync: entries 1-2 stay unwritten meanwhile
    const flushed: string[] = [];
    const a = s.append([], () => flushed.push('empty'));
    const v = s.saveVote({ term: 1, nodeId: 'a', committed: false });
    const b = s.append(entries(1, 1, 3), () => flushed.push('1-2'));
    await Promise.all([a, b]);
    await sleep(20); // the writer has written the empty append and waits in the meta write
    expect(flushed).toEqual(['empty']);
    expect(s.stats().cachedEntries).toBe(2);
    expect(await s.reader().tryGetLogEntries(1, 3)).toEqual(entries(1, 1, 3));
    gate.release();
    await v;
    await s.sync();
    expect(flushed).toEqual(['empty', '1-2']);
    expect(s.stats().cachedEntries).toBe(0);
    expect(await s.reader().tryGetLogEntries(0, 3)).toEqual(entries(1, 0, 3));
    await s.close();
  });
});
