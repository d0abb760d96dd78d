/**
 * @packageDocumentation
 * `@flotilla/storage-file`: a durable, crash-safe Raft log store in a directory of checksummed
 * segment files, with group commit (one write and one `fdatasync` per batch), an atomic vote/meta
 * file, a compact in-memory index with a tail cache, verified recovery and an exclusive lock; plus a
 * file-backed snapshot store for state machines. All file access goes through {@link @flotilla/storage-file#FileIO}, so
 * tests can inject crashes and I/O errors: `@flotilla/storage-file/testing` ships `CrashFileIO`, an
 * in-memory file system that simulates power loss.
 *
 * @example
 * ```ts
 * import { fileLogStore, fileSnapshotStore } from '@flotilla/storage-file';
 *
 * const logStore = await fileLogStore('/var/lib/kv/log', { segmentBytes: 64 << 20 });
 * console.log(logStore.recovery); // segments, entries, torn tail cut (if any)
 * await logStore.saveVote({ term: 1, nodeId: 'a', committed: false });
 * await logStore.append([{ logId: { term: 1, index: 0 }, payload: { type: 'blank' } }], (err) => {
 *   if (err === undefined) console.log('durable');
 * });
 * const snapshots = await fileSnapshotStore('/var/lib/kv/snapshots', { keep: 2 });
 * await logStore.close();
 * ```
 */
export { errnoOf, StoreOpenError, StoreOpenErrorCode } from './errors.ts';
export type { FileHandleIO, FileIO, OpenMode } from './file-io.ts';
export { nodeFileIO } from './file-io.ts';
export { FileLogStore } from './log-store.ts';
export { fileLogStore } from './open-store.ts';
export type { FileLogStoreOptions, FileLogStoreStats } from './options.ts';
export type { RecoverySummary, TornTail } from './recovery.ts';
export {
  FileSnapshotStore,
  type FileSnapshotStoreOptions,
  fileSnapshotStore,
  type StoredSnapshot,
} from './snapshot-store.ts';
export { FileStateMachine, type FileStateMachineOptions, fileStateMachine } from './state-machine.ts';
