import type { Duplex } from 'node:stream';
import { NetworkError } from '@flotilla/types';
import { Packr, Unpackr } from 'msgpackr';
import { RAFT_MAGIC } from './protocol.ts';

/** Queued frames are written at once when they reach this many bytes (else at the turn's end). */
const FLUSH_BYTES = 64 * 1024;

/** A frame could not be sent or read: it is over the size limit, or its body is not valid msgpack. */
export class FrameError extends NetworkError {}

/**
 * A socket speaking length-prefixed msgpackr frames: a big-endian u32 body length, then the body.
 *
 * Each instance owns its own `Packr`/`Unpackr` pair in msgpackr's `sequential` record mode: a record
 * structure is defined inline the first time it is sent on this connection and referenced by a small
 * id afterwards. Both ends start empty, so structures are reset with every connection. Because the
 * decoder learns structures from the frames it reads, a frame that was encoded must be sent; a send
 * that fails (oversize) therefore closes the connection.
 *
 * Incoming `bin` values are Node `Buffer`s over the frame's bytes; see {@link plainBytes}.
 */
export class FramedSocket {
  /** Called with each decoded frame body, in order. */
  onFrame: (body: unknown) => void = () => {};
  /** Called once when the socket is closed, with the error that closed it, if any. */
  onClose: (err: Error | undefined) => void = () => {};

  readonly socket: Duplex;
  readonly #maxFrameBytes: number;
  readonly #packr = new Packr({ sequential: true, mapsAsObjects: true });
  readonly #unpackr = new Unpackr({ sequential: true, mapsAsObjects: true });
  #chunks: Buffer[] = [];
  #buffered = 0;
  #needMagic: boolean;
  #closed = false;
  #closeError: Error | undefined;
  #drainWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Frames (header, body, header, body…) queued for this turn's write. */
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #flushImmediate: NodeJS.Immediate | null = null;

  /**
   * @param socket - a connected socket (plain or TLS).
   * @param maxFrameBytes - the largest body accepted or sent.
   * @param expectMagic - whether the stream starts with {@link RAFT_MAGIC} (the server side).
   */
  constructor(socket: Duplex, maxFrameBytes: number, expectMagic: boolean) {
    this.socket = socket;
    this.#maxFrameBytes = maxFrameBytes;
    this.#needMagic = expectMagic;
    socket.on('data', (chunk: Buffer) => this.feed(chunk));
    socket.on('drain', () => this.#settleDrain(undefined));
    socket.on('error', (err: Error) => this.close(err));
    socket.on('close', () => this.close(undefined));
    socket.on('end', () => this.close(undefined));
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Writes the magic preamble (client side, before the hello). */
  writeMagic(): void {
    this.#flush();
    this.socket.write(RAFT_MAGIC);
  }

  /**
   * Encodes one frame and queues it; the frames of one event-loop turn go out together in one
   * corked write (one `writev`) at the turn's end, or at once past {@link FLUSH_BYTES}. Returns
   * `false` when the socket's buffer is full (wait for {@link drained}). Throws `FrameError` (and
   * closes) when the body exceeds the limit, and `NetworkError` when closed.
   *
   * The encoded body is handed to the socket as msgpackr returned it (never re-encoded or copied):
   * msgpackr writes each later frame after it in its buffer, never over it.
   */
  send(body: unknown): boolean {
    if (this.#closed) throw this.#closedError();
    const encoded = this.#packr.pack(body);
    const n = encoded.byteLength;
    if (n > this.#maxFrameBytes) {
      const err = new FrameError(`frame of ${n} bytes exceeds the limit of ${this.#maxFrameBytes}`);
      this.close(err);
      throw err;
    }
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(n, 0);
    this.#out.push(header, encoded);
    this.#outBytes += 4 + n;
    if (this.#outBytes >= FLUSH_BYTES) return this.#flush();
    if (this.#flushImmediate === null) this.#flushImmediate = setImmediate(this.#flushTurn);
    return !this.socket.writableNeedDrain;
  }

  /** Writes the queued frames now, in one corked write; returns the socket's last `write` answer. */
  #flush(): boolean {
    if (this.#flushImmediate !== null) {
      clearImmediate(this.#flushImmediate);
      this.#flushImmediate = null;
    }
    const out = this.#out;
    if (out.length === 0 || this.#closed) return !this.socket.writableNeedDrain;
    this.#out = [];
    this.#outBytes = 0;
    let ok = true;
    this.socket.cork();
    for (const b of out) ok = this.socket.write(b);
    this.socket.uncork();
    return ok;
  }

  readonly #flushTurn = (): void => {
    this.#flushImmediate = null;
    this.#flush();
  };

  /** Resolves once the socket's write buffer has drained; rejects if the connection closes first. */
  drained(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#flush()) return Promise.resolve();
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  /** Stops reading (backpressure towards the peer). */
  pause(): void {
    this.socket.pause();
  }

  /** Resumes reading. */
  resume(): void {
    if (!this.#closed) this.socket.resume();
  }

  /** Feeds bytes read from the socket (or read ahead by whoever accepted it). */
  feed(chunk: Buffer): void {
    if (this.#closed || chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    try {
      this.#drainFrames();
    } catch (err) {
      this.close(err instanceof Error ? err : new FrameError(String(err)));
    }
  }

  /** Closes the connection (idempotent). Pending drain waits reject. */
  close(err: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = err;
    if (this.#flushImmediate !== null) clearImmediate(this.#flushImmediate);
    this.#flushImmediate = null;
    this.#out = [];
    this.#outBytes = 0;
    this.#chunks = [];
    this.#buffered = 0;
    this.#settleDrain(this.#closedError());
    this.socket.destroy();
    this.onClose(err);
  }

  /** Sends a last frame, then closes once it is flushed (or after a short grace period). */
  finish(body: unknown): void {
    if (this.#closed) return;
    try {
      this.send(body);
    } catch {
      return;
    }
    this.#flush();
    this.socket.end();
    const t = setTimeout(() => this.close(undefined), 1_000);
    t.unref();
  }

  #closedError(): NetworkError {
    return new NetworkError('connection closed', { cause: this.#closeError });
  }

  #settleDrain(err: Error | undefined): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) {
      if (err === undefined) w.resolve();
      else w.reject(err);
    }
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    let out: Buffer;
    if (first.byteLength >= n) {
      out = first.subarray(0, n);
      if (first.byteLength === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.#chunks[0]!;
        const k = Math.min(c.byteLength, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.byteLength) this.#chunks.shift();
        else this.#chunks[0] = c.subarray(k);
      }
    }
    this.#buffered -= n;
    return out;
  }

  #peekLength(): number {
    const first = this.#chunks[0]!;
    if (first.byteLength >= 4) return first.readUInt32BE(0);
    const head = this.#take(4);
    this.#chunks.unshift(head);
    this.#buffered += 4;
    return head.readUInt32BE(0);
  }

  #drainFrames(): void {
    if (this.#needMagic) {
      if (this.#buffered < RAFT_MAGIC.byteLength) return;
      const magic = this.#take(RAFT_MAGIC.byteLength);
      if (!magic.equals(RAFT_MAGIC)) throw new FrameError('bad magic: not a Flotilla peer');
      this.#needMagic = false;
    }
    while (!this.#closed && this.#buffered >= 4) {
      const n = this.#peekLength();
      if (n > this.#maxFrameBytes)
        throw new FrameError(`incoming frame of ${n} bytes exceeds the limit of ${this.#maxFrameBytes}`);
      if (this.#buffered < 4 + n) return;
      this.#take(4);
      const body = this.#take(n);
      let value: unknown;
      try {
        value = this.#unpackr.unpack(body);
      } catch (err) {
        throw new FrameError('undecodable frame', { cause: err });
      }
      this.onFrame(value);
    }
  }
}

/** A plain `Uint8Array` view (no copy) of bytes msgpackr decoded as a Node `Buffer`. */
export function plainBytes(b: Uint8Array): Uint8Array {
  return Buffer.isBuffer(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b;
}

/**
 * Turns the bytes of the normal entries of a decoded AppendEntries into plain `Uint8Array` views, in
 * place. A malformed request is left as it is (the handler refuses it): this only touches values
 * of the expected shape, and never throws.
 */
export function plainEntryBytes(req: unknown): unknown {
  const entries = (req as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) return req;
  for (const e of entries as unknown[]) {
    const payload = (e as { payload?: unknown } | null)?.payload as
      | { type?: unknown; data?: unknown }
      | undefined;
    if (payload?.type === 'normal' && payload.data instanceof Uint8Array)
      payload.data = plainBytes(payload.data);
  }
  return req;
}
