import type { Codec } from '@flotilla/types';
import { Packr } from 'msgpackr';

/**
 * The default application codec: msgpack through msgpackr, without shared record structures (every
 * node must decode every entry on its own, across restarts and versions).
 */
export function msgpackCodec<D>(): Codec<D> {
  const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });
  return {
    encode: (value) => packr.pack(value),
    decode: (bytes) => packr.unpack(bytes) as D,
  };
}
