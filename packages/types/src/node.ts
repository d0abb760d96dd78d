/**
 * Identifies a node of a cluster. Any non-empty string; compared by value.
 */
export type NodeId = string;

/**
 * What the cluster knows about a node besides its id.
 */
export interface Node {
  /** The address its peers reach it at; its meaning belongs to the transport (e.g. `host:port`). */
  addr: string;
  /** Application data carried with the node through membership changes. Must be msgpack-encodable. */
  data?: Record<string, unknown>;
}
