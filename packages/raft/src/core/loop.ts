/**
 * The core loop: one queue of work items (API calls, RPCs, storage completions, replication events,
 * ticks) run one at a time, and the node's stopped state.
 *
 * Owns: the queue, the draining turn, the rejecters of queued calls and unanswered RPCs, and what a
 * stop fails them with. Must never: know an engine command or a storage call (the turn's work is
 * handed in as {@link LoopHooks}), run a work item outside a turn, or drop a caller's promise on a
 * stop without settling it.
 */
import { type Logger, PanickedError, StoppedError } from '@flotilla/types';

/** Settled once: `#schedule` chains each turn's drain on it. */
const SETTLED: Promise<void> = Promise.resolve();

/** What `RaftCore` plugs into the loop. */
export interface LoopHooks {
  /** Runs after every work item: executes the engine's commands. */
  afterItem(): void;
  /** Whether client writes wait to be handed to the engine; `flushWrites` hands them over. */
  hasQueuedWrites(): boolean;
  /** Hands the queued client writes to the engine (one `append` per turn). */
  flushWrites(): void;
  /** Runs once the queue ran dry: leadership changes, metrics. */
  afterTurn(): void;
  /** Runs at a stop, before queued calls and RPCs are rejected. */
  beforeStopRejects(err: Error, stoppedAs: StoppedError): void;
  /** Runs at a stop, after queued calls and RPCs are rejected. */
  afterStopRejects(err: Error, stoppedAs: StoppedError): void;
}

/** The core loop of one node (see the file comment). */
export class CoreLoop {
  readonly #logger: Logger;
  #hooks: LoopHooks | null = null;
  readonly #queue: (() => void)[] = [];
  /** Rejecters of calls still in the queue: a stop settles them instead of leaving them hanging. */
  readonly #queuedCalls = new Set<(err: Error) => void>();
  /** Rejecters of RPCs not answered yet (and of waits that end at a stop). */
  readonly #stopWaiters = new Set<(err: Error) => void>();
  #draining = false;
  #stopped: Error | null = null;
  #stoppedAs: StoppedError | null = null;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Plugs the turn's work in; called once, before the first item is queued. */
  plug(hooks: LoopHooks): void {
    this.#hooks = hooks;
  }

  /** The error that stopped the node (a fatal error, or the shutdown's `StoppedError`), or `null`. */
  get stopped(): Error | null {
    return this.#stopped;
  }

  /** What calls made after the stop fail with: a `StoppedError` (whose cause is a fatal error). */
  get stoppedAs(): StoppedError | null {
    return this.#stoppedAs;
  }

  /** Throws the `StoppedError` once the node stopped. */
  ensureRunning(): void {
    if (this.#stoppedAs) throw this.#stoppedAs;
  }

  /** Queues `fn` (dropped once stopped). */
  enqueue(fn: () => void): void {
    if (this.#stopped) return;
    this.#queue.push(fn);
    this.#schedule();
  }

  /** Runs `fn` inside the loop and resolves with its result (or rejects with what it threw). */
  call<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#stoppedAs) {
        reject(this.#stoppedAs);
        return;
      }
      const abort = (err: Error) => reject(err);
      this.#queuedCalls.add(abort);
      this.#queue.push(() => {
        this.#queuedCalls.delete(abort);
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
          if (err instanceof PanickedError) throw err;
        }
      });
      this.#schedule();
    });
  }

  /**
   * Queues a request: `validate` checks it at once (its throw rejects the request), then `handle`
   * answers it inside the loop through `reply`, maybe turns later (the engine may hold a reply for a
   * durable write). Until answered, a stop rejects it. A request `handle` refuses by throwing fails
   * alone; only a panic (a broken invariant) stops the node.
   */
  request<Q, A>(validate: () => Q, handle: (req: Q, reply: (answer: A) => void) => void): Promise<A> {
    return new Promise((resolve, reject) => {
      if (this.#stopped) {
        reject(new StoppedError());
        return;
      }
      let req: Q;
      try {
        req = validate();
      } catch (err) {
        reject(err);
        return;
      }
      const abort = (err: Error) => reject(err);
      this.#stopWaiters.add(abort);
      const reply = (answer: A) => {
        this.#stopWaiters.delete(abort);
        resolve(answer);
      };
      this.#queue.push(() => {
        try {
          handle(req, reply);
        } catch (err) {
          if (err instanceof PanickedError || !(err instanceof Error)) throw err;
          this.#stopWaiters.delete(abort);
          reject(err);
        }
      });
      this.#schedule();
    });
  }

  /** `p`, or a `Stopped` rejection as soon as the node stops. */
  untilStopped<T>(p: Promise<T>): Promise<T> {
    if (this.#stoppedAs) return Promise.reject(this.#stoppedAs);
    return new Promise<T>((resolve, reject) => {
      const onStop = (err: Error) => reject(err);
      this.#stopWaiters.add(onStop);
      p.then(
        (v) => {
          this.#stopWaiters.delete(onStop);
          resolve(v);
        },
        (err: unknown) => {
          this.#stopWaiters.delete(onStop);
          reject(err);
        },
      );
    });
  }

  /** A fatal error: the node stops; nothing more is written. */
  fail(err: Error): void {
    if (this.#stopped) return;
    this.#logger.error('fatal error, stopping', {
      code: (err as { code?: string }).code,
      err: err.message,
    });
    this.stop(err);
  }

  /** Stops the node with `err` (idempotent): the hooks settle their parts, every queued caller fails. */
  stop(err: Error): void {
    if (this.#stopped) return;
    this.#stopped = err;
    const stoppedAs =
      err instanceof StoppedError
        ? err
        : new StoppedError(`the node stopped: ${err.message}`, { cause: err });
    this.#stoppedAs = stoppedAs;
    this.#hooks?.beforeStopRejects(err, stoppedAs);
    this.#queue.length = 0;
    for (const abort of [...this.#queuedCalls]) abort(stoppedAs);
    this.#queuedCalls.clear();
    for (const abort of [...this.#stopWaiters]) abort(stoppedAs);
    this.#stopWaiters.clear();
    this.#hooks?.afterStopRejects(err, stoppedAs);
  }

  readonly #drainTurn = (): void => this.#drain();

  #schedule(): void {
    if (this.#draining) return;
    this.#draining = true;
    // A reaction on a settled promise is a microtask like `queueMicrotask`'s, without the
    // AsyncResource Node wraps around each of those (profiling: a large share of a turn's garbage).
    void SETTLED.then(this.#drainTurn);
  }

  #drain(): void {
    const hooks = this.#hooks;
    try {
      if (hooks === null) throw new PanickedError('the core loop ran before it was plugged');
      while (!this.#stopped) {
        const fn = this.#queue.shift();
        if (fn === undefined) {
          if (!hooks.hasQueuedWrites()) break;
          hooks.flushWrites();
        } else {
          fn();
        }
        hooks.afterItem();
      }
      if (!this.#stopped) hooks.afterTurn();
    } catch (err) {
      this.fail(err instanceof Error ? err : new PanickedError(String(err)));
    } finally {
      this.#draining = false;
    }
  }
}
