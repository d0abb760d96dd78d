/**
 * The flotilla-kv write path over real TCP and real files, stage by stage.
 *
 * Runs a 3-node cluster in this process: `Raft` + `tcpNetwork`/`tcpServer` + `fileLogStore` (temp
 * dirs, real `fdatasync`) + the kv state machine, then drives `clientWrite` from 1 and from 16
 * concurrent clients. Every store, state machine and RPC handler is wrapped to timestamp each log
 * index as it passes a stage, so the report says where a write's time goes:
 *
 * - `leaderAppend`: client call → the leader's log store `append` is called;
 * - `leaderFlush`: leader `append` → its `onFlushed`;
 * - `toFollower`: leader `append` → a follower's handler receives the request carrying the entry;
 * - `followerFlush`: follower `append` → its `onFlushed`;
 * - `followerReply`: follower receives → its handler yields the reply acknowledging the entry;
 * - `toApply`: leader `append` → the leader's state machine applies the entry;
 * - `toReply`: leader apply → `clientWrite` resolves.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The bench package does not depend on the runtime or the app: reach their sources directly (their
// own dependencies resolve from their folders).
import { Raft } from '@flotilla/raft';
import { type FileLogStoreOptions, fileLogStore } from '@flotilla/storage-file';
import { tcpNetwork, tcpServer } from '@flotilla/transport-tcp';
import type {
  AppendEntriesRequest,
  ApplyEntry,
  Entry,
  IoFlushed,
  NodeId,
  RaftLogStorage,
  RaftRpcHandler,
  RaftStateMachine,
  StreamAppendResult,
} from '@flotilla/types';
import {
  KV_COMMITTED_FLUSH_MS,
  KvClient,
  type KvNode,
  type KvRequest,
  type KvResponse,
  openKvStateMachine,
  startKvNode,
} from 'flotilla-kv';
import type { Bench } from '../harness.ts';
import { summarizeLatencies as summarize } from '../stats.ts';

type Stage =
  | 'leaderAppend'
  | 'leaderFlush'
  | 'toFollower'
  | 'followerFlush'
  | 'followerReply'
  | 'toApply'
  | 'toReply';

/** Per-index timestamps (ms, `performance.now()`), filled by the wrappers. */
class Timeline {
  readonly appendAt = new Map<string, Map<number, number>>();
  readonly flushAt = new Map<string, Map<number, number>>();
  readonly receiveAt = new Map<string, Map<number, number>>();
  readonly replyAt = new Map<string, Map<number, number>>();
  readonly applyAt = new Map<string, Map<number, number>>();
  enabled = false;

  mark(table: Map<string, Map<number, number>>, node: string, index: number): void {
    if (!this.enabled) return;
    let m = table.get(node);
    if (m === undefined) table.set(node, (m = new Map()));
    if (!m.has(index)) m.set(index, performance.now());
  }
}

function wrapStore(store: RaftLogStorage, node: string, tl: Timeline): RaftLogStorage {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'append') {
        return (entries: readonly Entry[], onFlushed: IoFlushed) => {
          for (const e of entries) tl.mark(tl.appendAt, node, e.logId.index);
          return target.append(entries, (err) => {
            if (err === undefined || err === null)
              for (const e of entries) tl.mark(tl.flushAt, node, e.logId.index);
            onFlushed(err);
          });
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function wrapStateMachine(
  sm: RaftStateMachine<KvRequest, KvResponse>,
  node: string,
  tl: Timeline,
): RaftStateMachine<KvRequest, KvResponse> {
  return new Proxy(sm, {
    get(target, prop, receiver) {
      if (prop === 'apply') {
        return (entries: readonly ApplyEntry<KvRequest>[]) => {
          for (const e of entries) tl.mark(tl.applyAt, node, e.logId.index);
          return target.apply(entries);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function wrapHandler(h: RaftRpcHandler, node: string, tl: Timeline): RaftRpcHandler {
  const received = (req: AppendEntriesRequest) => {
    for (const e of req.entries) tl.mark(tl.receiveAt, node, e.logId.index);
  };
  return {
    appendEntries: async (req) => {
      received(req);
      const res = await h.appendEntries(req);
      for (const e of req.entries) tl.mark(tl.replyAt, node, e.logId.index);
      return res;
    },
    vote: (req) => h.vote(req),
    installFullSnapshot: (vote, meta, data) => h.installFullSnapshot(vote, meta, data),
    transferLeader: (req) => h.transferLeader(req),
    streamAppend(input, opts) {
      async function* tap(): AsyncGenerator<AppendEntriesRequest> {
        for await (const req of input) {
          received(req);
          yield req;
        }
      }
      const out = h.streamAppend(tap(), opts);
      return (async function* (): AsyncGenerator<StreamAppendResult> {
        let lastMarked = 0;
        for await (const r of out) {
          if (r.type === 'matched' && r.matching !== null) {
            for (let i = lastMarked + 1; i <= r.matching.index; i++) tl.mark(tl.replyAt, node, i);
            lastMarked = Math.max(lastMarked, r.matching.index);
          }
          yield r;
        }
      })();
    },
  };
}

interface Cluster {
  nodes: { id: string; raft: Raft<KvRequest, KvResponse>; close(): Promise<void> }[];
  tl: Timeline;
  dir: string;
}

async function startCluster(storeOptions: FileLogStoreOptions): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-kv-write-path-'));
  const tl = new Timeline();
  const ids = ['1', '2', '3'];
  const servers = ids.map((id) => ({ id, server: undefined as ReturnType<typeof tcpServer> | undefined }));
  const nodes: Cluster['nodes'] = [];
  const handlers = new Map<string, RaftRpcHandler>();
  for (const s of servers) {
    // The handler is only known once the node exists: delegate through a late-bound proxy.
    const late: RaftRpcHandler = {
      appendEntries: (r) => (handlers.get(s.id) as RaftRpcHandler).appendEntries(r),
      vote: (r) => (handlers.get(s.id) as RaftRpcHandler).vote(r),
      installFullSnapshot: (v, m, d) => (handlers.get(s.id) as RaftRpcHandler).installFullSnapshot(v, m, d),
      transferLeader: (r) => (handlers.get(s.id) as RaftRpcHandler).transferLeader(r),
      streamAppend: (i, o) => (handlers.get(s.id) as RaftRpcHandler).streamAppend(i, o),
    };
    s.server = tcpServer({ handler: late, clusterId: 'bench', nodeId: s.id });
  }
  const addrs: Record<NodeId, { addr: string }> = {};
  for (const s of servers) {
    const a = await (s.server as ReturnType<typeof tcpServer>).listen(0, '127.0.0.1');
    addrs[s.id] = { addr: `127.0.0.1:${a.port}` };
  }
  for (const s of servers) {
    const store = await fileLogStore(join(dir, s.id, 'log'), storeOptions);
    const sm = await openKvStateMachine(join(dir, s.id, 'snapshots'));
    const network = tcpNetwork({ clusterId: 'bench', nodeId: s.id });
    const raft = await Raft.create<KvRequest, KvResponse>({
      id: s.id,
      config: {
        heartbeatIntervalMs: 100,
        electionTimeoutMinMs: 1000,
        electionTimeoutMaxMs: 2000,
        clusterName: 'bench',
      },
      network,
      logStore: wrapStore(store, s.id, tl),
      stateMachine: wrapStateMachine(sm, s.id, tl),
    });
    handlers.set(s.id, wrapHandler(raft, s.id, tl));
    nodes.push({
      id: s.id,
      raft,
      close: async () => {
        await s.server?.close();
        await raft.shutdown();
        await network.close();
        await store.close();
      },
    });
  }
  await (nodes[0] as Cluster['nodes'][number]).raft.initialize(addrs);
  // Node 1 becomes leader once its vote round completes: retry the first write until then.
  for (let attempt = 0; ; attempt++) {
    try {
      await (nodes[0] as Cluster['nodes'][number]).raft.clientWrite({ Set: { key: 'warm', value: 'up' } });
      break;
    } catch (e) {
      if (attempt > 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { nodes, tl, dir };
}

async function stopCluster(c: Cluster): Promise<void> {
  for (const n of c.nodes) await n.close();
  await rm(c.dir, { recursive: true, force: true });
}

interface RunResult {
  writes: number;
  seconds: number;
  latencies: number[];
  stages: Record<Stage, number[]>;
}

/** `clients` loops writing through `clientWrite` on node 1 (the leader) for `ms` milliseconds. */
async function drive(c: Cluster, clients: number, ms: number): Promise<RunResult> {
  const leader = c.nodes[0] as Cluster['nodes'][number];
  const tl = c.tl;
  const latencies: number[] = [];
  const calls: { index: number; start: number; end: number }[] = [];
  tl.enabled = true;
  const t0 = performance.now();
  const until = t0 + ms;
  let seq = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const start = performance.now();
        const res = await leader.raft.clientWrite({ Set: { key: `k${seq % 1000}`, value: `v${seq++}` } });
        const end = performance.now();
        latencies.push(end - start);
        calls.push({ index: res.logId.index, start, end });
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  tl.enabled = false;
  const stages: Record<Stage, number[]> = {
    leaderAppend: [],
    leaderFlush: [],
    toFollower: [],
    followerFlush: [],
    followerReply: [],
    toApply: [],
    toReply: [],
  };
  const at = (t: Map<string, Map<number, number>>, node: string, i: number) => t.get(node)?.get(i);
  for (const call of calls) {
    const i = call.index;
    const app = at(tl.appendAt, '1', i);
    const fl = at(tl.flushAt, '1', i);
    const ap = at(tl.applyAt, '1', i);
    if (app !== undefined) stages.leaderAppend.push(app - call.start);
    if (app !== undefined && fl !== undefined) stages.leaderFlush.push(fl - app);
    if (ap !== undefined && app !== undefined) stages.toApply.push(ap - app);
    if (ap !== undefined) stages.toReply.push(call.end - ap);
    for (const f of ['2', '3']) {
      const rc = at(tl.receiveAt, f, i);
      const fa = at(tl.appendAt, f, i);
      const ff = at(tl.flushAt, f, i);
      const rp = at(tl.replyAt, f, i);
      if (rc !== undefined && app !== undefined) stages.toFollower.push(rc - app);
      if (fa !== undefined && ff !== undefined) stages.followerFlush.push(ff - fa);
      if (rc !== undefined && rp !== undefined) stages.followerReply.push(rp - rc);
    }
  }
  for (const t of [tl.appendAt, tl.flushAt, tl.receiveAt, tl.replyAt, tl.applyAt]) t.clear();
  return { writes: latencies.length, seconds, latencies, stages };
}

/**
 * The whole flotilla-kv node (`startKvNode`: HTTP and Raft on one port, its store options) three
 * times in this process, driven through `KvClient` over HTTP: what the HTTP layer adds.
 */
async function httpRun(clientCounts: readonly number[], ms: number): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-kv-write-path-http-'));
  const nodes: KvNode[] = [];
  const out: Record<string, number> = {};
  try {
    for (const id of ['1', '2', '3'])
      nodes.push(await startKvNode({ id, addr: '127.0.0.1:0', dir: join(dir, id) }));
    const addrs = nodes.map((n) => n.addr);
    const members: Record<NodeId, { addr: string }> = {};
    for (const [i, n] of nodes.entries()) members[String(i + 1)] = { addr: n.addr };
    await (nodes[0] as KvNode).raft.initialize(members);
    const seed = new KvClient(addrs);
    await seed.waitForLeader(30_000);
    await seed.write({ Set: { key: 'warm', value: 'up' } });
    for (const clients of clientCounts) {
      const latencies: number[] = [];
      const t0 = performance.now();
      const until = t0 + ms;
      await Promise.all(
        Array.from({ length: clients }, async (_, w) => {
          const c = new KvClient(addrs);
          let i = 0;
          while (performance.now() < until) {
            const start = performance.now();
            await c.write({ Set: { key: `k${w}-${i % 100}`, value: `v${i++}` } });
            latencies.push(performance.now() - start);
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const lat = summarize(latencies);
      out[`http.c${clients}.writesPerSec`] = Math.round(latencies.length / seconds);
      out[`http.c${clients}.p50Ms`] = round(lat.p50);
      out[`http.c${clients}.p99Ms`] = round(lat.p99);
    }
  } finally {
    for (const n of nodes) await n.close();
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

const round = (x: number) => Math.round(x * 100) / 100;

export const bench: Bench = {
  name: 'kv-write-path',
  description:
    'flotilla-kv writes over real TCP + file stores (3 nodes, one process) at 1 and 16 clients, with the time of each stage',
  async run(ctx) {
    const ms = ctx.size(8_000, 2_000, 200);
    ctx.params({
      nodes: 3,
      durationMs: ms,
      clients: '1,16',
      transport: 'tcp loopback',
      store: 'file (fdatasync)',
    });

    const variants: [string, FileLogStoreOptions][] = [
      ['durableCommit', {}],
      ['backgroundCommit', { committedFlushMs: KV_COMMITTED_FLUSH_MS }],
      ['noCommitSave', { persistCommitted: false }],
    ];
    const results: Record<string, number | string> = {};
    for (const [variant, storeOptions] of variants) {
      const cluster = await startCluster(storeOptions);
      try {
        for (const clients of [1, 16]) {
          const r = await drive(cluster, clients, ms);
          const lat = summarize(r.latencies);
          const k = `${variant}.c${clients}`;
          results[`${k}.writesPerSec`] = Math.round(r.writes / r.seconds);
          results[`${k}.p50Ms`] = round(lat.p50);
          results[`${k}.p99Ms`] = round(lat.p99);
          for (const [stage, xs] of Object.entries(r.stages)) {
            if (xs.length === 0) continue;
            const st = summarize(xs);
            results[`${k}.${stage}.p50Ms`] = round(st.p50);
            results[`${k}.${stage}.p99Ms`] = round(st.p99);
          }
        }
      } finally {
        await stopCluster(cluster);
      }
    }
    Object.assign(results, await httpRun([1, 16], ms));
    ctx.result(results);
    ctx.note(
      'http = three startKvNode nodes in this process written through KvClient (HTTP keep-alive, backgroundCommit store); variants: durableCommit = a durable meta write per saveCommitted (store default); backgroundCommit = committedFlushMs as flotilla-kv sets it (KV_COMMITTED_FLUSH_MS); noCommitSave = persistCommitted false (the floor)',
    );
    ctx.note('one process: the three nodes share one event loop; stage figures are per log index');
  },
};
