/**
 * openraft's JSON form of `ChangeMembers` for `POST /change-membership`: the externally tagged
 * enum serde writes (`{"AddVoterIds":[4]}`, `{"AddNodes":{"4":{"addr":"127.0.0.1:21004"}}}`,
 * `{"Batch":[…]}`, …), parsed into Flotilla's `ChangeMembers` with string node ids, and the one
 * call that hands it to Raft. Owns the parsing and that call only; must never decide what a change
 * means (that is the runtime's, which validates the resulting membership).
 *
 * @module
 */
import type { RaftApi } from '@flotilla/raft';
import { type ChangeMembers, InvalidRequestError, type Node, type NodeId } from '@flotilla/types';
import { parseHostPort } from './addr.ts';
import { isPlainObject, type KvRequest, type KvResponse } from './kv-state.ts';

/** openraft's tag of each variant and the kind of its payload. */
const TAGS = {
  AddVoterIds: { key: 'addVoterIds', kind: 'ids' },
  AddVoters: { key: 'addVoters', kind: 'nodes' },
  RemoveVoters: { key: 'removeVoters', kind: 'ids' },
  ReplaceAllVoters: { key: 'replaceAllVoters', kind: 'ids' },
  AddNodes: { key: 'addNodes', kind: 'nodes' },
  SetNodes: { key: 'setNodes', kind: 'nodes' },
  RemoveNodes: { key: 'removeNodes', kind: 'ids' },
  ReplaceAllNodes: { key: 'replaceAllNodes', kind: 'nodes' },
  Batch: { key: 'batch', kind: 'batch' },
} as const;

type Tag = keyof typeof TAGS;

const TAG_LIST = Object.keys(TAGS).join(', ');
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * Parses openraft's JSON `ChangeMembers` (parsed JSON). Node ids may be JSON numbers or decimal
 * strings (map keys are always strings) and become Flotilla's string ids (`4` and `"4"` are node
 * `"4"`); a node is `{"addr":"host:port"}` (`[v6]:port` too), with an optional `data` object.
 * Throws `InvalidRequestError` (code `INVALID_REQUEST`) whose `path` names the offending value,
 * e.g. `$.Batch[1].AddNodes["4"].addr`.
 */
export function parseChangeMembers(input: unknown, path = '$'): ChangeMembers {
  if (!isPlainObject(input)) {
    throw new InvalidRequestError(path, `expected an object with one of ${TAG_LIST}`);
  }
  const keys = Object.keys(input);
  if (keys.length !== 1) {
    throw new InvalidRequestError(
      path,
      `expected exactly one of ${TAG_LIST}, got ${keys.length === 0 ? 'none' : keys.join(', ')}`,
    );
  }
  const tag = keys[0] as string;
  if (!Object.hasOwn(TAGS, tag)) {
    throw new InvalidRequestError(path, `unknown change "${tag}": expected one of ${TAG_LIST}`);
  }
  const { key, kind } = TAGS[tag as Tag];
  const at = `${path}.${tag}`;
  const body = input[tag];
  switch (kind) {
    case 'ids':
      return { [key]: parseIds(body, at) } as ChangeMembers;
    case 'nodes':
      return { [key]: parseNodes(body, at) } as ChangeMembers;
    case 'batch': {
      if (!Array.isArray(body)) throw new InvalidRequestError(at, 'expected a list of changes');
      return { batch: body.map((c, i) => parseChangeMembers(c, `${at}[${i}]`)) };
    }
  }
}

/** A node id: a non-negative safe integer, as a JSON number or a decimal string. */
function parseId(v: unknown, path: string): NodeId {
  const n = typeof v === 'number' ? v : typeof v === 'string' && DECIMAL.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidRequestError(
      path,
      `expected a node id (a non-negative integer, as a number or a decimal string), got ${JSON.stringify(v) ?? 'nothing'}`,
    );
  }
  return String(n);
}

function parseIds(v: unknown, path: string): NodeId[] {
  if (!Array.isArray(v)) throw new InvalidRequestError(path, 'expected a list of node ids');
  const seen = new Set<NodeId>();
  return v.map((x, i) => {
    const id = parseId(x, `${path}[${i}]`);
    if (seen.has(id)) throw new InvalidRequestError(`${path}[${i}]`, `node ${id} listed twice`);
    seen.add(id);
    return id;
  });
}

function parseNodes(v: unknown, path: string): Record<NodeId, Node> {
  if (!isPlainObject(v)) {
    throw new InvalidRequestError(path, 'expected an object of node id → {"addr":"host:port"}');
  }
  const nodes: Record<NodeId, Node> = {};
  for (const [k, raw] of Object.entries(v)) {
    const at = `${path}[${JSON.stringify(k)}]`;
    const id = parseId(k, at);
    if (Object.hasOwn(nodes, id)) throw new InvalidRequestError(at, `node ${id} listed twice`);
    nodes[id] = parseNode(raw, at);
  }
  return nodes;
}

function parseNode(v: unknown, path: string): Node {
  if (!isPlainObject(v)) throw new InvalidRequestError(path, 'expected a node {"addr":"host:port"}');
  const addr = v.addr;
  let valid = typeof addr === 'string';
  if (valid) {
    try {
      parseHostPort(addr as string);
    } catch {
      valid = false;
    }
  }
  if (!valid) {
    throw new InvalidRequestError(
      `${path}.addr`,
      `expected an address "host:port", got ${JSON.stringify(addr) ?? 'nothing'}`,
    );
  }
  if (v.data === undefined) return { addr: addr as string };
  if (!isPlainObject(v.data)) throw new InvalidRequestError(`${path}.data`, 'expected an object');
  return { addr: addr as string, data: v.data };
}

/**
 * Applies a parsed `ChangeMembers` through Raft: the membership written, as `changeMembership`
 * answers (removed voters are not retained as learners, like the voter-array form).
 */
export function applyChangeMembers(
  raft: RaftApi<KvRequest, KvResponse>,
  changes: ChangeMembers,
): ReturnType<RaftApi<KvRequest, KvResponse>['changeMembership']> {
  return raft.changeMembership(changes, { retain: false });
}
