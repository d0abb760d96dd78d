import type { ChangeMembers } from '@flotilla/types';
import { ErrorCode, hasErrorCode } from '@flotilla/types';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeRaft } from '../test/fake-raft.ts';
import { serve, type TestServer } from '../test/http-server.ts';
import { parseChangeMembers } from './change-members.ts';
import { kvHttpHandler } from './http-api.ts';

/** The `path` of the `INVALID_REQUEST` error `f` throws, or a description of what happened instead. */
function pathOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return hasErrorCode(e, ErrorCode.InvalidRequest) ? (e as { path: string }).path : `other: ${String(e)}`;
  }
  return 'no error';
}

const a4 = { addr: '127.0.0.1:21004' };

describe('parseChangeMembers: every openraft ChangeMembers form', () => {
  it('parses each tag into its camelCase form with string ids', () => {
    const cases: [unknown, ChangeMembers][] = [
      [{ AddVoterIds: [4, '5'] }, { addVoterIds: ['4', '5'] }],
      [{ AddVoters: { '4': a4 } }, { addVoters: { '4': a4 } }],
      [{ RemoveVoters: [3] }, { removeVoters: ['3'] }],
      [{ ReplaceAllVoters: [1, 2, 3] }, { replaceAllVoters: ['1', '2', '3'] }],
      [{ AddNodes: { '4': a4 } }, { addNodes: { '4': a4 } }],
      [{ SetNodes: { '4': { addr: '[::1]:21005' } } }, { setNodes: { '4': { addr: '[::1]:21005' } } }],
      [{ RemoveNodes: [9] }, { removeNodes: ['9'] }],
      [
        { ReplaceAllNodes: { '1': { addr: 'a:1' }, '2': { addr: 'b:2', data: { zone: 'x' } } } },
        { replaceAllNodes: { '1': { addr: 'a:1' }, '2': { addr: 'b:2', data: { zone: 'x' } } } },
      ],
      [
        { Batch: [{ AddNodes: { '4': a4 } }, { AddVoterIds: [4] }, { Batch: [{ RemoveNodes: [9] }] }] },
        { batch: [{ addNodes: { '4': a4 } }, { addVoterIds: ['4'] }, { batch: [{ removeNodes: ['9'] }] }] },
      ],
      [{ AddVoterIds: [] }, { addVoterIds: [] }],
      [{ Batch: [] }, { batch: [] }],
    ];
    for (const [input, want] of cases) expect(parseChangeMembers(input), JSON.stringify(input)).toEqual(want);
  });

  it('drops unknown node fields; 4 and "4" name the same node', () => {
    expect(parseChangeMembers({ AddNodes: { '4': { addr: 'h:1', extra: true } } })).toEqual({
      addNodes: { '4': { addr: 'h:1' } },
    });
    expect(pathOf(() => parseChangeMembers({ RemoveNodes: [4, '4'] }))).toBe('$.RemoveNodes[1]');
  });

  it('refuses bad input with INVALID_REQUEST naming the path', () => {
    const cases: [unknown, string][] = [
      [null, '$'],
      [[{ AddVoterIds: [1] }], '$'],
      [{}, '$'],
      [{ AddVoterIds: [1], RemoveVoters: [2] }, '$'], // two tags
      [{ addVoterIds: [1] }, '$'], // the Rust tag, not the TypeScript key
      [{ Remove: [1] }, '$'],
      [{ AddVoterIds: 4 }, '$.AddVoterIds'],
      [{ AddVoterIds: [-1] }, '$.AddVoterIds[0]'],
      [{ AddVoterIds: [1.5] }, '$.AddVoterIds[0]'],
      [{ RemoveVoters: [1, 'x'] }, '$.RemoveVoters[1]'],
      [{ RemoveVoters: ['01'] }, '$.RemoveVoters[0]'],
      [{ ReplaceAllVoters: [2 ** 60] }, '$.ReplaceAllVoters[0]'],
      [{ AddNodes: [a4] }, '$.AddNodes'],
      [{ AddNodes: { x: a4 } }, '$.AddNodes["x"]'],
      [{ AddNodes: { '4': 'h:1' } }, '$.AddNodes["4"]'],
      [{ AddNodes: { '4': {} } }, '$.AddNodes["4"].addr'],
      [{ AddVoters: { '4': { addr: 'not-an-address' } } }, '$.AddVoters["4"].addr'],
      [{ SetNodes: { '4': { addr: 'localhost' } } }, '$.SetNodes["4"].addr'],
      [{ ReplaceAllNodes: { '4': { addr: 'h:70000' } } }, '$.ReplaceAllNodes["4"].addr'],
      [{ AddNodes: { '4': { addr: 'h:1', data: 3 } } }, '$.AddNodes["4"].data'],
      [{ Batch: {} }, '$.Batch'],
      [{ Batch: [{ AddVoterIds: [1] }, { Nope: 1 }] }, '$.Batch[1]'],
      [
        { Batch: [{ Batch: [{ AddNodes: { '7': { addr: 7 } } }] }] },
        '$.Batch[0].Batch[0].AddNodes["7"].addr',
      ],
    ];
    for (const [input, at] of cases)
      expect(
        pathOf(() => parseChangeMembers(input)),
        JSON.stringify(input),
      ).toBe(at);
  });
});

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('POST /change-membership with a ChangeMembers object', () => {
  async function start(): Promise<TestServer> {
    const raft = new FakeRaft('1');
    server = await serve(kvHttpHandler({ raft, store: raft.kv, addr: '127.0.0.1:21001' }));
    await server.post('/init', '');
    return server;
  }

  it('answers 400 with a JSON error for a malformed object', async () => {
    const s = await start();
    for (const [body, at] of [
      ['{"RemoveNodes":[9],"AddNodes":{}}', '$'],
      ['{"AddNodes":{"4":{"addr":"nope"}}}', '$.AddNodes["4"].addr'],
      ['{"Batch":[{"RemoveVoters":["a"]}]}', '$.Batch[0].RemoveVoters[0]'],
      ['"AddVoterIds"', '$'],
    ] as const) {
      const r = await s.post('/change-membership', body);
      expect({ body, status: r.status }).toEqual({ body, status: 400 });
      expect(r.json).toMatchObject({ Err: { InvalidRequest: { path: at } } });
    }
  });

  it('a well-formed object changes the membership; a refused one answers the typed error', async () => {
    const s = await start();
    const add = await s.post('/change-membership', '{"AddNodes":{"9":{"addr":"127.0.0.1:21009"}}}');
    expect(add.status).toBe(200);
    expect(add.json).toMatchObject({ Ok: {} });
    const refused = await s.post('/change-membership', '{"RemoveNodes":[1]}');
    expect(refused.json).toMatchObject({ Err: { APIError: { ChangeMembershipError: { NodeIsVoter: {} } } } });
    const removed = await s.post('/change-membership', '{"RemoveNodes":[9]}');
    expect(removed.json).toMatchObject({ Ok: {} });
    // The voter array still works.
    const ok = await s.post('/change-membership', '[1]');
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ Ok: {} });
  });
});
