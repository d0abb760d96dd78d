/**
 * The test-mode entry point of flotilla-kv (`test/bin/flotilla-kv-test`): runs the real node with
 * components injected through its generic options (`fileIO`, `wrapRaft`, `wrapHttp`), for the
 * chaos harness's disk faults and planted bugs. Nothing here is part of what kv builds for use:
 * the production binary does not know these flags, and this entry refuses to run without
 * `--test-mode`.
 */
import type http from 'node:http';
import type { ApplyWriteOptions, ClientWriteResponse, RaftApi } from '@flotilla/raft';
import { type KvNodeInjection, reportFailure, serve, USAGE } from '../src/cli.ts';
import type { KvReader } from '../src/http-api.ts';
import { type KvRequest, type KvResponse, KvState } from '../src/kv-state.ts';
import { type Out, stderr, stdout } from '../src/terminal.ts';
import { VolatileFileIO } from './volatile-file-io.ts';

/** The planted bugs. */
export const PLANTED_BUGS = ['ack-before-commit', 'follower-local-read', 'skip-fsync'] as const;
/** A planted bug. */
export type PlantedBug = (typeof PLANTED_BUGS)[number];

/** What `flotilla-kv-test help` adds to the usage. */
export const TEST_USAGE = `flotilla-kv-test — flotilla-kv in TEST MODE (never for use): the real node with test components

Usage:
  flotilla-kv-test --test-mode [test options] --id N --http-addr HOST:PORT [node options]
  flotilla-kv-test help

Test options (refused without --test-mode):
  --test-mode            required: this entry point runs nothing without it
  --file-io volatile     log and snapshot files on a FileIO whose unsynced writes are volatile; adds
                         POST /test/power-loss (drop them, end the process at once) and
                         POST /test/fail-fsync (the next fsync fails with EIO: the node must stop)
  --plant-bug NAME       plant a bug (repeatable): ${PLANTED_BUGS.join(', ')}
                         ack-before-commit: a write is answered once the
                         leader appended it, with the reply guessed from its local state
                         follower-local-read: /linearizable_read serves local state on any node
                         skip-fsync: log segments are never fsynced, so AppendEntries (and the
                         leader's own flush) are answered before the entries are durable
                         (needs --file-io volatile for a power loss to show it)
  GET /test/info         the test components this node runs with

`;

/** Splits the test options off `argv`; throws a usage message on a mistake. */
export function parseTestArgs(argv: readonly string[]): {
  testMode: boolean;
  fileIo: 'volatile' | undefined;
  bugs: PlantedBug[];
  rest: string[];
} {
  let testMode = false;
  let fileIo: 'volatile' | undefined;
  const bugs: PlantedBug[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--test-mode') testMode = true;
    else if (a === '--file-io') {
      const v = argv[++i];
      if (v !== 'volatile') throw new Error(`--file-io expects "volatile", got "${v ?? ''}"`);
      fileIo = v;
    } else if (a === '--plant-bug') {
      const v = argv[++i];
      if (!(PLANTED_BUGS as readonly string[]).includes(v ?? '')) {
        throw new Error(`--plant-bug expects one of ${PLANTED_BUGS.join(', ')}, got "${v ?? ''}"`);
      }
      bugs.push(v as PlantedBug);
    } else rest.push(a);
  }
  if (bugs.includes('skip-fsync') && fileIo === undefined) {
    throw new Error('--plant-bug skip-fsync needs --file-io volatile');
  }
  return { testMode, fileIo, bugs, rest };
}

/** A segment file of the file log store (the entries; `<dir>/log/*.seg`), not its meta file (the vote). */
function isLogFile(path: string): boolean {
  return /[/\\]log[/\\][^/\\]+\.seg$/.test(path);
}

/** Decorates the Raft API with the planted bugs that live there. */
function plantInRaft(
  raft: RaftApi<KvRequest, KvResponse>,
  local: KvReader,
  bugs: readonly PlantedBug[],
): RaftApi<KvRequest, KvResponse> {
  const ackEarly = bugs.includes('ack-before-commit');
  const localReads = bugs.includes('follower-local-read');
  const clientWrite = async (
    data: KvRequest,
    opts?: ApplyWriteOptions,
  ): Promise<ClientWriteResponse<KvResponse>> => {
    const m = raft.metrics.current;
    if (m.state !== 'Leader') return raft.clientWrite(data, opts);
    const before = m.lastLogIndex ?? -1;
    // What the write will answer, guessed from the local state as it is now.
    const response = guessState(local, data).apply(data);
    const real = raft.clientWrite(data, opts);
    real.catch(() => {});
    // BUG: answer once the entry is in the leader's own log, before a quorum has it.
    await new Promise<void>((resolve, reject) => {
      const off = raft.metrics.subscribe((now) => {
        if ((now.lastLogIndex ?? -1) > before) {
          off();
          resolve();
        }
      });
      real.then(
        () => {
          off();
          resolve();
        },
        (e: unknown) => {
          off();
          reject(e);
        },
      );
    });
    return { logId: { term: m.currentTerm, index: before + 1 }, response };
  };
  return new Proxy(raft, {
    get(target, prop) {
      if (prop === 'clientWrite' && ackEarly) return clientWrite;
      // BUG: no leadership check and no read index: whatever this node has applied is served.
      if (prop === 'ensureLinearizable' && localReads) return async () => null;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A one-key copy of the local state, enough to guess what `data` will answer. */
function guessState(local: KvReader, data: KvRequest): KvState {
  const key =
    'Set' in data
      ? data.Set.key
      : 'Delete' in data
        ? data.Delete.key
        : 'Cas' in data
          ? data.Cas.key
          : data.Append.key;
  const v = local.get(key);
  return new KvState(v === undefined ? [] : [[key, v]]);
}

/** Serves `/test/*` before the node's own routes. */
function testRoutes(
  io: VolatileFileIO | undefined,
  info: Record<string, unknown>,
): (handler: http.RequestListener) => http.RequestListener {
  return (handler) => (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (path === '/test/info' && req.method === 'GET') return reply(200, { Ok: info });
    if (path === '/test/power-loss' && req.method === 'POST') {
      req.resume();
      if (io === undefined)
        return reply(409, { Err: { NotVolatile: { message: 'needs --file-io volatile' } } });
      void io.powerLoss().then(({ files, bytesDropped }) => {
        process.stderr.write(`[test] power loss: ${bytesDropped} unsynced bytes of ${files} files dropped\n`);
        process.kill(process.pid, 'SIGKILL');
      });
      return;
    }
    if (path === '/test/fail-fsync' && req.method === 'POST') {
      req.resume();
      if (io === undefined)
        return reply(409, { Err: { NotVolatile: { message: 'needs --file-io volatile' } } });
      io.failNextFsync();
      return reply(200, { Ok: null });
    }
    handler(req, res);
  };
}

/** Runs the test-mode command line; resolves with the exit code. */
export async function testMain(argv: string[], out: Out = stdout, err: Out = stderr): Promise<number> {
  if (argv[0] === 'help' || argv[0] === '--help') {
    out.write(`${TEST_USAGE}${USAGE}`);
    return 0;
  }
  let parsed: ReturnType<typeof parseTestArgs>;
  try {
    parsed = parseTestArgs(argv);
  } catch (e) {
    err.write(`error: ${(e as Error).message}\n\n${TEST_USAGE}`);
    return 2;
  }
  if (!parsed.testMode) {
    err.write(`error: refused: flotilla-kv-test runs only with --test-mode\n\n${TEST_USAGE}`);
    return 2;
  }
  const io =
    parsed.fileIo === 'volatile'
      ? new VolatileFileIO(parsed.bugs.includes('skip-fsync') ? { skipFsync: isLogFile } : {})
      : undefined;
  const info = { testMode: true, fileIo: parsed.fileIo ?? 'real', plantedBugs: parsed.bugs };
  err.write(`[test] TEST MODE: ${JSON.stringify(info)}\n`);
  const inject: KvNodeInjection = {
    ...(io === undefined ? {} : { fileIO: io }),
    wrapHttp: testRoutes(io, info),
    ...(parsed.bugs.some((b) => b !== 'skip-fsync')
      ? { wrapRaft: (r, local) => plantInRaft(r, local, parsed.bugs) }
      : {}),
  };
  try {
    return await serve(parsed.rest, out, err, inject);
  } catch (e) {
    return reportFailure(e, err);
  }
}
