/**
 * @packageDocumentation
 * The multi-process chaos harness of flotilla-kv (private): real processes over real TCP with real
 * files, seeded faults (kill -9, SIGSTOP/SIGCONT, iptables partitions in a private network namespace,
 * membership changes, disk faults through kv's test mode), a recorded client history checked for linearizability, acknowledged writes
 * counted, state machines compared. `pnpm chaos --duration 60 --seed 7` runs it; see README.md.
 */
export * from './capabilities.ts';
export * from './history.ts';
export * from './model.ts';
export * from './planted.ts';
export * from './report.ts';
export * from './run.ts';
export * from './schedule.ts';
export * from './verdict.ts';
