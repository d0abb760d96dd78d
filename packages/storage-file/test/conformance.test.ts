import { logStorageSuite } from '@flotilla/testkit';
import type { RaftLogStorage } from '@flotilla/types';
import { afterAll } from 'vitest';
import { nodeFileIO } from '../src/file-io.ts';
import { type FileLogStore, fileLogStore } from '../src/index.ts';
import { CrashFileIO } from '../src/testing/index.ts';
import { GatedIO } from './gated-io.ts';
import { tempDir } from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

// Small segments and cache so that reads, truncates and purges cross segment boundaries and disk.
const SMALL = { segmentBytes: 160, cacheEntries: 3 };

// One gate per directory, shared by every store re-opened on it.
const gates = new Map<string, GatedIO>();
const current = new Map<string, FileLogStore>();
const dirs = new WeakMap<RaftLogStorage, string>();

async function open(dir: string): Promise<FileLogStore> {
  let gate = gates.get(dir);
  if (gate === undefined) {
    gate = new GatedIO(nodeFileIO);
    gates.set(dir, gate);
  }
  const s = await fileLogStore(dir, { ...SMALL, io: gate.io });
  dirs.set(s, dir);
  current.set(dir, s);
  return s;
}

const flushControl = (store: RaftLogStorage) => {
  const dir = dirs.get(store) as string;
  const g = gates.get(dir) as GatedIO;
  return {
    hold: () => g.hold(),
    release: async () => {
      g.release();
      await current.get(dir)?.sync();
    },
  };
};

const setup = async () => {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return open(t.dir);
};
const teardown = async (s: RaftLogStorage) => {
  gates.get(dirs.get(s) as string)?.release();
  await s.close?.();
};

logStorageSuite('fileLogStore', { setup, teardown, flushControl });

logStorageSuite('fileLogStore re-opened after every durable point', {
  setup,
  teardown,
  flushControl,
  reopen: async (s) => {
    await s.close?.();
    return open(dirs.get(s) as string);
  },
});

// Re-opened as after a power cut: every unsynced byte is dropped and the old handle is abandoned.
const crashIos = new WeakMap<RaftLogStorage, CrashFileIO>();
async function openCrash(io: CrashFileIO): Promise<FileLogStore> {
  const s = await fileLogStore('/store', { ...SMALL, io });
  crashIos.set(s, io);
  return s;
}
logStorageSuite('fileLogStore on CrashFileIO, crashed and re-opened at every durable point', {
  setup: () => openCrash(new CrashFileIO()),
  reopen: async (s) => {
    const io = crashIos.get(s) as CrashFileIO;
    io.crashAfter = io.mutations;
    return openCrash(io.crash('loseUnsynced'));
  },
});
