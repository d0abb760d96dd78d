// The store lock against real processes: a live holder locks the store out; the same holder after
// `kill -9`, left a zombie by a parent that never reaps it, does not (the restart right after a
// crash that used to fail with STORE_LOCKED).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileLogStore } from '../src/index.ts';
import { procState } from '../src/process-alive.ts';
import { tempDirPerTest } from './helpers.ts';

let dir = '';
tempDirPerTest((d) => {
  dir = d;
});

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function stateOf(pid: number): string | null {
  try {
    return procState(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return null;
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A program that writes LOCK as the store does (its pid and an incarnation) and stays alive. */
function holderScript(lockPath: string): string {
  return `require('fs').writeFileSync(${JSON.stringify(lockPath)}, JSON.stringify({ pid: process.pid, incarnation: 'holder' })); setInterval(() => {}, 1000);`;
}

function lockNames(lockPath: string, pid: number): boolean {
  return existsSync(lockPath) && readFileSync(lockPath, 'utf8').includes(`"pid":${pid}`);
}

/**
 * Starts a holder process that writes the store's LOCK file with its own pid (the lock file's
 * format) and stays alive, under a parent that never reaps its children: the `sh` prints the
 * holder's pid, then `exec`s into `sleep`, which inherits the holder as its child and never waits.
 */
async function startHolder(lockPath: string): Promise<{ holderPid: number; parent: ChildProcess }> {
  const holder = holderScript(lockPath);
  const parent = spawn('sh', ['-c', `"${process.execPath}" -e "$HOLDER" & echo $!; exec sleep 120`], {
    env: { ...process.env, HOLDER: holder },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started.push(parent);
  const holderPid = await new Promise<number>((resolve, reject) => {
    let out = '';
    parent.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(Number.parseInt(out, 10));
    });
    parent.once('exit', () => reject(new Error('holder parent exited early')));
  });
  await until('the holder to write LOCK', () => lockNames(lockPath, holderPid));
  return { holderPid, parent };
}

describe('store lock against real processes', () => {
  it('a live holder locks the store (STORE_LOCKED); after kill -9 its zombie does not', async () => {
    const first = await fileLogStore(dir); // a store to reopen
    await first.close();
    const lockPath = join(dir, 'LOCK');
    const { holderPid } = await startHolder(lockPath);
    expect(stateOf(holderPid)).not.toBe('Z');

    await expect(fileLogStore(dir)).rejects.toMatchObject({ code: 'STORE_LOCKED', file: lockPath });

    process.kill(holderPid, 'SIGKILL');
    await until('the holder to be a zombie', () => stateOf(holderPid) === 'Z');
    // the zombie still has its pid: kill(pid, 0) succeeds, which used to mean "held"
    expect(() => process.kill(holderPid, 0)).not.toThrow();

    const s = await fileLogStore(dir);
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid });
    await s.close();
  });

  it('a lock whose holder is gone (reaped) is taken over', async () => {
    const lockPath = join(dir, 'LOCK');
    // a holder spawned by this process: node reaps it as soon as it exits
    const holder = spawn(process.execPath, ['-e', holderScript(lockPath)], { stdio: 'ignore' });
    started.push(holder);
    const pid = holder.pid ?? -1;
    await until('the holder to write LOCK', () => lockNames(lockPath, pid));
    const exited = new Promise((r) => holder.once('exit', r));
    holder.kill('SIGKILL');
    await exited;
    expect(stateOf(pid)).toBeNull();
    const s = await fileLogStore(dir);
    await s.close();
  });
});

describe('procState', () => {
  it('reads the state after a command name holding spaces and parentheses', () => {
    expect(procState('42 (a (b) c) Z 1 42 42 0')).toBe('Z');
    expect(procState('7 (node) S 1 7')).toBe('S');
    expect(procState('garbage')).toBeNull();
    expect(procState('9 (x)')).toBeNull();
  });
});
