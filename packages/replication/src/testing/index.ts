/**
 * Test doubles for replication, usable without sockets or wall-clock time: a virtual clock, a fake
 * follower applying the AppendEntries rules, a fake network with delay and fault injection, a
 * counting log reader and a recording core.
 */
export { FakeFollower } from './follower.ts';
export { FakeNetwork, type FakeNetworkOptions } from './network.ts';
export { CountingReader } from './reader.ts';
export { RecordingCore } from './recording-core.ts';
export { drainMicrotasks, realTimerClock, VirtualClock } from './virtual-clock.ts';
