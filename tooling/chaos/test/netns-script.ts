// Run by netns.test.ts inside `unshare --net`: proves the cut machinery on real sockets and prints
// what it saw as one JSON line.
import net from 'node:net';
import {
  CutNotEffectiveError,
  Cuts,
  checkOutgoingSources,
  ensureIptables,
  probe,
  setupNamespace,
} from '../src/netns.ts';

const out: Record<string, unknown> = {};
await setupNamespace();
out.iptables = (await ensureIptables(() => {})) ?? 'ok';
const hosts = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
const servers = await Promise.all(
  hosts.map(
    (h) =>
      new Promise<net.Server>((resolve) => {
        const s = net.createServer((c) => c.on('error', () => {}));
        s.listen(0, h, () => resolve(s));
      }),
  ),
);
const ports = new Map(
  hosts.map((h, i) => [h, ((servers[i] as net.Server).address() as net.AddressInfo).port]),
);
const portOf = (h: string) => ports.get(h) ?? 0;
const cuts = new Cuts();
out.before = await probe('127.0.0.11', '127.0.0.12', portOf('127.0.0.12'));
await cuts.cut([{ from: '127.0.0.11', to: '127.0.0.12' }], portOf);
out.cut = await probe('127.0.0.11', '127.0.0.12', portOf('127.0.0.12'));
out.other = await probe('127.0.0.11', '127.0.0.13', portOf('127.0.0.13'));
out.unboundSource = await probe('127.0.0.1', '127.0.0.12', portOf('127.0.0.12'));
await cuts.healAll(portOf, () => true);
out.healed = await probe('127.0.0.11', '127.0.0.12', portOf('127.0.0.12'));
// A rule that matches no TCP packet: the probe connects, so the cut is refused as not effective.
try {
  await new Cuts('udp').cut([{ from: '127.0.0.11', to: '127.0.0.12' }], portOf);
  out.unproven = 'accepted';
} catch (e) {
  out.unproven = e instanceof CutNotEffectiveError ? e.code : String(e);
}
await cuts.healAll(portOf, () => false);
// Outgoing sources: an unbound connection leaves from 127.0.0.1, a bound one from its own address.
const node = { pid: process.pid, host: '127.0.0.11', port: 1 };
const peer = { pid: 0, host: '127.0.0.12', port: portOf('127.0.0.12') };
const unbound = net.connect({ host: '127.0.0.12', port: peer.port });
await new Promise((r) => unbound.once('connect', r));
out.sourcesUnbound = await checkOutgoingSources([node, peer]);
unbound.destroy();
const bound = net.connect({ host: '127.0.0.12', port: peer.port, localAddress: '127.0.0.11' });
await new Promise((r) => bound.once('connect', r));
await new Promise((r) => setTimeout(r, 50));
out.sourcesBound = await checkOutgoingSources([node, peer]);
bound.destroy();
for (const s of servers) s.close();
process.stdout.write(`${JSON.stringify(out)}\n`);
