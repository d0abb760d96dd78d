// RaftApi lists every public member of the Raft class (the class `implements` it, so the compiler
// checks the other direction): a method added to Raft alone fails this typecheck.
import { describe, expectTypeOf, it } from 'vitest';
import type { RaftApi } from './api.ts';
import type { Raft } from './raft.ts';

describe('RaftApi', () => {
  it('has every public member of Raft', () => {
    expectTypeOf<
      Exclude<keyof Raft<unknown, unknown>, keyof RaftApi<unknown, unknown>>
    >().toEqualTypeOf<never>();
  });
});
