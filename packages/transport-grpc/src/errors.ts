/** Owns the transport's own error class; every other error is one of `@flotilla/types`. */
import { NetworkError } from '@flotilla/types';

/**
 * A message could not be sent or read: it is over the size cap, or its bytes are not valid msgpack.
 * Its `code` is `NETWORK`.
 */
export class FrameError extends NetworkError {}
