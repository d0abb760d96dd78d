import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Relative imports of every non-test source file, as paths relative to `src`. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        const text = readFileSync(p, 'utf8');
        const deps = [...text.matchAll(/from '(\.[^']+)'/g)].map((m) =>
          relative(src, resolve(dirname(p), m[1]!)),
        );
        graph.set(relative(src, p), [...new Set(deps)].sort());
      }
    }
  };
  walk(src);
  return graph;
}

function cycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const found: string[] = [];
  const visit = (n: string, stack: string[]) => {
    state.set(n, 'open');
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 'open') found.push([...stack.slice(stack.indexOf(d)), d].join(' -> '));
      else if (!state.has(d)) visit(d, stack);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n, []);
  return found;
}

describe('engine module structure (STYLE 13)', () => {
  const graph = importGraph();

  it('has no import cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('handlers import only the handlers documented in steps.ts (a DAG)', () => {
    const handlerDeps = Object.fromEntries(
      [...graph]
        .filter(([f]) => f.startsWith('handlers/'))
        .map(([f, deps]) => [f, deps.filter((d) => d.startsWith('handlers/'))]),
    );
    expect(handlerDeps).toEqual({
      'handlers/commit.ts': ['handlers/log.ts'],
      'handlers/establish.ts': ['handlers/log.ts', 'handlers/replication.ts', 'handlers/vote.ts'],
      'handlers/following.ts': [
        'handlers/commit.ts',
        'handlers/log.ts',
        'handlers/server-state.ts',
        'handlers/vote.ts',
      ],
      'handlers/leader.ts': [
        'handlers/log.ts',
        'handlers/replication.ts',
        'handlers/server-state.ts',
        'handlers/vote.ts',
      ],
      'handlers/log.ts': [],
      'handlers/replication.ts': [],
      'handlers/server-state.ts': [],
      'handlers/snapshot.ts': ['handlers/log.ts'],
      'handlers/vote.ts': ['handlers/server-state.ts'],
    });
  });

  it('only engine.ts and steps.ts import handlers from outside handlers/', () => {
    const importers = [...graph]
      .filter(([f, deps]) => !f.startsWith('handlers/') && deps.some((d) => d.startsWith('handlers/')))
      .map(([f]) => f)
      .sort();
    expect(importers).toEqual(['engine.ts', 'steps.ts']);
  });
});
