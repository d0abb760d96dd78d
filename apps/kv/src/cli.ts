import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RaftConfigInput } from '@flotilla/raft';
import { hasErrorCode } from '@flotilla/types';
import { formatDemoSummary, runDemo } from './demo.ts';
import { formatLoadResult, runLoad } from './load.ts';
import { LocalCluster } from './local-cluster.ts';
import { isKvTransport, KV_TRANSPORTS, type KvNodeOptions, readSecretFile, startKvNode } from './node.ts';
import { isLogLevel, lineLogger, type Out, stderr, stdout } from './terminal.ts';

/** What `flotilla-kv help` prints. */
export const USAGE = `flotilla-kv — a replicated key-value store on Flotilla (Raft)

Usage:
  flotilla-kv --id N --http-addr HOST:PORT [options]   run one node (HTTP + Raft on one port)
  flotilla-kv cluster --nodes 3 [--base-port P] [--dir D]
                                                      start a local cluster, print its addresses; Ctrl-C stops it
  flotilla-kv bench --clients N --duration S [--addrs A,B,C] [--read-ratio R] [--keys K]
                                                      drive load (starts a temp 3-node cluster without --addrs)
  flotilla-kv demo [--writes N] [--keep] [--transport grpc]
                                                      the failover demo: nothing acknowledged may be lost
  flotilla-kv help

Writes (POST /write) may carry an exactly-once session beside the operation:
  {"Append":{"key":"k","value":"x"},"client_id":"c1","sequence":1} (see README, "Client sessions")

Node options:
  --id N                 node id, a non-negative integer (required)
  --http-addr HOST:PORT  listen and advertised address (required; port 0 picks one)
  --bind HOST            bind this host instead (e.g. 0.0.0.0)
  --dir PATH             data directory (default ./data/<id>)
  --cluster-id ID        peers of another cluster are refused (default flotilla-kv)
  --secret-file F        shared secret Raft peers must prove they know; also guards the admin
                         routes (/init, /add-learner, /change-membership: Authorization: Bearer <it>)
  --admin-token-file F   bearer token of the admin routes instead of the secret
  --transport T          Raft transport: tcp (default) or grpc; HTTP and Raft share the port either way
  --local-address HOST   bind outgoing Raft connections to this IP (e.g. the node's own; tcp only)
  --read-policy P        /linearizable_read confirms leadership by readIndex (default: a heartbeat
                         round) or lease (none while the leader's lease is live)
  --heartbeat-ms MS      leader heartbeat (default 100)
  --election-min-ms MS   election timeout bounds (default 1000 .. 2000)
  --election-max-ms MS
  --snapshot-every N     build a snapshot every N applied entries (default 10000)
  --keep-logs N          entries kept in the log behind a snapshot (default 1000)
  --log-level L          debug | info | warn | error (default info)
`;

function intOpt(v: string | undefined, name: string, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} expects an integer >= ${min}, got "${v}"`);
  return n;
}

/** A command-line mistake: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/**
 * Environment variable set by `LocalCluster` on the nodes it spawns: the node then also stops when
 * its parent process is gone (even after a SIGKILL), so no orphaned node keeps running.
 */
export const EXIT_WITH_PARENT = 'FLOTILLA_KV_EXIT_WITH_PARENT';

/** Resolves once this process has been re-parented, i.e. its parent has died (polled twice a second). */
function parentGone(): Promise<string> {
  const parent = process.ppid;
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (process.ppid !== parent) {
        clearInterval(t);
        resolve('parent gone');
      }
    }, 500);
    t.unref();
  });
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** Components a caller of {@link serve} injects into the node (see `KvNodeOptions`). */
export type KvNodeInjection = Pick<KvNodeOptions, 'fileIO' | 'wrapRaft' | 'wrapHttp'>;

/**
 * Runs one node from its command line until SIGINT / SIGTERM (or its parent dies); resolves with
 * the exit code. `inject` hands components to the node (a test entry point uses it).
 */
export async function serve(
  argv: string[],
  out: Out,
  err: Out,
  inject: KvNodeInjection = {},
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      id: { type: 'string' },
      'http-addr': { type: 'string' },
      bind: { type: 'string' },
      dir: { type: 'string' },
      'cluster-id': { type: 'string' },
      'secret-file': { type: 'string' },
      'admin-token-file': { type: 'string' },
      transport: { type: 'string' },
      'local-address': { type: 'string' },
      'read-policy': { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      'election-min-ms': { type: 'string' },
      'election-max-ms': { type: 'string' },
      'snapshot-every': { type: 'string' },
      'keep-logs': { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
  });
  const id = intOpt(values.id, 'id');
  if (id === undefined) throw new UsageError('--id is required');
  const addr = values['http-addr'];
  if (addr === undefined) throw new UsageError('--http-addr is required');
  const level = values['log-level'] ?? 'info';
  if (!isLogLevel(level)) throw new UsageError(`--log-level: unknown level "${level}"`);
  const transport = values.transport ?? 'tcp';
  if (!isKvTransport(transport)) {
    throw new UsageError(`--transport expects one of ${KV_TRANSPORTS.join(', ')}, got "${transport}"`);
  }
  if (values['local-address'] !== undefined && transport !== 'tcp') {
    throw new UsageError('--local-address needs --transport tcp');
  }
  const readPolicy = values['read-policy'] ?? 'readIndex';
  if (readPolicy !== 'readIndex' && readPolicy !== 'lease') {
    throw new UsageError(`--read-policy expects readIndex or lease, got "${readPolicy}"`);
  }
  const config: RaftConfigInput = {};
  const hb = intOpt(values['heartbeat-ms'], 'heartbeat-ms', 1);
  if (hb !== undefined) config.heartbeatIntervalMs = hb;
  const emin = intOpt(values['election-min-ms'], 'election-min-ms', 1);
  if (emin !== undefined) config.electionTimeoutMinMs = emin;
  const emax = intOpt(values['election-max-ms'], 'election-max-ms', 1);
  if (emax !== undefined) config.electionTimeoutMaxMs = emax;
  const every = intOpt(values['snapshot-every'], 'snapshot-every', 1);
  if (every !== undefined) config.snapshotPolicy = { sinceLast: every };
  const keep = intOpt(values['keep-logs'], 'keep-logs', 0);
  if (keep !== undefined) config.maxInSnapshotLogToKeep = keep;
  const logger = lineLogger(err, level, `[node ${id}] `);
  const node = await startKvNode({
    id: String(id),
    addr,
    dir: values.dir ?? join('data', String(id)),
    ...(values.bind === undefined ? {} : { bindHost: values.bind }),
    ...(values['cluster-id'] === undefined ? {} : { clusterId: values['cluster-id'] }),
    ...(values['secret-file'] === undefined ? {} : { secret: await readSecretFile(values['secret-file']) }),
    ...(values['admin-token-file'] === undefined
      ? {}
      : { adminToken: await readSecretFile(values['admin-token-file'], 'admin-token-file') }),
    transport,
    ...(values['local-address'] === undefined ? {} : { localAddress: values['local-address'] }),
    readPolicy,
    config,
    logger,
    ...inject,
  });
  out.write(
    `flotilla-kv node ${id} serving on http://${node.addr}/ (HTTP API, dashboard and Raft over ${transport})\n`,
  );
  const why = await Promise.race([
    untilSignal(),
    ...(process.env[EXIT_WITH_PARENT] === '1' ? [parentGone()] : []),
  ]);
  logger.info('stopping', { reason: why });
  await node.close();
  return 0;
}

async function cluster(argv: string[], out: Out): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' },
      'base-port': { type: 'string' },
      dir: { type: 'string' },
    },
  });
  const n = intOpt(values.nodes, 'nodes', 1) ?? 3;
  const basePort = intOpt(values['base-port'], 'base-port', 1);
  const temp = values.dir === undefined;
  const dir = values.dir ?? (await mkdtemp(join(tmpdir(), 'flotilla-kv-cluster-')));
  out.write(`starting ${n} nodes (data and logs in ${dir})…\n`);
  const c = await LocalCluster.start({ nodes: n, dir, ...(basePort === undefined ? {} : { basePort }) });
  try {
    await c.initialize();
    const leader = await c.client().waitForLeader(30_000);
    for (const [id, addr] of c.addrs)
      out.write(`  node ${id}  http://${addr}/${id === leader.id ? '  (leader)' : ''}\n`);
    out.write(`dashboard: http://${leader.addr}/\n`);
    out.write(
      `try: curl -s ${leader.addr}/write -H 'content-type: application/json' -d '{"Set":{"key":"foo","value":"bar"}}'\n`,
    );
    out.write('Ctrl-C stops the cluster.\n');
    await untilSignal();
  } finally {
    out.write('stopping…\n');
    await c.stop();
    if (temp) await rm(dir, { recursive: true, force: true });
  }
  return 0;
}

async function bench(argv: string[], out: Out, err: Out): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string' },
      duration: { type: 'string' },
      addrs: { type: 'string' },
      'read-ratio': { type: 'string' },
      keys: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const clients = intOpt(values.clients, 'clients', 1) ?? 16;
  const durationS = intOpt(values.duration, 'duration', 1) ?? 10;
  const keySpace = intOpt(values.keys, 'keys', 1) ?? 10_000;
  const readRatio = Number(values['read-ratio'] ?? '0');
  if (!(readRatio >= 0 && readRatio <= 1)) throw new UsageError('--read-ratio expects a number in [0, 1]');
  let c: LocalCluster | undefined;
  let dir: string | undefined;
  let addrs = values.addrs?.split(',').filter((a) => a !== '');
  try {
    if (addrs === undefined || addrs.length === 0) {
      dir = await mkdtemp(join(tmpdir(), 'flotilla-kv-bench-'));
      err.write(`no --addrs: starting a temporary 3-node cluster in ${dir}\n`);
      c = await LocalCluster.start({ nodes: 3, dir });
      await c.initialize();
      addrs = [...c.addrs.values()];
    }
    const r = await runLoad({ addrs, clients, durationS, readRatio, keySpace, out: err });
    out.write(values.json ? `${JSON.stringify(r)}\n` : `${formatLoadResult(r)}\n`);
  } finally {
    await c?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
  return 0;
}

async function demo(argv: string[], out: Out): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { writes: { type: 'string' }, keep: { type: 'boolean' }, transport: { type: 'string' } },
  });
  const total = intOpt(values.writes, 'writes', 2) ?? 3000;
  const transport = values.transport ?? 'tcp';
  if (!isKvTransport(transport)) {
    throw new UsageError(`--transport expects one of ${KV_TRANSPORTS.join(', ')}, got "${transport}"`);
  }
  const s = await runDemo({
    out,
    writesBefore: Math.ceil((total * 2) / 3),
    writesAfter: Math.floor(total / 3),
    keep: values.keep === true,
    ...(transport === 'tcp' ? {} : { nodeArgs: ['--transport', transport] }),
  });
  out.write(`${formatDemoSummary(s)}\n`);
  return s.lost === 0 && s.acked > 0 ? 0 : 1;
}

/** Runs the command line `argv` (without `node` and the script); resolves with the exit code. */
export async function main(argv: string[], out: Out = stdout, err: Out = stderr): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'cluster':
        return await cluster(rest, out);
      case 'bench':
        return await bench(rest, out, err);
      case 'demo':
        return await demo(rest, out);
      case 'help':
      case '--help':
      case '-h':
      case undefined:
        out.write(USAGE);
        return cmd === undefined ? 2 : 0;
      case 'serve':
        return await serve(rest, out, err);
      default:
        if (cmd.startsWith('--')) return await serve(argv, out, err);
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    return reportFailure(e, err);
  }
}

/**
 * Prints why a command failed and returns its exit code: 2 with the usage for a command-line
 * mistake, 1 otherwise (with the error's code when it has one).
 */
export function reportFailure(e: unknown, err: Out): number {
  if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    err.write(`error: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const code = hasErrorCode(e) ? ` [${e.code}]` : '';
  err.write(`error${code}: ${e instanceof Error ? e.message : String(e)}\n`);
  return 1;
}
