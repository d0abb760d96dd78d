/**
 * The client workload: a few concurrent workers issuing linearizable reads, sets and
 * compare-and-sets on a small rotating set of keys (at most `opsPerKey` operations per key, so the
 * checker stays fast however long the run), plus sets of fresh keys (inserts, never overwritten,
 * the plainest test of "no acknowledged write lost"). Every written value is unique. With kv's
 * exactly-once sessions (`sessions`), each worker is one client session with one write in flight,
 * writes carry `client_id` + `sequence`, an unknown outcome is retried with the same session until
 * it is known (one recorded operation spanning its attempts), and appends of unique tokens to a key
 * only ever appended to join the mix, so a write applied twice shows. Without sessions each request
 * is one recorded operation. A worker follows `ForwardToLeader` and moves to another node after a
 * failure. Choices come from the seed; timing does not.
 */
import type { HistoryRecorder, OpKind } from './history.ts';
import {
  apiErrorName,
  classifyRead,
  classifyWrite,
  forwardedTo,
  type HttpResult,
  httpCall,
  isObject,
} from './http.ts';
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
  /** Use kv's exactly-once sessions: retries of unknown writes, and appends (default false). */
  readonly sessions?: boolean;
  /** Requests per write under a session before its outcome is left unknown (default 6). */
  readonly maxAttempts?: number;
  /** Send each read to a random live node (clients reading from followers), default false. */
  readonly readAnyNode?: boolean;
}

/** The operation mix: cumulative thresholds. */
const MIX: readonly [OpKind, number][] = [
  ['read', 0.45],
  ['write', 0.7],
  ['cas', 0.9],
  ['insert', 1],
];

/** The mix with sessions: appends added. */
const MIX_SESSIONS: readonly [OpKind, number][] = [
  ['read', 0.4],
  ['write', 0.6],
  ['cas', 0.77],
  ['append', 0.92],
  ['insert', 1],
];

/** Why a write under a session was refused by the state machine (it was not applied by that request). */
function sessionRefusal(r: HttpResult): string | undefined {
  if (r.type !== 'reply') return undefined;
  const name = apiErrorName(r.body);
  return name === 'SessionExpired' || name === 'StaleSequence' ? name : undefined;
}

/** The workload. */
export class Workload {
  readonly #o: Required<Omit<WorkloadOptions, 'procs' | 'recorder'>> &
    Pick<WorkloadOptions, 'procs' | 'recorder'>;
  /** The key only ever appended to (rotated like the others). */
  readonly #appendSlot = { key: 'a.0', ops: 0, gen: 0 };
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
      sessions: false,
      maxAttempts: 6,
      readAnyNode: false,
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

  #appendKey(): string {
    const s = this.#appendSlot;
    if (s.ops >= this.#o.opsPerKey) {
      s.gen++;
      s.ops = 0;
      s.key = `a.${s.gen}`;
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
    const sessions = this.#o.sessions;
    const mix = sessions ? MIX_SESSIONS : MIX;
    let seq = 0;
    let inserts = 0;
    // This worker's client session: a new one after a write whose outcome stayed unknown.
    let session = { gen: 0, sequence: 0 };
    let target = rng.pick(this.#liveNodes());
    const rotate = (): void => {
      const live = this.#liveNodes();
      const i = live.indexOf(target);
      target = live[(i + 1) % live.length] ?? target;
    };
    /** After a request that did not succeed: follow ForwardToLeader, or move on and back off. */
    const redirect = async (r: HttpResult, outcome: 'fail' | 'unknown'): Promise<void> => {
      const fwd = r.type === 'reply' ? forwardedTo(r.body) : undefined;
      if (typeof fwd === 'number' && this.#liveNodes().includes(fwd)) target = fwd;
      else {
        rotate();
        await sleep(outcome === 'fail' && fwd === undefined ? 50 : 100);
      }
    };
    const { procs, recorder, requestTimeoutMs } = this.#o;
    while (this.#running) {
      if (!this.#liveNodes().includes(target)) rotate();
      const roll = rng.next();
      const kind = (mix.find(([, p]) => roll < p) ?? mix[0])?.[0] as OpKind;
      let key: string;
      if (kind === 'insert') key = `i${w}.${inserts++}`;
      else if (kind === 'append') key = this.#appendKey();
      else if (kind === 'read' && sessions && rng.int(this.#slots.length + 1) === this.#slots.length)
        key = this.#appendSlot.key;
      else key = this.#slotKey(rng.int(this.#slots.length));
      this.keys.add(key);
      const value = kind === 'append' ? `${w}.${seq++};` : `${w}.${seq++}`;
      if (kind === 'read') {
        const live = this.#liveNodes();
        const at = this.#o.readAnyNode && live.length > 0 ? rng.pick(live) : target;
        const op = recorder.invoke({ client: w, kind, key, node: at });
        const r = await httpCall(procs.get(at).addr, '/linearizable_read', key, requestTimeoutMs);
        const outcome = classifyRead(r);
        if (outcome === 'ok' && r.type === 'reply' && isObject(r.body)) {
          const v = r.body.Ok === '' ? null : (r.body.Ok as string);
          seen.set(key, v);
          recorder.complete(op, 'ok', { value: v });
        } else {
          recorder.complete(op, outcome, undefined, describe(r));
          await redirect(r, outcome === 'fail' ? 'fail' : 'unknown');
        }
        await sleep(rng.between(this.#o.thinkMs[0], this.#o.thinkMs[1]));
        continue;
      }
      const expected = seen.get(key) ?? null;
      const body: Record<string, unknown> =
        kind === 'cas'
          ? { Cas: { key, expected, value } }
          : kind === 'append'
            ? { Append: { key, value } }
            : { Set: { key, value } };
      const sess = sessions ? { client_id: `w${w}.${session.gen}`, sequence: ++session.sequence } : undefined;
      if (sess !== undefined) Object.assign(body, sess);
      const op = recorder.invoke({
        client: w,
        kind,
        key,
        node: target,
        value,
        ...(kind === 'cas' ? { expected } : {}),
        ...(sess === undefined ? {} : { session: sess }),
      });
      let attempts = 0;
      let everUnknown = false;
      for (;;) {
        attempts++;
        const r = await httpCall(procs.get(target).addr, '/write', body, requestTimeoutMs);
        const refused = sessionRefusal(r);
        const outcome = refused !== undefined ? 'fail' : classifyWrite(r);
        if (outcome === 'ok' && r.type === 'reply' && isObject(r.body) && isObject(r.body.Ok)) {
          const ok = r.body.Ok;
          const data = isObject(ok.data) ? ok.data : {};
          const logIndex =
            isObject(ok.log_id) && typeof ok.log_id.index === 'number' ? ok.log_id.index : undefined;
          const now = typeof data.value === 'string' ? data.value : null;
          const applied = data.applied === true;
          seen.set(key, kind === 'cas' || kind === 'append' ? now : value);
          recorder.complete(op, 'ok', {
            ...(kind === 'cas' || kind === 'append' ? { value: now } : {}),
            ...(kind === 'cas' ? { applied } : {}),
            ...(logIndex === undefined ? {} : { logIndex }),
          });
          break;
        }
        if (outcome === 'unknown') everUnknown = true;
        const retry =
          sess !== undefined && everUnknown && refused === undefined && attempts < this.#o.maxAttempts;
        if (!retry) {
          // Under a session, a refusal after an unknown attempt says nothing of that attempt.
          const final: 'fail' | 'unknown' = everUnknown || outcome !== 'fail' ? 'unknown' : 'fail';
          recorder.complete(op, final, undefined, describe(r));
          if (sess !== undefined) {
            // Certainly not applied: the number is free again. Unknown: a new session.
            if (final === 'fail' && refused === undefined) session.sequence--;
            else session = { gen: session.gen + 1, sequence: 0 };
          }
          await redirect(r, final);
          break;
        }
        await redirect(r, 'unknown');
        if (!this.#liveNodes().includes(target)) rotate();
      }
      if (attempts > 1) op.attempts = attempts;
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
