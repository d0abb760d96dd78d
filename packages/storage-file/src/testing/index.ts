/**
 * `@flotilla/storage-file/testing`: test doubles for crash and fault tests of code that stores
 * through a `FileIO` (this package's stores, or your own). Nothing here is needed in
 * production, and nothing in the main entry depends on it.
 *
 * @example
 * ```ts
 * import { fileLogStore } from '@flotilla/storage-file';
 * import { CrashFileIO } from '@flotilla/storage-file/testing';
 *
 * const io = new CrashFileIO();
 * const store = await fileLogStore('/db', { io });
 * await store.saveVote({ term: 1, nodeId: 'a', committed: false });
 * const rebooted = io.crash('loseUnsynced'); // what a machine finds after power loss
 * const again = await fileLogStore('/db', { io: rebooted });
 * ```
 *
 * @packageDocumentation
 */
export { CrashFileIO, type CrashVariant, type FaultOp } from './crash-file-io.ts';
