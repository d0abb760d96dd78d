import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyPatches,
  importPlanted,
  PatchDidNotApplyError,
  type PlantedBug,
  plantedTree,
  REPO_ROOT,
} from '../src/planted/patch.ts';

type TypesModule = typeof import('@flotilla/types');

const LOG_ID = 'packages/types/src/log-id.ts';
const invertedTerms: PlantedBug = {
  name: 'invertedTerms',
  description: 'compareLogId orders terms backwards',
  patches: [
    {
      file: LOG_ID,
      find: 'if (a.term !== b.term) return a.term < b.term ? -1 : 1;',
      replace: 'if (a.term !== b.term) return a.term < b.term ? 1 : -1;',
    },
  ],
};

describe('planted bugs as source patches', () => {
  it('loads patched code from a copy, and the unpatched package when no bug is planted', async () => {
    const original = readFileSync(join(REPO_ROOT, LOG_ID), 'utf8');
    const broken = await importPlanted<TypesModule>(invertedTerms, 'types');
    const clean = await importPlanted<TypesModule>(null, 'types');
    const [a, b] = [
      { term: 1, index: 5 },
      { term: 2, index: 1 },
    ];
    expect(clean.compareLogId(a, b)).toBe(-1);
    expect(broken.compareLogId(a, b)).toBe(1);
    // The repository's own source is untouched.
    expect(readFileSync(join(REPO_ROOT, LOG_ID), 'utf8')).toBe(original);
  });

  it('makes every copied package use the copied (patched) siblings', () => {
    const tree = plantedTree(invertedTerms);
    const dep = realpathSync(join(tree, 'packages/progress/node_modules/@flotilla/types'));
    expect(dep).toBe(realpathSync(join(tree, 'packages/types')));
    expect(existsSync(join(tree, 'packages/types/src/log-id.test.ts'))).toBe(false);
  });

  it('fails when a patch no longer applies, or would apply in two places', () => {
    const gone: PlantedBug = {
      name: 'gone',
      description: 'targets text that is not there',
      patches: [{ file: LOG_ID, find: 'no such text', replace: '' }],
    };
    expect(() => plantedTree(gone)).toThrow(PatchDidNotApplyError);
    const twice: PlantedBug = {
      name: 'twice',
      description: 'ambiguous target',
      patches: [{ file: 'x.ts', find: 'a', replace: 'b' }],
    };
    expect(() => applyPatches(twice, () => 'a a')).toThrow(/occurs 2 times/);
  });

  it('applies several patches to one file in order', () => {
    const bug: PlantedBug = {
      name: 'two',
      description: 'two edits',
      patches: [
        { file: 'x.ts', find: 'one', replace: 'uno' },
        { file: 'x.ts', find: 'two', replace: 'dos' },
      ],
    };
    expect(applyPatches(bug, () => 'one two').get('x.ts')).toBe('uno dos');
  });
});
