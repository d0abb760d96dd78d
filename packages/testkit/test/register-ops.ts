import type { RegisterInput, RegisterOutput, RegisterValue } from '../src/linearizability/register.ts';
import type { Operation, Unknown } from '../src/linearizability/types.ts';
import { UNKNOWN } from '../src/linearizability/types.ts';

type RegOp = Operation<RegisterInput, RegisterOutput>;

/** A finished or (with `ret` = Infinity) unknown-outcome register operation, for tests. */
function op(
  clientId: number,
  input: RegisterInput,
  output: RegisterOutput | Unknown,
  call: number,
  ret: number,
): RegOp {
  return { clientId, input, output: ret === Number.POSITIVE_INFINITY ? UNKNOWN : output, call, return: ret };
}

/** `write(value)` acknowledged over [call, ret]. */
export const write = (c: number, value: RegisterValue, call: number, ret: number): RegOp =>
  op(c, { kind: 'write', value }, { ok: true }, call, ret);

/** A read of `value` over [call, ret]. */
export const read = (c: number, value: RegisterValue, call: number, ret: number): RegOp =>
  op(c, { kind: 'read' }, { ok: true, value }, call, ret);

/** A cas that answered `ok` over [call, ret]. */
export const cas = (
  c: number,
  from: RegisterValue,
  to: RegisterValue,
  ok: boolean,
  call: number,
  ret: number,
): RegOp => op(c, { kind: 'cas', from, to }, { ok }, call, ret);

/** A write whose outcome is unknown, called at `call`. */
export const lostWrite = (c: number, value: RegisterValue, call: number): RegOp =>
  op(c, { kind: 'write', value }, UNKNOWN, call, Number.POSITIVE_INFINITY);
