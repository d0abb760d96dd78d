// Run by check-all's release stage inside an empty project where the packed tarballs were installed
// with npm: proves the published builds work on their own (no workspace, no source condition).
import { MemoryRouter, memoryLogStore, memoryStateMachine } from '@flotilla/memory';
import { Raft } from '@flotilla/raft';

const router = new MemoryRouter();
const nodes = [];
for (const id of ['a', 'b', 'c']) {
  const raft = await Raft.create({
    id,
    network: router.factory(id),
    logStore: memoryLogStore(),
    stateMachine: memoryStateMachine({ initial: {}, apply: (s, d) => [{ ...s, [d.k]: d.v }, d.v] }),
  });
  router.register(id, raft);
  nodes.push(raft);
}
await nodes[0].initialize({ a: { addr: 'a' }, b: { addr: 'b' }, c: { addr: 'c' } });
const { currentLeader } = await nodes[0].wait({ timeoutMs: 10_000 }).until((m) => m.currentLeader !== null);
const leader = nodes.find((n) => n.id === currentLeader);
const res = await leader.clientWrite({ k: 'x', v: 7 });
await leader.ensureLinearizable();
await Promise.all(nodes.map((n) => n.shutdown()));
if (res.response !== 7) throw new Error(`unexpected response ${res.response}`);
process.stdout.write(`packed packages work: wrote ${JSON.stringify(res.logId)}\n`);
