import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FramedSocket, plainBytes } from './framing.ts';
import { RAFT_MAGIC } from './protocol.ts';

function sink(): { duplex: Duplex; written: Buffer[]; writes: number } {
  const written: Buffer[] = [];
  const s = { duplex: null as unknown as Duplex, written, writes: 0 };
  s.duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      s.writes++;
      written.push(chunk);
      cb();
    },
    writev(chunks, cb) {
      s.writes++;
      for (const c of chunks) written.push(c.chunk as Buffer);
      cb();
    },
  });
  return s;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('FramedSocket', () => {
  it('decodes frames split at every byte, with sequential records learned in order', async () => {
    const out = sink();
    const tx = new FramedSocket(out.duplex, 1024, false);
    tx.writeMagic();
    const bodies = [
      [1, { a: 1, b: 'x' }],
      [2, { a: 2, b: 'y' }],
      [3, new Uint8Array([1, 2, 3])],
    ];
    for (const b of bodies) tx.send(b);
    await nextTurn();
    const bytes = Buffer.concat(out.written);
    const got: unknown[] = [];
    const rx = new FramedSocket(sink().duplex, 1024, true);
    rx.onFrame = (b) => got.push(b);
    for (let i = 0; i < bytes.byteLength; i++) rx.feed(bytes.subarray(i, i + 1));
    expect(got.map((g) => (g as unknown[])[0])).toEqual([1, 2, 3]);
    expect(got[1]).toEqual([2, { a: 2, b: 'y' }]);
    expect(plainBytes((got[2] as Uint8Array[])[1]!)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('writes the frames of one turn together, once, at the end of the turn', async () => {
    const out = sink();
    const tx = new FramedSocket(out.duplex, 1 << 20, false);
    for (let i = 0; i < 50; i++) tx.send([i, 'x'.repeat(100)]);
    expect(out.writes).toBe(0);
    await nextTurn();
    expect(out.writes).toBe(1);
    const got: unknown[] = [];
    const rx = new FramedSocket(sink().duplex, 1 << 20, false);
    rx.onFrame = (b) => got.push((b as unknown[])[0]);
    rx.feed(Buffer.concat(out.written));
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Past the flush threshold the queued frames go out at once.
    for (let i = 0; i < 100; i++) tx.send([i, new Uint8Array(1024)]);
    expect(out.writes).toBe(2);
    // A body handed on is never changed by later frames.
    const first = Buffer.concat(out.written);
    for (let i = 0; i < 2000; i++) tx.send([i, 'y'.repeat(50)]);
    await nextTurn();
    expect(Buffer.concat(out.written).subarray(0, first.byteLength).equals(first)).toBe(true);
  });

  it('closes on a bad magic, an oversize frame and an undecodable body', () => {
    const errors: (string | undefined)[] = [];
    const open = (magic: boolean) => {
      const f = new FramedSocket(sink().duplex, 16, magic);
      f.onClose = (e) => errors.push(e?.message);
      return f;
    };
    open(true).feed(Buffer.from('GET / HTTP/1.1\r\n'));
    const big = Buffer.alloc(8);
    big.writeUInt32BE(17, 0);
    open(false).feed(big);
    open(false).feed(Buffer.from([0, 0, 0, 2, 0x92, 0x01]));
    expect(errors).toEqual([
      'bad magic: not a Flotilla peer',
      'incoming frame of 17 bytes exceeds the limit of 16',
      'undecodable frame',
    ]);
  });

  it('refuses to send an oversize frame and closes, so record state never diverges', () => {
    const f = new FramedSocket(sink().duplex, 16, false);
    expect(() => f.send(['x'.repeat(32)])).toThrow(/exceeds the limit/);
    expect(f.closed).toBe(true);
    expect(() => f.send([1])).toThrow(/connection closed/);
    expect(RAFT_MAGIC.byteLength).toBe(4);
  });
});
