// Runs commands for the release and docs tooling: captured output, a clear error when one fails,
// and free loopback ports. Never spawns a shell.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';

/** What a finished command printed. */
export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Options of {@link exec}. */
export interface ExecOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/** A command that exited non-zero (or could not start); its output is in the message. */
export class CommandFailedError extends Error {
  readonly code = 'COMMAND_FAILED';
  /** The command line and its directory. */
  readonly command: string;
  /** Everything it printed. */
  readonly output: string;
  constructor(command: string, output: string, options?: { cause?: unknown }) {
    super(`${command} failed:\n${output.slice(-4000)}`, options);
    this.name = 'CommandFailedError';
    this.command = command;
    this.output = output;
  }
}

/** Runs `cmd args` in `opts.cwd` and resolves with its output once it exits 0. */
export function exec(cmd: string, args: readonly string[], opts: ExecOptions): Promise<ExecResult> {
  const line = `${cmd} ${args.join(' ')} (in ${opts.cwd})`;
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (err) reject(new CommandFailedError(line, `${stdout}\n${stderr}`, { cause: err }));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Measures named phases; `report()` is one line per phase and the total. */
export class Timings {
  readonly #t0 = Date.now();
  #last = Date.now();
  readonly phases: [string, number][] = [];
  /** Records the time since the previous mark under `name`. */
  mark(name: string): void {
    const now = Date.now();
    this.phases.push([name, (now - this.#last) / 1000]);
    this.#last = now;
  }
  /** The phases and the total, in seconds, one per line. */
  report(): string {
    const total = (Date.now() - this.#t0) / 1000;
    return [
      ...this.phases.map(([n, s]) => `${n.padEnd(40)} ${s.toFixed(1)} s`),
      `${'total'.padEnd(40)} ${total.toFixed(1)} s`,
    ].join('\n');
  }
}
