import type { Entry, EntryPayload } from '@flotilla/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BadRecordError,
  checkRecord,
  decodeEntryBody,
  encodeEntryBody,
  frameRecords,
  parseSegmentHeader,
  SEGMENT_HEADER_BYTES,
  segmentHeader,
} from './record.ts';
import { peekTermIndex } from './recovery.ts';

const arbEntry: fc.Arbitrary<Entry> = fc
  .tuple(
    fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    fc.oneof(
      fc.constant<EntryPayload>({ type: 'blank' }),
      fc.uint8Array({ maxLength: 300 }).map((data): EntryPayload => ({ type: 'normal', data })),
      fc.constant<EntryPayload>({
        type: 'membership',
        membership: {
          configs: [['a'], ['a', 'b']],
          nodes: { a: { addr: 'x' }, b: { addr: 'y', data: { k: [1] } } },
        },
      }),
    ),
  )
  .map(([term, index, payload]) => ({ logId: { term, index }, payload }));

describe('records', () => {
  it('round-trip any entry, with term and index readable without decoding', () => {
    fc.assert(
      fc.property(arbEntry, (e) => {
        const body = encodeEntryBody(e);
        expect(decodeEntryBody(body)).toEqual(e);
        expect(peekTermIndex(body)).toEqual(e.logId);
      }),
    );
  });

  it('detect any single flipped bit', () => {
    fc.assert(
      fc.property(arbEntry, fc.nat(), fc.nat({ max: 7 }), (e, at, bit) => {
        const { bytes, sizes } = frameRecords([encodeEntryBody(e)]);
        expect(checkRecord(bytes, 0)).toMatchObject({ ok: true, size: sizes[0] });
        const p = at % bytes.byteLength;
        bytes[p] = (bytes[p] ?? 0) ^ (1 << bit);
        expect(checkRecord(bytes, 0).ok).toBe(false);
      }),
    );
  });

  it('report a short or zero record as such', () => {
    const { bytes } = frameRecords([
      encodeEntryBody({ logId: { term: 1, index: 2 }, payload: { type: 'blank' } }),
    ]);
    expect(checkRecord(bytes.subarray(0, bytes.byteLength - 1), 0)).toEqual({ ok: false, why: 'short' });
    expect(checkRecord(new Uint8Array(16), 0)).toEqual({ ok: false, why: 'length' });
    expect(() => decodeEntryBody(new Uint8Array([0x93, 1, 2, 9]))).toThrow(/unknown entry kind/);
  });

  it('keep a client session, and refuse a malformed one', () => {
    const e = {
      logId: { term: 3, index: 9 },
      payload: {
        type: 'normal' as const,
        data: new Uint8Array([7]),
        session: { clientId: 'c', sequence: 4 },
      },
    };
    expect(decodeEntryBody(encodeEntryBody(e))).toEqual(e);
    // [term, index, normal, data, clientId, sequence] with a sequence that is not a count.
    const bad = new Uint8Array([0x96, 1, 2, 1, 0xc4, 1, 7, 0xa1, 0x63, 0xff]);
    expect(() => decodeEntryBody(bad)).toThrow(BadRecordError);
    expect(() => decodeEntryBody(bad)).toThrow(/malformed client session/);
  });

  it('segment headers carry magic, version and first index', () => {
    const h = segmentHeader(4711);
    expect(h.byteLength).toBe(SEGMENT_HEADER_BYTES);
    expect(parseSegmentHeader(h)).toEqual({ ok: true, firstIndex: 4711 });
    expect(parseSegmentHeader(h.subarray(0, 10))).toEqual({ ok: false, why: 'short' });
    const v = h.slice();
    v[4] = 2;
    expect(parseSegmentHeader(v)).toEqual({ ok: false, why: 'version', version: 2 });
  });
});
