/**
 * The CLI's terminal output: text sinks (stdout, stderr) that know whether they are a TTY, a line
 * logger for a node's log, and a progress bar that redraws in place on a TTY. Nothing here reads
 * input or knows about Raft ("term" elsewhere in this app is the Raft election term).
 */
import type { Logger } from '@flotilla/raft';

/** A text sink (stdout or stderr) with a TTY flag. */
export interface Out {
  /** Writes text as is. */
  write(text: string): void;
  /** Whether it is a terminal (progress bars redraw in place). */
  readonly isTTY: boolean;
}

/** `process.stdout` as an {@link Out}. */
export const stdout: Out = {
  write: (t) => {
    process.stdout.write(t);
  },
  get isTTY() {
    return process.stdout.isTTY === true;
  },
};

/** `process.stderr` as an {@link Out}. */
export const stderr: Out = {
  write: (t) => {
    process.stderr.write(t);
  },
  get isTTY() {
    return process.stderr.isTTY === true;
  },
};

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Log levels, least severe first. */
export type LogLevel = (typeof LEVELS)[number];

/** Whether `v` names a log level. */
export function isLogLevel(v: string): v is LogLevel {
  return (LEVELS as readonly string[]).includes(v);
}

/** A logger writing one line per event (`time level msg {fields}`) to `out`, from `level` up. */
export function lineLogger(out: Out, level: LogLevel, prefix = ''): Logger {
  const min = LEVELS.indexOf(level);
  const line = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(lvl) < min) return;
    const f = fields === undefined ? '' : ` ${JSON.stringify(fields)}`;
    out.write(`${new Date().toISOString()} ${lvl.toUpperCase()} ${prefix}${msg}${f}\n`);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

/**
 * A progress bar: redrawn in place on a terminal, printed every 25% otherwise. `update(done)` and
 * `finish()`; `label` goes before the bar.
 */
export class ProgressBar {
  readonly #out: Out;
  readonly #total: number;
  readonly #label: string;
  #lastQuarter = -1;
  #lastDraw = 0;

  constructor(out: Out, total: number, label: string) {
    this.#out = out;
    this.#total = Math.max(1, total);
    this.#label = label;
  }

  /** Shows `done` of the total, with an optional note after the bar. */
  update(done: number, note = ''): void {
    const frac = Math.min(1, done / this.#total);
    if (this.#out.isTTY) {
      const now = Date.now();
      if (now - this.#lastDraw < 50 && done < this.#total) return;
      this.#lastDraw = now;
      const width = 30;
      const full = Math.round(frac * width);
      const bar = `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
      this.#out.write(
        `\r${this.#label} ${bar} ${String(Math.round(frac * 100)).padStart(3)}% ${done}/${this.#total} ${note}\x1b[K`,
      );
    } else {
      const q = Math.floor(frac * 4);
      if (q > this.#lastQuarter) {
        this.#lastQuarter = q;
        this.#out.write(`${this.#label} ${Math.round(frac * 100)}% (${done}/${this.#total}) ${note}\n`);
      }
    }
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.#out.isTTY) this.#out.write('\n');
  }
}
