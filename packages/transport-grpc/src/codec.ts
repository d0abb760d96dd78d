/**
 * Owns the message codec: msgpackr bytes inside gRPC messages. Unary and handshake messages are
 * self-contained (records defined inline per message); the two streams (`streamAppend` each way)
 * use msgpackr's `sequential` records, one encoder and one decoder per call, so a structure crosses
 * a stream once and is referenced afterwards. It never looks inside a message beyond turning decoded
 * `Buffer`s into plain `Uint8Array` views; validating content is the receiving node's business.
 */

import { Packr, Unpackr } from 'msgpackr';
import { FrameError } from './errors.ts';

const packr = new Packr({ mapsAsObjects: true });
const unpackr = new Unpackr({ mapsAsObjects: true });

/** Encodes one self-contained message. */
export function encodeMessage(value: unknown): Buffer {
  return packr.pack(value);
}

/** Decodes one self-contained message; throws `FrameError` on bytes that are not msgpack. */
export function decodeMessage(bytes: Buffer): unknown {
  try {
    return unpackr.unpack(bytes);
  } catch (err) {
    throw new FrameError('undecodable message', { cause: err });
  }
}

/**
 * One direction of one stream: `sequential` records, so the decoder learns structures from the
 * messages it reads. A message that was encoded must therefore be delivered: a send that fails (too
 * large) must end the stream.
 */
export class StreamEncoder {
  readonly #packr = new Packr({ sequential: true, mapsAsObjects: true });
  readonly #maxBytes: number;
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Encodes `value`; throws `FrameError` when it exceeds the size cap (end the stream then). */
  encode(value: unknown): Buffer {
    const b = this.#packr.pack(value);
    if (b.byteLength > this.#maxBytes)
      throw new FrameError(`message of ${b.byteLength} bytes exceeds the limit of ${this.#maxBytes}`);
    return b;
  }
}

/** The decoding side of {@link StreamEncoder}. */
export class StreamDecoder {
  readonly #unpackr = new Unpackr({ sequential: true, mapsAsObjects: true });

  /** Decodes the next message of the stream; throws `FrameError` on bytes that are not msgpack. */
  decode(bytes: Buffer): unknown {
    try {
      return this.#unpackr.unpack(bytes);
    } catch (err) {
      throw new FrameError('undecodable stream message', { cause: err });
    }
  }
}

/** A plain `Uint8Array` view (no copy) of bytes msgpackr decoded as a Node `Buffer`. */
export function plainBytes(b: Uint8Array): Uint8Array {
  return Buffer.isBuffer(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b;
}

/**
 * Turns the normal-entry payloads of a decoded AppendEntries-shaped value into plain `Uint8Array`
 * views, in place, and returns it. It assumes nothing about the shape (a malformed value is passed
 * on unchanged, for the receiving node to refuse).
 */
export function plainEntryBytes<T>(req: T): T {
  const entries = (req as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) return req;
  for (const e of entries) {
    const p = (e as { payload?: { data?: unknown } } | null)?.payload;
    if (p !== null && typeof p === 'object' && p.data instanceof Uint8Array) p.data = plainBytes(p.data);
  }
  return req;
}
