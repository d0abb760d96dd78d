/**
 * The run report: the JSON document written at the end of a run and the one-line summary that is
 * always the last line printed. Pure formatting: no I/O.
 */

import type { KvCapabilities } from './capabilities.ts';
import type { OpCounts } from './history.ts';
import type { FaultRecord } from './nemesis.ts';
import { FAULT_FAMILIES, type FaultFamily, type FaultStep } from './schedule.ts';
import type { Verdict } from './verdict.ts';

/** Faults of one family. */
export interface FamilyCount {
  /** Steps that injected the fault. */
  injected: number;
  /** Steps that could not be carried out. */
  failed: number;
  /** Steps skipped because the family is unavailable. */
  skipped: number;
  /** Why the family is unavailable (absent: available). */
  unavailable?: string;
  /** Injected steps per variant. */
  variants: Record<string, number>;
}

/** The JSON report of a run. */
export interface ChaosReport {
  readonly seed: number;
  readonly nodes: number;
  /** Requested workload seconds. */
  readonly durationS: number;
  /** Wall-clock seconds of the whole run (start of the cluster to the verdict). */
  readonly secondsRun: number;
  /** When the workload (and the faults) started, seconds after the run started (the processes' start-up before it). */
  readonly workloadStartS: number;
  readonly startedAt: string;
  readonly pass: boolean;
  readonly reasons: string[];
  readonly kv: KvCapabilities;
  /** Whether the run used a private network namespace. */
  readonly netns: boolean;
  /** How `/linearizable_read` confirmed leadership. */
  readonly readPolicy: 'readIndex' | 'lease';
  /** The bug planted in every node, if any. */
  readonly plantedBug?: string;
  readonly schedule: readonly FaultStep[];
  readonly faults: {
    /** Faults injected (all families). */
    readonly injected: number;
    readonly byFamily: Record<FaultFamily, FamilyCount>;
    readonly steps: readonly FaultRecord[];
  };
  readonly operations: {
    readonly total: number;
    readonly byKind: OpCounts;
    readonly unknown: number;
    readonly unknownShare: number;
  };
  /** Terms in which a leader was observed. */
  readonly elections: number;
  readonly leaders: Record<string, number>;
  readonly snapshots: { readonly seen: number; readonly transfersSeen: number };
  readonly recovery: {
    /** ms from the final heal to the first acknowledged write. */
    readonly firstWriteMs: number | null;
    /** ms from the final heal until every member applied the same last entry. */
    readonly convergedMs: number | null;
  };
  readonly linearizability: {
    readonly verdict: Verdict['history'];
    readonly checkedOperations: number;
    readonly steps: number;
    readonly ms: number;
    readonly explanation?: string;
  };
  readonly acknowledgedWrites: number;
  /** Acknowledged writes lost (must be 0), and the first 50 of them. */
  readonly lost: number;
  readonly lostWrites: Verdict['lost'];
  readonly unexplainedValues: Verdict['unexplained'];
  readonly stateMachinesIdentical: boolean;
  readonly divergentKeys: Verdict['divergent'];
  /** Members compared at the end, and keys read on each. */
  readonly finalMembers: number[];
  readonly finalKeys: number;
  readonly harnessErrors: string[];
  readonly files: { readonly dir: string; readonly history: string; readonly report: string };
}

/** Counts fault records by family. */
export function countFaults(
  records: readonly FaultRecord[],
  unavailable: Partial<Record<FaultFamily, string>>,
): Record<FaultFamily, FamilyCount> {
  const out = {} as Record<FaultFamily, FamilyCount>;
  for (const f of FAULT_FAMILIES) {
    const why = unavailable[f];
    out[f] = {
      injected: 0,
      failed: 0,
      skipped: 0,
      variants: {},
      ...(why === undefined ? {} : { unavailable: why }),
    };
  }
  for (const r of records) {
    const c = out[r.family];
    c[r.status === 'injected' ? 'injected' : r.status === 'failed' ? 'failed' : 'skipped']++;
    if (r.status === 'injected') c.variants[r.variant] = (c.variants[r.variant] ?? 0) + 1;
  }
  return out;
}

/**
 * The last line of a run, exactly:
 * `chaos: seed <N>, <S> s, <F> faults, <A> acknowledged writes, <L> lost, history <verdict> (<O> operations)`.
 * `S` is whole seconds run, `F` faults injected, `O` operations recorded.
 */
export function lastLine(
  r: Pick<
    ChaosReport,
    'seed' | 'secondsRun' | 'faults' | 'acknowledgedWrites' | 'lost' | 'linearizability' | 'operations'
  >,
): string {
  return (
    `chaos: seed ${r.seed}, ${Math.round(r.secondsRun)} s, ${r.faults.injected} faults, ` +
    `${r.acknowledgedWrites} acknowledged writes, ${r.lost} lost, ` +
    `history ${r.linearizability.verdict} (${r.operations.total} operations)`
  );
}

/** The human-readable summary printed before the last line. */
export function summary(r: ChaosReport): string[] {
  const lines: string[] = [];
  lines.push(
    `result: ${r.pass ? 'PASS' : 'FAIL'}${r.reasons.length > 0 ? ` — ${r.reasons.join('; ')}` : ''}`,
  );
  const fam = FAULT_FAMILIES.map((f) => {
    const c = r.faults.byFamily[f];
    if (c.unavailable !== undefined) return `${f}: unavailable`;
    return `${f}: ${c.injected}${c.failed > 0 ? ` (+${c.failed} failed)` : ''}`;
  });
  lines.push(`faults: ${fam.join(', ')}`);
  for (const f of FAULT_FAMILIES) {
    const why = r.faults.byFamily[f].unavailable;
    if (why !== undefined) lines.push(`  ${f} unavailable: ${why}`);
  }
  const k = r.operations.byKind;
  const kinds = (Object.keys(k) as (keyof typeof k)[]).map(
    (kind) => `${kind} ${k[kind].ok}/${k[kind].fail}/${k[kind].unknown}`,
  );
  lines.push(
    `operations (ok/fail/unknown): ${kinds.join(', ')}; unknown ${(r.operations.unknownShare * 100).toFixed(2)}%`,
  );
  lines.push(
    `elections observed: ${r.elections}; snapshots seen: ${r.snapshots.seen}, transfers seen: ${r.snapshots.transfersSeen}`,
  );
  lines.push(
    `recovery after the final heal: first write ${r.recovery.firstWriteMs ?? '—'} ms, converged ${r.recovery.convergedMs ?? '—'} ms`,
  );
  lines.push(
    `state machines: ${r.stateMachinesIdentical ? 'identical' : 'DIFFERENT'} on members [${r.finalMembers.join(', ')}] (${r.finalKeys} keys)`,
  );
  lines.push(`report: ${r.files.report}`);
  return lines;
}
