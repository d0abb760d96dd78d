import { isDeepStrictEqual } from 'node:util';
import type { AppendEntriesRequest, Entry } from '@flotilla/types';
import { Packr, Unpackr } from 'msgpackr';
import type { Bench } from '../harness.ts';

const ENTRIES = 64;
const PAYLOAD_BYTES = 100;
/** Per entry in the hand-packed layout: term f64, index f64, payload length u32. */
const ENTRY_HEADER_BYTES = 8 + 8 + 4;

function sampleRequest(): AppendEntriesRequest {
  const entries: Entry[] = [];
  for (let i = 0; i < ENTRIES; i++) {
    const data = new Uint8Array(PAYLOAD_BYTES);
    for (let j = 0; j < PAYLOAD_BYTES; j++) data[j] = (i * 31 + j) & 0xff;
    entries.push({ logId: { term: 7, index: 1001 + i }, payload: { type: 'normal', data } });
  }
  return {
    vote: { term: 7, nodeId: 'n1', committed: true },
    prevLogId: { term: 7, index: 1000 },
    entries,
    leaderCommit: { term: 7, index: 998 },
  };
}

/** A codec round trip: encode to bytes, decode back to a request. */
interface Path {
  encode(req: AppendEntriesRequest): Uint8Array;
  decode(bytes: Uint8Array): AppendEntriesRequest;
}

/** Plain msgpack maps: every object carries its keys. */
function objectPath(): Path {
  const packr = new Packr({ useRecords: false });
  return { encode: (r) => packr.pack(r), decode: (b) => packr.unpack(b) as AppendEntriesRequest };
}

/**
 * msgpackr records: object shapes are defined once in a `structures` list both ends share (as two
 * ends of a connection would after the first message), so each object carries only a record id.
 */
function recordsPath(): Path {
  const structures: object[] = [];
  const packr = new Packr({ structures });
  const unpackr = new Unpackr({ structures });
  return { encode: (r) => packr.pack(r), decode: (b) => unpackr.unpack(b) as AppendEntriesRequest };
}

/**
 * The Buffer path: the request's small fields go through msgpackr, while the entries are laid out by
 * hand in one Buffer (term f64, index f64, length u32, payload bytes) carried as a single `bin` field;
 * decoding slices payloads out of the received bytes without copying them.
 */
function bufferPath(): Path {
  const packr = new Packr({ useRecords: false });
  return {
    encode(req) {
      let size = 0;
      for (const e of req.entries) {
        if (e.payload.type !== 'normal') throw new Error('buffer path only carries normal entries');
        size += ENTRY_HEADER_BYTES + e.payload.data.byteLength;
      }
      const blob = Buffer.allocUnsafe(size);
      let at = 0;
      for (const e of req.entries) {
        const data = e.payload.type === 'normal' ? e.payload.data : new Uint8Array(0);
        at = blob.writeDoubleBE(e.logId.term, at);
        at = blob.writeDoubleBE(e.logId.index, at);
        at = blob.writeUInt32BE(data.byteLength, at);
        blob.set(data, at);
        at += data.byteLength;
      }
      return packr.pack({
        v: req.vote,
        p: req.prevLogId,
        c: req.leaderCommit,
        n: req.entries.length,
        e: blob,
      });
    },
    decode(bytes) {
      const m = packr.unpack(bytes) as {
        v: AppendEntriesRequest['vote'];
        p: AppendEntriesRequest['prevLogId'];
        c: AppendEntriesRequest['leaderCommit'];
        n: number;
        e: Buffer;
      };
      const entries: Entry[] = new Array(m.n);
      let at = 0;
      for (let i = 0; i < m.n; i++) {
        const term = m.e.readDoubleBE(at);
        const index = m.e.readDoubleBE(at + 8);
        const len = m.e.readUInt32BE(at + 16);
        at += ENTRY_HEADER_BYTES;
        entries[i] = {
          logId: { term, index },
          payload: { type: 'normal', data: m.e.subarray(at, at + len) },
        };
        at += len;
      }
      return { vote: m.v, prevLogId: m.p, entries, leaderCommit: m.c };
    },
  };
}

/** Compares with payloads as plain bytes (msgpackr decodes `bin` as `Buffer`, not `Uint8Array`). */
function normalized(req: AppendEntriesRequest): unknown {
  return {
    ...req,
    entries: req.entries.map((e) =>
      e.payload.type === 'normal'
        ? { ...e, payload: { type: 'normal', data: Array.from(e.payload.data) } }
        : e,
    ),
  };
}

/**
 * msgpackr round trip (encode + decode) of an AppendEntries request with 64 entries of 100-byte
 * `Uint8Array` payloads, three ways: plain objects, records with shared structures, and a Buffer path
 * with the entries hand-packed into one `bin`. Each path is checked to round-trip exactly first.
 */
export const bench: Bench = {
  name: 'calibrate-msgpackr',
  description: 'msgpackr round trip of a 64-entry AppendEntries: objects vs records vs Buffer path',
  async run(ctx) {
    const roundTrips = ctx.pick(20_000, 1000);
    ctx.params({ entries: ENTRIES, payloadBytes: PAYLOAD_BYTES, roundTripsPerRep: roundTrips });
    const req = sampleRequest();
    const paths: [string, Path][] = [
      ['objects', objectPath()],
      ['records', recordsPath()],
      ['buffer', bufferPath()],
    ];
    const sizes: Record<string, number> = {};
    for (const [label, path] of paths) {
      const bytes = path.encode(req);
      sizes[`encodedBytes ${label}`] = bytes.byteLength;
      if (!isDeepStrictEqual(normalized(path.decode(bytes)), normalized(req))) {
        throw new Error(`msgpackr path "${label}" does not round-trip the request`);
      }
    }
    ctx.result(sizes);
    let checksum = 0;
    for (const [label, path] of paths) {
      await ctx.measure(`round trip ${label}`, { opsPerRep: roundTrips }, () => {
        for (let i = 0; i < roundTrips; i++) {
          const back = path.decode(path.encode(req));
          const last = back.entries[ENTRIES - 1];
          // Touch the decoded payload so the work cannot be skipped.
          if (last?.payload.type === 'normal') checksum += last.payload.data[PAYLOAD_BYTES - 1] ?? 0;
        }
      });
    }
    ctx.result({ checksum });
    ctx.ratio('records vs objects', 'round trip records', 'round trip objects');
    ctx.ratio('buffer vs objects', 'round trip buffer', 'round trip objects');
    ctx.note('msgpackr.pack returns a view of its reusable buffer: copy or send it before the next pack');
  },
};
