/** Stable error codes. Scripts may match on them, so a code never changes meaning. */
export type ErrorCode =
  | 'E_PACKAGE_NOT_FOUND'
  | 'E_PACKAGE_INVALID'
  | 'E_NO_BIN'
  | 'E_AMBIGUOUS_BIN'
  | 'E_UNKNOWN_BIN'
  | 'E_UNKNOWN_TARGET'
  | 'E_NO_BASE_BINARY'
  | 'E_NOT_PINNED'
  | 'E_CHECKSUM_MISMATCH'
  | 'E_SIGNATURE_INVALID'
  | 'E_SIGNATURE_MISSING'
  | 'E_KEYRING_MISSING'
  | 'E_BASE_BINARY_INVALID'
  | 'E_DOWNLOAD_FAILED'
  | 'E_ENGINES'
  | 'E_INVALID_OPTION'
  | 'E_INSTALL_FAILED'
  | 'E_BUNDLE_FAILED'
  | 'E_BLOB_FAILED'
  | 'E_CODE_CACHE_FAILED'
  | 'E_STRIP_FAILED'
  | 'E_ICU_TRIM_FAILED'
  | 'E_INJECT_FAILED'
  | 'E_SIGN_FAILED'
  | 'E_SELF_CHECK_FAILED'
  | 'E_ARCHIVE_FAILED'
  | 'E_OUTPUT_FAILED'
  | 'E_TOOL_MISSING'
  | 'E_RELEASE_INVALID'
  | 'E_PARTS_DISAGREE'
  | 'E_PUBLISH_FAILED'
  | 'E_PUBLISH_CONFLICT'
  | 'E_KIT_INVALID'
  | 'E_KIT_MISMATCH'
  | 'E_OFFLINE_UNAVAILABLE'
  | 'E_CACHE_CORRUPT'
  | 'E_NO_SPACE'
  | 'E_CACHE_BUSY';

export interface DuoSeaErrorDetails {
  code: ErrorCode;
  /** Pipeline stage that failed, such as `resolve` or `inject`. */
  stage: string;
  message: string;
  /** The next step for the user, printed on its own line. */
  hint?: string;
  target?: string;
  /** The file, URL or value the stage failed on. */
  input?: string;
  expected?: string;
  found?: string;
  cause?: unknown;
}

/**
 * A failure caused by the input or the environment, not by a bug in duo-sea.
 * The CLI prints it without a stack trace.
 */
export class DuoSeaError extends Error {
  readonly code: ErrorCode;
  readonly stage: string;
  readonly hint?: string;
  readonly target?: string;
  readonly input?: string;
  readonly expected?: string;
  readonly found?: string;

  constructor(details: DuoSeaErrorDetails) {
    super(details.message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DuoSeaError';
    this.code = details.code;
    this.stage = details.stage;
    this.hint = details.hint;
    this.target = details.target;
    this.input = details.input;
    this.expected = details.expected;
    this.found = details.found;
  }

  /** Returns the error as plain data for `--json` output. */
  toJSON(): Record<string, string | undefined> {
    return {
      code: this.code,
      stage: this.stage,
      message: this.message,
      hint: this.hint,
      target: this.target,
      input: this.input,
      expected: this.expected,
      found: this.found,
    };
  }
}

export function isDuoSeaError(error: unknown): error is DuoSeaError {
  return error instanceof DuoSeaError;
}

/**
 * Returns a full file system, which no stage checks for, as a DuoSeaError,
 * or undefined for any other error. Executables and archives of every
 * target pass through the cache and the output folder, so a build needs a
 * few hundred MiB per target in each.
 */
export function noSpaceError(error: unknown): DuoSeaError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return undefined;
  const { path: filePath, dest } = error as NodeJS.ErrnoException & { dest?: string };
  const where = dest ?? filePath;
  return new DuoSeaError({
    code: 'E_NO_SPACE',
    stage: 'output',
    input: where,
    message: `${code === 'ENOSPC' ? 'No space left on the device' : 'The disk quota is used up'}${where ? ` while writing ${where}` : ''}.`,
    hint: `Free space ${where ? 'there' : 'where --out and the cache are'}, or give --cache and --out folders on a file system with room; duo-sea cache ls shows what the cache holds, and duo-sea cache clean --older-than DAYS removes old entries.`,
    cause: error,
  });
}

/** Returns the message of any thrown value, for wrapping it as a cause. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
