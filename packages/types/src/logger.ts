/**
 * Owns the one logging contract of Flotilla: every package that logs takes a {@link Logger} as an
 * injected component. It must never write to the console itself.
 */

/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/**
 * Structured logging, injected into the runtime, transports and stores; a library never writes to
 * the console. No method may throw.
 */
export interface Logger {
  /** Fine-grained tracing (connections opened and closed, stream restarts). */
  debug(message: string, fields?: LogFields): void;
  /** Notable events (elections, membership changes). */
  info(message: string, fields?: LogFields): void;
  /** Something unexpected that the node survives (a refused peer, bad input, a dropped connection). */
  warn(message: string, fields?: LogFields): void;
  /** A failure (e.g. the fatal error that stopped the node). */
  error(message: string, fields?: LogFields): void;
}

/** A logger that drops everything: the default wherever a logger is optional. */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});
