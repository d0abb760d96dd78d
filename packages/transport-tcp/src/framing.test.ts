import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FramedSocket, plainBytes } from './framing.ts';
import { RAFT_MAGIC } from './protocol.ts';

function sink(): { duplex: Duplex; written: Buffer[] } {
  const written: Buffer[] = [];
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      cb();
    },
  });
  return { duplex, written };
}

describe('FramedSocket', () => {
  it('decodes frames split at every byte, with sequential records learned in order', () => {
    const out = sink();
    const tx = new FramedSocket(out.duplex, 1024, false);
    tx.writeMagic();
    const bodies = [
      [1, { a: 1, b: 'x' }],
      [2, { a: 2, b: 'y' }],
      [3, new Uint8Array([1, 2, 3])],
    ];
    for (const b of bodies) tx.send(b);
    const bytes = Buffer.concat(out.written);
    const got: unknown[] = [];
    const rx = new FramedSocket(sink().duplex, 1024, true);
    rx.onFrame = (b) => got.push(b);
    for (let i = 0; i < bytes.byteLength; i++) rx.feed(bytes.subarray(i, i + 1));
    expect(got.map((g) => (g as unknown[])[0])).toEqual([1, 2, 3]);
    expect(got[1]).toEqual([2, { a: 2, b: 'y' }]);
    expect(plainBytes((got[2] as Uint8Array[])[1]!)).toEqual(new Uint8Array([1, 2, 3]));
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
