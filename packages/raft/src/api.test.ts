// RaftApi lists every public member of the Raft class (the class `implements` it, so the compiler
// checks the other direction): a method added to Raft alone fails this typecheck.
import { describe, expectTypeOf, it } from 'vitest';
import type { ClientWriteCommitted, ClientWriteResponse, RaftApi, WriteOptions } from './api.ts';
import type { Raft } from './raft.ts';

describe('RaftApi', () => {
  it('has every public member of Raft', () => {
    expectTypeOf<
      Exclude<keyof Raft<unknown, unknown>, keyof RaftApi<unknown, unknown>>
    >().toEqualTypeOf<never>();
  });

  it('types clientWrite by its options: applied, committed, or either for a WriteOptions value', () => {
    const write = (raft: Raft<string, number>, opts: WriteOptions) => ({
      plain: raft.clientWrite('x'),
      applied: raft.clientWrite('x', { resolveAt: 'apply' }),
      committed: raft.clientWrite('x', { resolveAt: 'commit' }),
      either: raft.clientWrite('x', opts),
    });
    type Out = ReturnType<typeof write>;
    expectTypeOf<Out['plain']>().toEqualTypeOf<Promise<ClientWriteResponse<number>>>();
    expectTypeOf<Out['applied']>().toEqualTypeOf<Promise<ClientWriteResponse<number>>>();
    expectTypeOf<Out['committed']>().toEqualTypeOf<Promise<ClientWriteCommitted>>();
    expectTypeOf<Out['either']>().toEqualTypeOf<
      Promise<ClientWriteResponse<number> | ClientWriteCommitted>
    >();
  });
});
