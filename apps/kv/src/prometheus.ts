import { type RaftMetrics, type ServerState, systemClock } from '@flotilla/types';
import type { LoopDelaySnapshot } from './loop-delay.ts';

/** Counters the HTTP layer keeps, exported next to the Raft metrics. */
export interface KvCounters {
  /** HTTP requests served, by route and status code. */
  requests: Map<string, number>;
  /** Writes acknowledged to clients. */
  writesOk: number;
  /** Writes that failed (any error). */
  writesFailed: number;
  /** Reads served (local and linearizable). */
  reads: number;
}

/** Fresh zeroed counters. */
export function newCounters(): KvCounters {
  return { requests: new Map(), writesOk: 0, writesFailed: 0, reads: 0 };
}

const STATES: readonly ServerState[] = ['Leader', 'Candidate', 'Follower', 'Learner', 'Shutdown'];

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * Renders metrics in the Prometheus text exposition format (version 0.0.4). Every series carries a
 * `node` label; missing log ids are reported as -1.
 */
export function prometheusText(
  m: RaftMetrics,
  counters: KvCounters,
  keys: number,
  loop?: LoopDelaySnapshot,
): string {
  const node = `node="${esc(m.id)}"`;
  const lines: string[] = [];
  const gauge = (name: string, help: string, series: [string, number][]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, v] of series) lines.push(`${name}{${labels}} ${v}`);
  };
  const counter = (name: string, help: string, series: [string, number][]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const [labels, v] of series) lines.push(`${name}{${labels}} ${v}`);
  };
  const idx = (l: { index: number } | null): number => (l === null ? -1 : l.index);
  gauge('flotilla_current_term', 'Current Raft term.', [[node, m.currentTerm]]);
  gauge(
    'flotilla_state',
    'Server state (1 for the current one).',
    STATES.map((s) => [`${node},state="${s}"`, m.state === s ? 1 : 0]),
  );
  gauge('flotilla_is_leader', '1 when this node is the leader.', [[node, m.state === 'Leader' ? 1 : 0]]);
  gauge('flotilla_last_log_index', 'Index of the last log entry (-1: empty).', [
    [node, m.lastLogIndex ?? -1],
  ]);
  gauge('flotilla_committed_index', 'Last committed index known (-1: none).', [[node, idx(m.committed)]]);
  gauge('flotilla_applied_index', 'Last applied index (-1: none).', [[node, idx(m.lastApplied)]]);
  gauge('flotilla_snapshot_index', 'Last index covered by the snapshot (-1: none).', [
    [node, idx(m.snapshot)],
  ]);
  gauge('flotilla_purged_index', 'Last purged index (-1: none).', [[node, idx(m.purged)]]);
  if (m.replication !== null) {
    gauge(
      'flotilla_replication_matching_index',
      'Leader only: last index known to match on each target (-1: unknown).',
      Object.entries(m.replication).map(([t, r]) => [
        `${node},target="${esc(t)}",mode="${r.mode}"`,
        idx(r.matching),
      ]),
    );
  }
  if (m.replication !== null) {
    const now = systemClock.now();
    gauge(
      'flotilla_replication_millis_since_ack',
      'Leader only: ms since each target last acknowledged a heartbeat or an append.',
      Object.entries(m.replication).flatMap(([t, r]) =>
        r.lastAcked === null
          ? []
          : [[`${node},target="${esc(t)}"`, Math.max(0, Math.round(now - r.lastAcked))]],
      ),
    );
  }
  if (m.millisSinceQuorumAck !== null) {
    gauge('flotilla_millis_since_quorum_ack', 'Leader only: ms since a quorum acknowledged.', [
      [node, m.millisSinceQuorumAck],
    ]);
  }
  gauge('flotilla_kv_keys', 'Keys in the local state machine.', [[node, keys]]);
  counter('flotilla_kv_writes_total', 'Writes answered, by outcome.', [
    [`${node},outcome="ok"`, counters.writesOk],
    [`${node},outcome="error"`, counters.writesFailed],
  ]);
  counter('flotilla_kv_reads_total', 'Reads served.', [[node, counters.reads]]);
  counter(
    'flotilla_kv_http_requests_total',
    'HTTP requests, by route and status.',
    [...counters.requests].map(([k, v]) => {
      const [route, status] = k.split(' ');
      return [`${node},route="${esc(route ?? '')}",status="${status ?? ''}"`, v];
    }),
  );
  if (loop !== undefined) {
    const name = 'flotilla_kv_event_loop_delay_seconds';
    lines.push(
      `# HELP ${name} Event-loop delay since the node started or its last POST /metrics/event-loop/reset.`,
      `# TYPE ${name} summary`,
      `${name}{${node},quantile="0.5"} ${loop.p50Ms / 1000}`,
      `${name}{${node},quantile="0.99"} ${loop.p99Ms / 1000}`,
      `${name}_count{${node}} ${loop.count}`,
    );
    gauge('flotilla_kv_event_loop_delay_max_seconds', 'Largest event-loop delay in the same window.', [
      [node, loop.maxMs / 1000],
    ]);
  }
  return `${lines.join('\n')}\n`;
}
