// Where the repository is, for the command-line tools of this package.
import { join } from 'node:path';

/** The repository root. */
export const ROOT = join(import.meta.dirname, '../../..');
