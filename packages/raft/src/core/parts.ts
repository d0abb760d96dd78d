/**
 * The components every part of the runtime shares, injected once by `RaftCore`.
 *
 * Owns: nothing but the shape. Must never: hold state of its own.
 */
import type { Engine } from '@flotilla/engine';
import type { Clock, Logger, NodeId } from '@flotilla/types';
import type { RaftConfig } from '../config.ts';
import type { CoreLoop } from './loop.ts';

/** The shared components of one node's runtime. */
export interface CoreParts {
  /** This node's id. */
  readonly id: NodeId;
  /** The validated configuration. */
  readonly config: RaftConfig;
  /** The protocol engine; only called inside the loop. */
  readonly engine: Engine;
  /** Time for timers, deadlines and `now`. */
  readonly clock: Clock;
  /** Diagnostics. */
  readonly logger: Logger;
  /** The core loop everything is queued into. */
  readonly loop: CoreLoop;
}
