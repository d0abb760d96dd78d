import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCHES_DIR, benchNames, loadBench, parseCliArgs } from './discover.ts';

describe('parseCliArgs', () => {
  it('takes the first positional as the name and passes unknown args through', () => {
    expect(parseCliArgs(['--', 'calibrate-fsync', '--quick', '--dir=/mnt', 'extra', '--budget=2.5'])).toEqual(
      {
        name: 'calibrate-fsync',
        quick: true,
        smoke: false,
        list: false,
        help: false,
        budgetMs: 2500,
        outDir: null,
        rest: ['--dir=/mnt', 'extra'],
      },
    );
  });

  it('runs everything with no name', () => {
    expect(parseCliArgs(['--list', '--out=/tmp/x'])).toMatchObject({
      name: null,
      list: true,
      outDir: '/tmp/x',
    });
  });

  it('reads --smoke', () => {
    expect(parseCliArgs(['--smoke'])).toMatchObject({ name: null, smoke: true, quick: false });
  });

  it('rejects a malformed budget with INVALID_CONFIG', () => {
    expect(() => parseCliArgs(['--budget=abc'])).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => parseCliArgs(['--budget=0'])).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

describe('discovery', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-discover-'));
    const body = (name: string) =>
      `export const bench = { name: '${name}', description: 'd', async run() {} };\n`;
    await writeFile(join(dir, 'good.ts'), body('good'));
    await writeFile(join(dir, 'misnamed.ts'), body('other'));
    await writeFile(join(dir, 'noexport.ts'), 'export const x = 1;\n');
    await writeFile(join(dir, 'good.test.ts'), '');
    await writeFile(join(dir, 'README.md'), '');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists .ts files that are not tests, sorted', async () => {
    expect(await benchNames(dir)).toEqual(['good', 'misnamed', 'noexport']);
  });

  it('loads a bench and rejects modules without a matching `bench` export', async () => {
    expect((await loadBench('good', dir)).name).toBe('good');
    await expect(loadBench('misnamed', dir)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(loadBench('noexport', dir)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it('finds the calibrations among the real benches', async () => {
    const names = await benchNames(BENCHES_DIR);
    expect(names).toEqual(expect.arrayContaining(['calibrate-fsync']));
    for (const name of names.filter((n) => n.startsWith('calibrate-'))) {
      expect((await loadBench(name)).name).toBe(name);
    }
  });
});
