/**
 * Owns the defaults of the settings that more than one package applies: the engine plans
 * replication ranges and the replication streams cut requests with the same `maxPayloadEntries`; the
 * engine times heartbeats and the heartbeat workers time their calls with the same interval. Each
 * package's own settings keep their defaults in that package; `@flotilla/raft` assembles them.
 */

/** At most this many entries per AppendEntries request. */
export const DEFAULT_MAX_PAYLOAD_ENTRIES = 300;

/** How often a leader sends heartbeats, in milliseconds (also each heartbeat's timeout). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 50;
