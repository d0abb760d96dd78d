/**
 * One chaos run, start to verdict: start the kv processes and initialize the cluster, run the
 * workload and the fault schedule for the duration, heal everything, measure recovery, wait for
 * convergence, read every key on every member, compute the verdict and write the report and the
 * history. Owns the order of these phases; the parts live in their own modules.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlantedBug } from './bugs.ts';
import { detectCapabilities, type KvCapabilities, TEST_BIN_PATH } from './capabilities.ts';
import { countOps, HistoryRecorder, type RecordedOp } from './history.ts';
import { httpCall, isObject } from './http.ts';
import { fetchMetrics, Monitor } from './monitor.ts';
import { Nemesis } from './nemesis.ts';
import { Cuts, checkOutgoingSources, ensureIptables, inPrivateNetns } from './netns.ts';
import { KvProcesses, sleep } from './processes.ts';
import { type ChaosReport, countFaults } from './report.ts';
import { FAULT_FAMILIES, type FaultFamily, generateSchedule } from './schedule.ts';
import { computeVerdict, type FinalStates } from './verdict.ts';
import { Workload } from './workload.ts';

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  readonly seed: number;
  /** Seconds of workload and faults. */
  readonly durationS: number;
  /** Voters (default 3). */
  readonly nodes?: number;
  /** Fault families to schedule (default: all). */
  readonly families?: readonly FaultFamily[];
  /** Where data, logs, history and report go (default: a fresh temp dir). */
  readonly dir?: string;
  /** Keep the nodes' data dirs after a passing run. */
  readonly keep?: boolean;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** The checker's time budget, ms. */
  readonly checkMaxMs?: number;
  /** kv capabilities (default: detected from `flotilla-kv help`). */
  readonly capabilities?: KvCapabilities;
  /** How `/linearizable_read` confirms leadership (`--read-policy`; default kv's, `readIndex`). */
  readonly readPolicy?: 'readIndex' | 'lease';
  /** A bug planted in every node (kv's test mode; see README, "Planted bugs"). */
  readonly plantBug?: PlantedBug;
  /** Snapshot every this many entries (default 500). */
  readonly snapshotEvery?: number;
  /** How long to wait for convergence after the final heal, ms (default 60 000). */
  readonly convergeTimeoutMs?: number;
  /** Send each read to a random live node instead of the worker's current one. */
  readonly readAnyNode?: boolean;
  /**
   * A scripted fault schedule instead of the seeded one (planted-bug runs): runs once the workload
   * runs; the run ends `durationS` after the start or when the script ends, whichever is later.
   */
  readonly script?: (s: ScriptContext) => Promise<void>;
}

/** What a scripted fault schedule works with. */
export interface ScriptContext {
  readonly procs: KvProcesses;
  readonly monitor: Monitor;
  readonly nemesis: Nemesis;
  /** Operations recorded so far. */
  readonly recorder: HistoryRecorder;
  /** ms since the workload started. */
  readonly now: () => number;
  readonly log: (line: string) => void;
}

/** Runs one chaos run and returns its report (also written to `<dir>/report.json`). */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const log = o.log ?? (() => {});
  const n = o.nodes ?? 3;
  const families = o.families ?? FAULT_FAMILIES;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), `flotilla-chaos-${o.seed}-`)));
  await mkdir(dir, { recursive: true });
  const caps = o.capabilities ?? (await detectCapabilities());
  const netns = inPrivateNetns();

  const unavailable: Partial<Record<FaultFamily, string>> = {};
  if (!netns)
    unavailable.partition = 'not in a private network namespace (needs root and unshare; see README)';
  else if (!caps.localAddress) {
    unavailable.partition =
      'kv nodes cannot bind their outgoing sockets to their own address (kv needs --local-address; see README)';
  } else {
    const why = await ensureIptables(log);
    if (why !== undefined) unavailable.partition = why;
  }
  if (!caps.volatileFileIo) {
    unavailable.disk =
      'kv has no volatile FileIO layer nor test routes for power loss and failed fsync (see README)';
  }
  for (const f of FAULT_FAMILIES) if (!families.includes(f)) delete unavailable[f];
  const bindOutgoing = netns && caps.localAddress;
  if (o.plantBug !== undefined && !caps.plantedBugs) throw new Error('kv has no planted bugs (test mode)');
  if (o.readPolicy === 'lease' && !caps.leaseReads) throw new Error('kv has no --read-policy');
  // kv's test entry (the real node with volatile files, and the planted bug) when disk faults or a
  // planted bug need it; the production binary otherwise.
  const testMode =
    o.plantBug !== undefined || (families.includes('disk') && unavailable.disk === undefined) || false;
  const prefixArgs = testMode
    ? [
        '--test-mode',
        ...(caps.volatileFileIo ? ['--file-io', 'volatile'] : []),
        ...(o.plantBug === undefined ? [] : ['--plant-bug', o.plantBug]),
      ]
    : [];

  const schedule =
    o.script === undefined ? generateSchedule({ seed: o.seed, durationS: o.durationS, families }) : [];
  const procs = new KvProcesses({
    dir,
    ...(testMode ? { bin: TEST_BIN_PATH, prefixArgs } : {}),
    nodeArgs: (node) => [
      '--snapshot-every',
      String(o.snapshotEvery ?? 500),
      '--keep-logs',
      '100',
      ...(bindOutgoing ? ['--local-address', node.host] : []),
      ...(o.readPolicy === undefined ? [] : ['--read-policy', o.readPolicy]),
    ],
  });
  const monitor = new Monitor(procs);
  const harnessErrors: string[] = [];
  let t0 = performance.now();
  const now = () => performance.now() - t0;
  const recorder = new HistoryRecorder(now);
  let workload: Workload | undefined;
  const cuts = unavailable.partition === undefined && families.includes('partition') ? new Cuts() : undefined;
  const nemesis = new Nemesis({
    procs,
    monitor,
    schedule,
    unavailable,
    ...(cuts === undefined ? {} : { cuts }),
    now,
    log,
  });

  let firstWriteMs: number | null = null;
  let convergedMs: number | null = null;
  let converged = false;
  const final: FinalStates = {};
  let finalMembers: number[] = [];
  try {
    log(
      `seed ${o.seed}: starting ${n} flotilla-kv nodes in ${dir}${netns ? ' (private network namespace)' : ''}`,
    );
    for (let id = 1; id <= n; id++) await procs.add(id);
    await Promise.all([...procs.nodes.keys()].map((id) => procs.start(id)));
    const init = await httpCall(
      procs.get(1).addr,
      '/init',
      [...procs.nodes.values()].map((x) => [x.id, x.addr]),
      30_000,
    );
    if (!(init.type === 'reply' && isObject(init.body) && 'Ok' in init.body)) {
      throw new Error(`init failed: ${JSON.stringify(init)}`);
    }
    if ((await monitor.leader(30_000)) === undefined) throw new Error('no leader within 30 s of init');
    if (bindOutgoing) {
      // Prove the nodes' Raft connections leave from their own addresses, or cuts match nothing.
      await sleep(1000);
      const pids = [...procs.nodes.values()].map((x) => ({
        pid: procs.pid(x.id) ?? 0,
        host: x.host,
        port: x.port,
      }));
      const check = await checkOutgoingSources(pids);
      if (check.seen === 0 || check.wrong.length > 0) {
        harnessErrors.push(
          `kv claims --local-address but peer connections do not leave from node addresses: ${check.seen} seen, ${check.wrong.join('; ')}`,
        );
      }
    }
    monitor.start();
    t0 = performance.now();
    workload = new Workload({
      seed: o.seed,
      procs,
      recorder,
      sessions: caps.sessions,
      ...(o.readAnyNode === true ? { readAnyNode: true } : {}),
    });
    workload.start();
    log(
      `workload running for ${o.durationS} s; ${o.script === undefined ? `${schedule.length} faults scheduled` : 'scripted faults'}`,
    );
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), o.durationS * 1000);
    if (o.script === undefined) await nemesis.run(stop.signal);
    else await o.script({ procs, monitor, nemesis, recorder, now, log });
    await new Promise<void>((r) => {
      if (stop.signal.aborted) r();
      else stop.signal.addEventListener('abort', () => r());
    });
    clearTimeout(timer);
    await nemesis.healAll();
    const healMs = now();
    log('final heal done; waiting for the first acknowledged write');
    const deadline = Date.now() + 30_000;
    while (firstWriteMs === null && Date.now() < deadline) {
      const w = recorder.ops.find(
        (op) => op.outcome === 'ok' && op.kind !== 'read' && op.completeMs !== null && op.invokeMs >= healMs,
      );
      if (w?.completeMs != null) firstWriteMs = Math.round(w.completeMs - healMs);
      else await sleep(50);
    }
    await workload.stop();
    recorder.closeInFlight();

    // Convergence: every member has applied the leader's last log entry.
    const convergeMs = o.convergeTimeoutMs ?? 60_000;
    const cdeadline = Date.now() + convergeMs;
    while (!converged && Date.now() < cdeadline) {
      const leader = await monitor.leader(5000);
      if (leader !== undefined) {
        finalMembers = leader.members;
        const ms = await Promise.all(
          finalMembers.map((id) => {
            const x = procs.nodes.get(id);
            return x === undefined ? Promise.resolve(undefined) : fetchMetrics(x.addr, 2000);
          }),
        );
        converged = ms.every(
          (m) => m !== undefined && m.lastApplied !== null && m.lastApplied === leader.lastLogIndex,
        );
      }
      if (!converged) await sleep(200);
    }
    convergedMs = converged ? Math.round(now() - healMs) : null;
    log(
      converged
        ? `converged ${convergedMs} ms after the final heal`
        : `did NOT converge within ${convergeMs / 1000} s`,
    );

    // Nodes outside the final membership (a replacement whose change did not complete) are stopped.
    for (const x of procs.nodes.values()) {
      if (!finalMembers.includes(x.id) && x.proc !== undefined) {
        await procs.signal(x.id, 'SIGTERM');
        x.state = 'removed';
      }
    }
    const keys = [...(workload?.keys ?? [])];
    for (const id of finalMembers) {
      const x = procs.nodes.get(id);
      if (x === undefined) continue;
      const state: Record<string, string | null> = {};
      for (let i = 0; i < keys.length; i += 16) {
        await Promise.all(
          keys.slice(i, i + 16).map(async (k) => {
            const r = await httpCall(x.addr, '/read', k, 5000);
            if (r.type === 'reply' && isObject(r.body) && typeof r.body.Ok === 'string') {
              state[k] = r.body.Ok === '' ? null : r.body.Ok;
            } else {
              harnessErrors.push(`final read of ${JSON.stringify(k)} on node ${id} failed`);
            }
          }),
        );
      }
      final[String(id)] = state;
    }
  } catch (e) {
    harnessErrors.push(`run aborted: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await workload?.stop();
    recorder.closeInFlight();
    await monitor.stop();
    await procs.stopAll();
  }

  const ops: readonly RecordedOp[] = recorder.ops;
  const verdict = computeVerdict({
    ops,
    final,
    finalAtMs: now() + 1,
    harnessErrors: [...harnessErrors, ...nemesis.harnessErrors],
    converged,
    ...(o.checkMaxMs === undefined ? {} : { checkMaxMs: o.checkMaxMs }),
  });
  const byFamily = countFaults(nemesis.records, unavailable);
  const historyPath = join(dir, 'history.jsonl');
  const reportPath = join(dir, 'report.json');
  const report: ChaosReport = {
    seed: o.seed,
    nodes: n,
    durationS: o.durationS,
    secondsRun: Math.round((performance.now() - started) / 100) / 10,
    workloadStartS: Math.round((t0 - started) / 100) / 10,
    startedAt,
    pass: verdict.pass,
    reasons: verdict.reasons,
    kv: caps,
    netns,
    readPolicy: o.readPolicy ?? 'readIndex',
    ...(o.plantBug === undefined ? {} : { plantedBug: o.plantBug }),
    schedule,
    faults: {
      injected: nemesis.records.filter((r) => r.status === 'injected').length,
      byFamily,
      steps: nemesis.records,
    },
    operations: {
      total: ops.length,
      byKind: countOps(ops),
      unknown: verdict.unknown,
      unknownShare: verdict.unknownShare,
    },
    elections: monitor.leaders.size,
    leaders: Object.fromEntries([...monitor.leaders].map(([t, id]) => [String(t), id])),
    snapshots: { seen: monitor.snapshots.size, transfersSeen: monitor.snapshotTransfers },
    recovery: { firstWriteMs, convergedMs },
    linearizability: {
      verdict: verdict.history,
      checkedOperations: verdict.checkedOperations,
      steps: verdict.checkSteps,
      ms: verdict.checkMs,
      ...(verdict.explanation === undefined ? {} : { explanation: verdict.explanation }),
    },
    acknowledgedWrites: verdict.acknowledgedWrites,
    lost: verdict.lost.length,
    lostWrites: verdict.lost.slice(0, 50),
    unexplainedValues: verdict.unexplained.slice(0, 50),
    stateMachinesIdentical: verdict.stateMachinesIdentical,
    divergentKeys: verdict.divergent.slice(0, 50),
    finalMembers,
    finalKeys: Object.values(final)[0] === undefined ? 0 : Object.keys(Object.values(final)[0] ?? {}).length,
    harnessErrors: [...harnessErrors, ...nemesis.harnessErrors],
    files: { dir, history: historyPath, report: reportPath },
  };
  await writeFile(historyPath, `${ops.map((op) => JSON.stringify(op)).join('\n')}\n`);
  await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  if (report.pass && o.keep !== true) await rm(join(dir, 'data'), { recursive: true, force: true });
  return report;
}
