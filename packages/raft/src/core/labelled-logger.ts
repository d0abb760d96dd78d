/**
 * The node's logger with the cluster's name and the node's id on every line, so logs of several
 * clusters or nodes in one process (or one log pipeline) tell themselves apart — openraft puts
 * `cluster_name` and the node id on its tracing spans. Owns that labelling only; must never filter
 * or reformat what the caller logs.
 *
 * @module
 */
import { type LogFields, type Logger, silentLogger } from '@flotilla/types';

/** `logger` with `{ cluster, node }` added to every line's fields (the caller's fields win). */
export function labelledLogger(logger: Logger, cluster: string, node: string): Logger {
  if (logger === silentLogger) return logger;
  const label = (fields?: LogFields): LogFields => ({ cluster, node, ...fields });
  return {
    debug: (m, f) => logger.debug(m, label(f)),
    info: (m, f) => logger.info(m, label(f)),
    warn: (m, f) => logger.warn(m, label(f)),
    error: (m, f) => logger.error(m, label(f)),
  };
}
