/**
 * Whether a process id still names a running process, for the lock file's stale-lock check. Owns
 * that one probe; must never touch the store's files.
 *
 * `kill(pid, 0)` succeeds for a zombie (a process that exited but was not reaped yet, state `Z`),
 * so a restart right after `kill -9` of the old holder would see its lock as held. On Linux the
 * process state in `/proc/<pid>/stat` settles it: a zombie (`Z`) or a dead task (`X`, `x`) is not
 * a holder. Elsewhere (no `/proc`) the `kill` verdict stands.
 */
import { readFileSync } from 'node:fs';

/** The state letter of `/proc/<pid>/stat` (after the parenthesized command name), or `null`. */
export function procState(stat: string): string | null {
  // "pid (comm) S ppid …": comm may hold spaces and parentheses, so read after the last ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const state = stat.slice(close + 1).trimStart()[0];
  return state === undefined ? null : state;
}

function hasProc(): boolean {
  try {
    readFileSync('/proc/self/stat', 'latin1');
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `pid` is a live process: it exists (`kill(pid, 0)` succeeds or is refused with `EPERM`)
 * and, where `/proc` tells, is neither a zombie nor dead.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EPERM') return false;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    // gone between the two probes, or a system without /proc: trust /proc when it exists
    return !hasProc();
  }
  const state = procState(stat);
  return state !== 'Z' && state !== 'X' && state !== 'x';
}
