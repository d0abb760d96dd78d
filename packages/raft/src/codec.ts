import type { Codec } from '@flotilla/types';
import { Packr } from 'msgpackr';
import { assertPlainData } from './plain-data.ts';

/**
 * The default application codec: msgpack through msgpackr, without shared record structures (every
 * node must decode every entry on its own, across restarts and versions).
 *
 * `encode` accepts plain data only, what msgpack reads back as the same value: it throws
 * `InvalidRequestError` (code `INVALID_REQUEST`) naming the path of the first value that would not
 * come back as written, e.g. `data.items[3].fn` for a function. Accepted: `null`, booleans,
 * finite numbers, strings, `Uint8Array`, valid `Date`s, arrays and plain objects of these (object
 * properties may be `undefined`). Refused: functions, symbols, BigInts, `NaN` and ±`Infinity`,
 * `undefined` in an array or as the value itself, `Map`, `Set`, other typed arrays, class
 * instances, circular references. The check is one walk over the value during `encode`, with no
 * decode; `clientWrite` rejects with the error and appends nothing.
 *
 * @example
 * ```ts
 * const codec = msgpackCodec<{ items: unknown[] }>();
 * codec.encode({ items: [1, 'two', new Uint8Array([3])] }); // bytes
 * codec.encode({ items: [() => 1] }); // throws InvalidRequestError at data.items[0]
 * ```
 */
export function msgpackCodec<D>(): Codec<D> {
  const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });
  // msgpackr caches a DataView on each source it reads, as a new property of that byte array: for
  // entries that are views into a larger buffer (the encoder's, a transport's frame, the memory
  // router's slab) one cached view of the whole buffer, read from the entry's range, saves that
  // per entry.
  // Kept apart for Buffers and plain byte arrays: msgpackr hands out binary values as views of its
  // source, so a whole of the entry's own kind decodes them to the same kind as a direct read.
  const wholes = new WeakMap<ArrayBufferLike, Uint8Array>();
  const plainWholes = new WeakMap<ArrayBufferLike, Uint8Array>();
  const range = { start: 0, end: 0 };
  // Consecutive entries almost always share their buffer: the last one is looked up first (it
  // keeps that one buffer alive until the next decode).
  let lastBuffer: ArrayBufferLike | null = null;
  let lastWhole: Uint8Array | null = null;
  let lastIsBuffer = false;
  return {
    encode: (value) => {
      assertPlainData(value);
      return packr.pack(value);
    },
    decode: (bytes) => {
      const buffer = bytes.buffer;
      if (bytes.byteLength === buffer.byteLength || bytes.byteLength === 0) return packr.unpack(bytes) as D;
      const isBuffer = Buffer.isBuffer(bytes);
      let whole: Uint8Array | undefined;
      if (buffer === lastBuffer && lastWhole !== null && lastIsBuffer === isBuffer) {
        whole = lastWhole;
      } else {
        const cache = isBuffer ? wholes : plainWholes;
        whole = cache.get(buffer);
        if (whole === undefined) {
          whole = isBuffer ? Buffer.from(buffer) : new Uint8Array(buffer);
          cache.set(buffer, whole);
        }
        lastBuffer = buffer;
        lastWhole = whole;
        lastIsBuffer = isBuffer;
      }
      range.start = bytes.byteOffset;
      range.end = bytes.byteOffset + bytes.byteLength;
      return packr.unpack(whole, range) as D;
    },
  };
}
