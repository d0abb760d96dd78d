/**
 * The client workload: a few concurrent workers issuing linearizable reads, sets and
 * compare-and-sets on a small rotating set of keys (at most `opsPerKey` operations per key, so the
 * checker stays fast however long the run), plus sets of fresh keys (inserts, never overwritten,
 * the plainest test of "no acknowledged write lost"). Every written value is unique. Each request
 * is one recorded operation; a worker follows `ForwardToLeader` and moves to another node after a
 * failure. Choices come from the seed; timing does not.
 */
import type { HistoryRecorder, OpKind, RecordedOp } from './history.ts';
import { classifyRead, classifyWrite, forwardedTo, type HttpResult, httpCall, isObject } from './http.ts';
import type { KvProcesses } from './processes.ts';
import { sleep } from './processes.ts';
import { Rng } from './rng.ts';

/** Options of {@link Workload}. */
export interface WorkloadOptions {
  readonly seed: number;
  readonly procs: KvProcesses;
  readonly recorder: HistoryRecorder;
  /** Concurrent workers (default 4). */
  readonly workers?: number;
  /** Keys in use at once for reads, sets and compare-and-sets (default 3). */
  readonly activeKeys?: number;
  /** Operations per key before it is retired for a fresh one (default 150). */
  readonly opsPerKey?: number;
  /** Per-request timeout, ms (default 8000): longer than a pause, so paused requests get answers. */
  readonly requestTimeoutMs?: number;
  /** Pause between a worker's operations, ms (default 20–60). */
  readonly thinkMs?: readonly [number, number];
}

/** The operation mix: cumulative thresholds. */
const MIX: readonly [OpKind, number][] = [
  ['read', 0.45],
  ['write', 0.7],
  ['cas', 0.9],
  ['insert', 1],
];

/** The workload. */
export class Workload {
  readonly #o: Required<Omit<WorkloadOptions, 'procs' | 'recorder'>> &
    Pick<WorkloadOptions, 'procs' | 'recorder'>;
  #running = false;
  #workers: Promise<void>[] = [];
  /** Every key touched (for the final reads). */
  readonly keys = new Set<string>();
  readonly #slots: { key: string; ops: number; gen: number }[] = [];

  constructor(o: WorkloadOptions) {
    this.#o = {
      workers: 4,
      activeKeys: 3,
      opsPerKey: 150,
      requestTimeoutMs: 8000,
      thinkMs: [20, 60],
      ...o,
    };
    for (let i = 0; i < this.#o.activeKeys; i++) this.#slots.push({ key: `r${i}.0`, ops: 0, gen: 0 });
  }

  /** Starts the workers. */
  start(): void {
    this.#running = true;
    for (let w = 0; w < this.#o.workers; w++) this.#workers.push(this.#worker(w));
  }

  /** Stops issuing operations and waits for those in flight (each bounded by the request timeout). */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
  }

  #slotKey(i: number): string {
    const s = this.#slots[i] as { key: string; ops: number; gen: number };
    if (s.ops >= this.#o.opsPerKey) {
      s.gen++;
      s.ops = 0;
      s.key = `r${i}.${s.gen}`;
    }
    s.ops++;
    return s.key;
  }

  #liveNodes(): number[] {
    return this.#o.procs.inState('running', 'paused', 'killed').map((n) => n.id);
  }

  async #worker(w: number): Promise<void> {
    const rng = Rng.derive(this.#o.seed, `worker-${w}`);
    const seen = new Map<string, string | null>();
    let seq = 0;
    let inserts = 0;
    let target = rng.pick(this.#liveNodes());
    const rotate = (): void => {
      const live = this.#liveNodes();
      const i = live.indexOf(target);
      target = live[(i + 1) % live.length] ?? target;
    };
    const { procs, recorder, requestTimeoutMs } = this.#o;
    while (this.#running) {
      if (!this.#liveNodes().includes(target)) rotate();
      const addr = procs.get(target).addr;
      const roll = rng.next();
      const kind = (MIX.find(([, p]) => roll < p) ?? MIX[0])?.[0] as OpKind;
      const key = kind === 'insert' ? `i${w}.${inserts++}` : this.#slotKey(rng.int(this.#slots.length));
      this.keys.add(key);
      const value = `${w}.${seq++}`;
      let op: RecordedOp;
      let r: HttpResult;
      if (kind === 'read') {
        op = recorder.invoke({ client: w, kind, key, node: target });
        r = await httpCall(addr, '/linearizable_read', key, requestTimeoutMs);
        const outcome = classifyRead(r);
        if (outcome === 'ok' && r.type === 'reply' && isObject(r.body)) {
          const v = r.body.Ok === '' ? null : (r.body.Ok as string);
          seen.set(key, v);
          recorder.complete(op, 'ok', { value: v });
        } else recorder.complete(op, outcome, undefined, describe(r));
      } else {
        const expected = seen.get(key) ?? null;
        const body = kind === 'cas' ? { Cas: { key, expected, value } } : { Set: { key, value } };
        op = recorder.invoke({
          client: w,
          kind,
          key,
          node: target,
          value,
          ...(kind === 'cas' ? { expected } : {}),
        });
        r = await httpCall(addr, '/write', body, requestTimeoutMs);
        const outcome = classifyWrite(r);
        if (outcome === 'ok' && r.type === 'reply' && isObject(r.body) && isObject(r.body.Ok)) {
          const ok = r.body.Ok;
          const data = isObject(ok.data) ? ok.data : {};
          const logIndex =
            isObject(ok.log_id) && typeof ok.log_id.index === 'number' ? ok.log_id.index : undefined;
          const now = typeof data.value === 'string' ? data.value : null;
          const applied = data.applied === true;
          seen.set(key, kind === 'cas' ? now : value);
          recorder.complete(op, 'ok', {
            ...(kind === 'cas' ? { value: now, applied } : {}),
            ...(logIndex === undefined ? {} : { logIndex }),
          });
        } else recorder.complete(op, outcome, undefined, describe(r));
      }
      if (op.outcome !== 'ok') {
        const fwd = r.type === 'reply' ? forwardedTo(r.body) : undefined;
        if (typeof fwd === 'number' && this.#liveNodes().includes(fwd)) target = fwd;
        else {
          rotate();
          await sleep(op.outcome === 'fail' && fwd === undefined ? 50 : 100);
        }
      }
      await sleep(rng.between(this.#o.thinkMs[0], this.#o.thinkMs[1]));
    }
  }
}

/** A short description of a failed request. */
function describe(r: HttpResult): string {
  if (r.type === 'error') return r.message;
  const text = JSON.stringify(r.body);
  return `${r.status} ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
}
