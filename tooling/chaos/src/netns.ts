/**
 * Network faults: the private network namespace the harness runs in (`unshare --net`), iptables
 * cuts between node addresses, the probe connection that proves a cut took effect (or was healed),
 * and the check that nodes' outgoing connections really leave from their own addresses — without
 * it, rules keyed on a node's address match nothing. Never touches the host's network: every rule
 * is made inside the namespace.
 */
import { execFile, spawn } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import net from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Environment variable marking a process that runs inside the harness's private namespace. */
export const NETNS_ENV = 'FLOTILLA_CHAOS_NETNS';

/** Whether this process runs inside the harness's private network namespace. */
export function inPrivateNetns(): boolean {
  return process.env[NETNS_ENV] === '1';
}

/** Whether `unshare --net` works here (needs root or user namespaces). */
export async function canUnshare(): Promise<boolean> {
  try {
    await run('unshare', ['--net', 'true']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs this same command again inside a new network namespace (`unshare --net`) and resolves with
 * its exit code. The child brings up its loopback itself ({@link setupNamespace}).
 */
export function reexecInNetns(): Promise<number> {
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const child = spawn('unshare', ['--net', '--', ...argv], {
    stdio: 'inherit',
    env: { ...process.env, [NETNS_ENV]: '1' },
  });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) =>
    child.on('exit', (code, sig) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (sig === null ? 1 : 128));
    }),
  );
}

/** Brings the namespace's loopback up (a fresh namespace starts with it down). */
export async function setupNamespace(): Promise<void> {
  await run('ip', ['link', 'set', 'lo', 'up']);
}

/**
 * Makes sure `iptables` exists: if it is missing and we are root, installs it with apt-get.
 * Resolves with `undefined` when available, or the reason it is not.
 */
export async function ensureIptables(log: (line: string) => void): Promise<string | undefined> {
  try {
    await run('iptables', ['-V']);
    return undefined;
  } catch {
    // missing: try to install
  }
  if (process.getuid?.() !== 0) return 'iptables is missing and the harness is not root to install it';
  log('iptables is missing: apt-get install -y iptables');
  try {
    await run('apt-get', ['install', '-y', 'iptables'], { maxBuffer: 16 << 20 });
    await run('iptables', ['-V']);
    return undefined;
  } catch (e) {
    return `iptables could not be installed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** The outcome of a probe connection. */
export type ProbeResult = 'connected' | 'refused' | 'timeout' | 'error';

/** Opens a TCP connection from `fromHost` to `toHost:port` and reports how it went. */
export function probe(fromHost: string, toHost: string, port: number, timeoutMs = 400): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = net.connect({ host: toHost, port, localAddress: fromHost });
    const done = (r: ProbeResult) => {
      clearTimeout(t);
      s.destroy();
      resolve(r);
    };
    const t = setTimeout(() => done('timeout'), timeoutMs);
    s.once('connect', () => done('connected'));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : 'error'));
  });
}

/** One directed cut: packets from `from` to `to` are dropped. */
export interface Cut {
  readonly from: string;
  readonly to: string;
}

/** A cut that did not take effect, or a heal that did not: the run is void. */
export class CutNotEffectiveError extends Error {
  readonly code = 'CUT_NOT_EFFECTIVE';
}

const CHAIN = 'FLOTILLA-CHAOS';

/**
 * iptables cuts in the current (private) namespace, in a chain of their own hooked into OUTPUT
 * (loopback packets traverse OUTPUT once). Every cut and every heal is proved with probes.
 */
export class Cuts {
  #ready = false;
  readonly active: Cut[] = [];
  readonly #protocol: string;

  /**
   * @param protocol - the protocol the rules drop (default `tcp`, what Raft and HTTP use); tests
   *   pass another to make a cut that cannot take effect.
   */
  constructor(protocol = 'tcp') {
    this.#protocol = protocol;
  }

  async #iptables(...args: string[]): Promise<void> {
    await run('iptables', ['-w', ...args]);
  }

  async #setup(): Promise<void> {
    if (this.#ready) return;
    if (!inPrivateNetns()) throw new Error('refusing to change iptables outside the private namespace');
    await this.#iptables('-N', CHAIN).catch(() => {});
    await this.#iptables('-F', CHAIN);
    await this.#iptables('-D', 'OUTPUT', '-j', CHAIN).catch(() => {});
    await this.#iptables('-I', 'OUTPUT', '-j', CHAIN);
    this.#ready = true;
  }

  /**
   * Installs `cuts` and proves each: a probe from `from` to `to`'s port must time out, while a probe
   * from `from` to `control` (an address no cut separates from `from`, if any) must connect.
   * Throws {@link CutNotEffectiveError} otherwise.
   */
  async cut(cuts: readonly Cut[], portOf: (host: string) => number): Promise<void> {
    await this.#setup();
    for (const c of cuts) {
      await this.#iptables('-A', CHAIN, '-s', c.from, '-d', c.to, '-p', this.#protocol, '-j', 'DROP');
      this.active.push(c);
    }
    for (const c of cuts) {
      const r = await probe(c.from, c.to, portOf(c.to));
      if (r !== 'timeout')
        throw new CutNotEffectiveError(`cut ${c.from} → ${c.to} not effective: probe ${r}`);
    }
  }

  /** Removes every cut and proves it: probes along each former cut must connect. */
  async healAll(portOf: (host: string) => number, isUp: (host: string) => boolean): Promise<void> {
    if (!this.#ready) return;
    const former = this.active.splice(0);
    await this.#iptables('-F', CHAIN);
    for (const c of former) {
      if (!isUp(c.to)) continue;
      const r = await probe(c.from, c.to, portOf(c.to), 1000);
      if (r !== 'connected')
        throw new CutNotEffectiveError(`heal of ${c.from} → ${c.to} not effective: probe ${r}`);
    }
  }
}

/** Parses `0100007F:1F90` (little-endian IPv4 hex, port hex) from /proc/net/tcp. */
function parseProcAddr(s: string): { host: string; port: number } {
  const [ip = '', port = ''] = s.split(':');
  const bytes = [6, 4, 2, 0].map((i) => Number.parseInt(ip.slice(i, i + 2), 16));
  return { host: bytes.join('.'), port: Number.parseInt(port, 16) };
}

/** An established TCP connection a process holds. */
export interface ProcConnection {
  readonly local: { host: string; port: number };
  readonly remote: { host: string; port: number };
}

/**
 * The established IPv4 TCP connections process `pid` holds (from /proc/<pid>/fd and
 * /proc/net/tcp of the current namespace). Linux only.
 */
export async function connectionsOf(pid: number): Promise<ProcConnection[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m?.[1] !== undefined) inodes.add(m[1]);
  }
  const out: ProcConnection[] = [];
  const text = await readFile('/proc/net/tcp', 'utf8');
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== '01' || !inodes.has(f[9] ?? '')) continue;
    out.push({ local: parseProcAddr(f[1] ?? ''), remote: parseProcAddr(f[2] ?? '') });
  }
  return out;
}

/**
 * Checks that node processes' outgoing connections to their peers leave from their own addresses.
 * `nodes` lists each node's pid, host and port. Resolves with the offending connections (empty:
 * proven, when at least one peer connection was seen) and how many peer connections were seen.
 */
export async function checkOutgoingSources(
  nodes: readonly { pid: number; host: string; port: number }[],
): Promise<{ seen: number; wrong: string[] }> {
  const wrong: string[] = [];
  let seen = 0;
  for (const n of nodes) {
    for (const c of await connectionsOf(n.pid)) {
      const peer = nodes.find((p) => p !== n && p.host === c.remote.host && p.port === c.remote.port);
      if (peer === undefined) continue;
      seen++;
      if (c.local.host !== n.host)
        wrong.push(`${n.host} → ${peer.host}:${peer.port} leaves from ${c.local.host}`);
    }
  }
  return { seen, wrong };
}
