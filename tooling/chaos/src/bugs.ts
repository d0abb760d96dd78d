/** The bugs kv's test mode can plant (`flotilla-kv-test --test-mode --plant-bug NAME`). */
export const PLANTED_BUGS = ['ack-before-commit', 'follower-local-read', 'skip-fsync'] as const;

/** A planted bug. */
export type PlantedBug = (typeof PLANTED_BUGS)[number];
