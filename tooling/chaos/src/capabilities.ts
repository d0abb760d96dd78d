/**
 * What the flotilla-kv build under test supports, read from `flotilla-kv help`: the harness turns
 * fault kinds and workload features on only when kv offers them (see README, "kv changes this
 * harness needs"), and reports the rest as unavailable — never as passed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { BIN_PATH } from 'flotilla-kv';

const run = promisify(execFile);

/**
 * kv's test-mode entry point (`apps/kv/test/bin/flotilla-kv-test`, beside its `bin/`): the real
 * node with test components (volatile files, planted bugs). Found by path, never imported: it is
 * kv's test code, not part of its public entry.
 */
export const TEST_BIN_PATH: string = join(dirname(BIN_PATH), '..', 'test', 'bin', 'flotilla-kv-test');

/** kv features the harness can use. */
export interface KvCapabilities {
  /** `--local-address HOST`: the transport binds outgoing sockets to HOST (needed for partitions). */
  readonly localAddress: boolean;
  /** `--snapshot-every` / `--keep-logs`: snapshot policy flags. */
  readonly snapshotFlags: boolean;
  /** `--file-io volatile`: unsynced writes in a volatile layer, `POST /test/power-loss`, `/test/fail-fsync`. */
  readonly volatileFileIo: boolean;
  /** `client_id` / `sequence` on `/write` (exactly-once sessions) and `Append`. */
  readonly sessions: boolean;
  /** `--test-mode` with planted bugs (`--plant-bug NAME`). */
  readonly plantedBugs: boolean;
  /** `--read-policy lease` for `/linearizable_read`. */
  readonly leaseReads: boolean;
}

/**
 * Reads the capabilities from a `help` text, and the test-only ones from the test entry's help
 * (`testHelp`, empty when kv has none; the production help never lists them).
 */
export function parseCapabilities(help: string, testHelp = ''): KvCapabilities {
  return {
    localAddress: help.includes('--local-address'),
    snapshotFlags: help.includes('--snapshot-every') && help.includes('--keep-logs'),
    volatileFileIo: testHelp.includes('--test-mode') && testHelp.includes('--file-io'),
    sessions: help.includes('client_id'),
    plantedBugs: testHelp.includes('--test-mode') && testHelp.includes('--plant-bug'),
    leaseReads: help.includes('--read-policy'),
  };
}

/** Runs `flotilla-kv help` (and the test entry's `help`) and reads the capabilities from them. */
export async function detectCapabilities(): Promise<KvCapabilities> {
  const { stdout } = await run(process.execPath, [BIN_PATH, 'help'], { timeout: 60_000 });
  let testHelp = '';
  if (existsSync(TEST_BIN_PATH)) {
    testHelp = (await run(process.execPath, [TEST_BIN_PATH, 'help'], { timeout: 60_000 })).stdout;
  }
  return parseCapabilities(stdout, testHelp);
}
