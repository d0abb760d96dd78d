import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirPerTest } from '../test/helpers.ts';
import { nodeFileIO } from './file-io.ts';

let dir = '';
tempDirPerTest((d) => {
  dir = d;
});

describe('nodeFileIO writeDurable', () => {
  it('writes every buffer at the position, readable through the handle and the file', async () => {
    const path = join(dir, 'a.seg');
    const h = await nodeFileIO.open(path, 'createTruncate');
    await h.write(new Uint8Array([1, 2, 3, 4]), 0);
    const writeDurable = h.writeDurable?.bind(h);
    expect(writeDurable).toBeTypeOf('function');
    await writeDurable?.([new Uint8Array([9, 9]), new Uint8Array([7])], 2);
    await writeDurable?.([new Uint8Array([5])], 5);
    const buf = new Uint8Array(6);
    expect(await h.read(buf, 0, 6, 0)).toBe(6);
    expect([...buf]).toEqual([1, 2, 9, 9, 7, 5]);
    expect(await h.size()).toBe(6);
    await h.close();
    expect([...(await readFile(path))]).toEqual([1, 2, 9, 9, 7, 5]);
  });

  it('closes its second descriptor with the handle', async () => {
    const path = join(dir, 'b.seg');
    const h = await nodeFileIO.open(path, 'createTruncate');
    await h.writeDurable?.([new Uint8Array([1])], 0);
    await h.close();
    // A closed handle refuses further durable writes instead of writing through a leaked descriptor.
    await expect(h.writeDurable?.([new Uint8Array([2])], 1)).rejects.toMatchObject({ code: 'EBADF' });
    expect([...(await readFile(path))]).toEqual([1]);
  });
});
