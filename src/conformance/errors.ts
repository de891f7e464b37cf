/** Stable codes of the errors that stop a conformance run before any entry runs, or fail one entry's setup. */
export type ConformanceErrorCode =
  | 'E_USAGE'
  | 'E_CORPUS_NOT_FOUND'
  | 'E_CORPUS_INVALID'
  | 'E_UNKNOWN_ENTRY'
  | 'E_NPM_NOT_FOUND'
  | 'E_REFERENCE_INSTALL_FAILED'
  | 'E_REFERENCE_BIN_NOT_FOUND'
  | 'E_TARGET_NOT_RUNNABLE'
  | 'E_SOURCE_CHANGING';

/** An error in the harness's input or environment, printed without a stack trace. */
export class ConformanceError extends Error {
  readonly code: ConformanceErrorCode;
  /** The next step for the user, printed on its own line. */
  readonly hint?: string;

  constructor(details: { code: ConformanceErrorCode; message: string; hint?: string; cause?: unknown }) {
    super(details.message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ConformanceError';
    this.code = details.code;
    this.hint = details.hint;
  }
}
