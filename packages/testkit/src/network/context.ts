import type { RaftNetwork } from '@flotilla/types';
import { ScriptedHandler } from './handler.ts';
import type { NetworkFixture, NetworkHarness } from './harness.ts';

/** A started transport with the suite's handler. */
export interface NetworkContext {
  /** The scripted server side. */
  handler: ScriptedHandler;
  /** The fixture from the harness. */
  fixture: NetworkFixture;
  /** The client. */
  client: RaftNetwork;
}

/** Runs `body` against a fresh transport and always tears it down. */
export async function withNetwork(
  harness: NetworkHarness,
  body: (ctx: NetworkContext) => Promise<void>,
): Promise<void> {
  const handler = new ScriptedHandler();
  const fixture = await harness.setup(handler);
  try {
    await body({ handler, fixture, client: fixture.client });
  } finally {
    await harness.teardown?.(fixture);
  }
}

/** A promise that never settles (a handler that never answers). */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}
