/**
 * The errors of opening a store, with their stable codes, and `errnoOf` to read a Node errno.
 * Must never carry logic beyond building an error.
 */
/** Stable codes of the errors `fileLogStore` and `fileSnapshotStore` raise while opening a directory. */
export const StoreOpenErrorCode = {
  /** A checksum, framing or index check failed somewhere other than the torn tail of the log. */
  Corrupt: 'STORE_CORRUPT',
  /** Segments do not follow each other (or do not follow the purged log id). */
  Gap: 'STORE_GAP',
  /** Another process (or another open store in this process) holds the lock. */
  Locked: 'STORE_LOCKED',
  /** The store was written by a newer, unknown format version. */
  Version: 'STORE_VERSION',
  /** The directory exists and holds something that is not a Flotilla store. */
  NotAStore: 'NOT_A_STORE',
  /** The operating system refused access (permissions). */
  Access: 'STORE_ACCESS',
  /** Any other I/O failure while opening. */
  Io: 'STORE_IO',
} as const;

/** A stable open-error code. */
export type StoreOpenErrorCode = (typeof StoreOpenErrorCode)[keyof typeof StoreOpenErrorCode];

/**
 * A store directory could not be opened. Identify it by `code` (never by `instanceof` across
 * packages); `file` and `offset` say where the problem is, when it is in a file.
 */
export class StoreOpenError extends Error {
  /** The stable code. */
  readonly code: StoreOpenErrorCode;
  /** The file at fault (absolute path), or the directory itself. */
  readonly file: string;
  /** The byte offset in `file` where the problem starts, or `null` when not about a position. */
  readonly offset: number | null;
  constructor(
    code: StoreOpenErrorCode,
    file: string,
    offset: number | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${message} (${file}${offset === null ? '' : ` at offset ${offset}`})`, options);
    this.code = code;
    this.file = file;
    this.offset = offset;
    this.name = 'StoreOpenError';
  }
  /** Plain data for logs. */
  toJSON(): { name: string; code: StoreOpenErrorCode; message: string; file: string; offset: number | null } {
    return { name: this.name, code: this.code, message: this.message, file: this.file, offset: this.offset };
  }
}

/** The errno-style code of an I/O error (`'ENOENT'`, `'EIO'`…), or `undefined`. */
export function errnoOf(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const c = (err as { code?: unknown }).code;
  return typeof c === 'string' ? c : undefined;
}
