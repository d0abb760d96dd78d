import type { Entry, LogState, RaftLogStorage } from '@flotilla/types';
import { expect } from 'vitest';
import { FlushProbe } from '../testing/fixtures.ts';

/**
 * Lets the suite hold a store's flushes, to check that appended entries are readable before they are
 * durable. Optional: stores whose flush cannot be held skip the cases that need it.
 */
export interface FlushControl {
  /** From now on, appended entries are not made durable (their callbacks do not run). */
  hold(): void;
  /** Makes every held append durable (running callbacks in order) and resumes normal flushing. */
  release(): Promise<void>;
}

/** How the log-storage suite gets, re-opens and disposes of the store under test. */
export interface LogStorageHarness {
  /** A fresh, empty store. */
  setup(): Promise<RaftLogStorage>;
  /** Disposes of a store (the last one a case used, after any re-opens). */
  teardown?(store: RaftLogStorage): Promise<void>;
  /**
   * Closes `store` (or drops it as a crash would) and opens the same storage again; the suite calls
   * it at every point where the contract says data is durable (after `saveVote` resolves, after a
   * flush callback), so a durable store is checked "re-opened after every operation". Whatever was
   * not yet durable may be lost.
   */
  reopen?(store: RaftLogStorage): Promise<RaftLogStorage>;
  /** How long the suite waits for a flush callback before failing (default 5 000 ms). */
  flushTimeoutMs?: number;
  /** Flush control for `store`, when the store supports holding flushes. */
  flushControl?(store: RaftLogStorage): FlushControl;
}

/** A store under test plus the suite's helpers. Every case makes one. */
export class StoreContext {
  /** The current store (replaced on each re-open). */
  store!: RaftLogStorage;
  /** How long to wait for a flush callback. */
  get flushTimeoutMs(): number {
    return this.#harness.flushTimeoutMs ?? 5_000;
  }

  /** How many times the store was re-opened. */
  reopens = 0;
  readonly #harness: LogStorageHarness;

  constructor(harness: LogStorageHarness) {
    this.#harness = harness;
  }

  /** Sets up the store. */
  async open(): Promise<void> {
    this.store = await this.#harness.setup();
  }

  /** Tears down the current store. */
  async close(): Promise<void> {
    await this.#harness.teardown?.(this.store);
  }

  /** A durable point: re-opens the store when the harness can. */
  async durable(): Promise<void> {
    if (this.#harness.reopen !== undefined) {
      this.store = await this.#harness.reopen(this.store);
      this.reopens++;
    }
  }

  /** Appends `entries`, waits for their flush callback (exactly one, without error), then re-opens. */
  async appendFlushed(entries: readonly Entry[]): Promise<FlushProbe> {
    const probe = new FlushProbe();
    await this.store.append(entries, probe.onFlushed);
    await probe.flushed(this.flushTimeoutMs);
    expect(probe.calls, 'flush callback calls').toBe(1);
    await this.durable();
    return probe;
  }

  /** Reads `[start, end)` with `tryGetLogEntries` through a fresh reader. */
  read(start: number, end: number): Promise<Entry[]> {
    return this.store.reader().tryGetLogEntries(start, end);
  }

  /** The log state. */
  state(): Promise<LogState> {
    return this.store.getLogState();
  }

  /** Checks the log state and that exactly `expected` is readable in `[0, end)`. */
  async expectLog(expected: readonly Entry[], state: LogState, end = 1_000): Promise<void> {
    expect(await this.state(), 'log state').toEqual(state);
    expect(await this.read(0, end), 'readable entries').toEqual(expected);
  }
}

/** Runs `body` against a fresh store and always tears it down. */
export async function withStore(
  harness: LogStorageHarness,
  body: (ctx: StoreContext) => Promise<void>,
): Promise<void> {
  const ctx = new StoreContext(harness);
  await ctx.open();
  try {
    await body(ctx);
  } finally {
    await ctx.close();
  }
}
