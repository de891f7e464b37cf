/** Output and exit status of one run of a command. */
export interface RunOutcome {
  stdout: string;
  stderr: string;
  /** Null when the process was killed by a signal or did not start. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Error of a process that did not start, such as `spawn qemu-aarch64-static ENOENT`. */
  startError?: string;
  durationMs: number;
}

/** A path to replace with a fixed token before comparing. */
export interface PathReplacement {
  path: string;
  token: string;
}

export type OutputPart = 'stdout' | 'stderr' | 'exit';

/**
 * The first place where one part of two runs differs. For stdout and stderr,
 * `line` is 1-based and a null text means that output ended before this line.
 * For `exit`, the texts describe how each run ended.
 */
export interface Difference {
  part: OutputPart;
  line?: number;
  expected: string | null;
  got: string | null;
}

/**
 * Replaces every occurrence of each path with its token. Longer paths go
 * first, so a scratch folder's `cwd` subfolder becomes its own token before
 * the folder itself is replaced.
 */
export function normalizeOutput(text: string, replacements: readonly PathReplacement[]): string {
  const ordered = [...replacements].filter((replacement) => replacement.path !== '').sort((a, b) => b.path.length - a.path.length);
  let normalized = text;
  for (const { path, token } of ordered) normalized = normalized.split(path).join(token);
  return normalized;
}

/** Returns a copy of the outcome with its paths replaced in stdout, stderr and the start error. */
export function normalizeOutcome(outcome: RunOutcome, replacements: readonly PathReplacement[]): RunOutcome {
  return {
    ...outcome,
    stdout: normalizeOutput(outcome.stdout, replacements),
    stderr: normalizeOutput(outcome.stderr, replacements),
    startError: outcome.startError === undefined ? undefined : normalizeOutput(outcome.startError, replacements),
  };
}

/** Splits text into lines that keep their `\n`, so a missing final newline shows as a difference. */
export function splitLines(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\n)/);
}

/** Returns the first line where two outputs differ, or undefined when they are equal. */
export function firstDifferingLine(expected: string, got: string): { line: number; expected: string | null; got: string | null } | undefined {
  if (expected === got) return undefined;
  const expectedLines = splitLines(expected);
  const gotLines = splitLines(got);
  const count = Math.max(expectedLines.length, gotLines.length);
  for (let index = 0; index < count; index++) {
    if (expectedLines[index] !== gotLines[index]) {
      return { line: index + 1, expected: expectedLines[index] ?? null, got: gotLines[index] ?? null };
    }
  }
  // Unreachable: unequal texts differ in at least one line.
  throw new Error('firstDifferingLine: texts differ but no line does');
}

/** Describes how a run ended: `exit code 2`, `signal SIGSEGV`, `timed out` or `did not start: …`. */
export function describeEnding(outcome: RunOutcome): string {
  if (outcome.startError !== undefined) return `did not start: ${outcome.startError}`;
  if (outcome.timedOut) return `timed out after ${Math.round(outcome.durationMs / 1000)} s`;
  if (outcome.signal !== null) return `signal ${outcome.signal}`;
  return `exit code ${outcome.exitCode}`;
}

function endingFailed(outcome: RunOutcome): boolean {
  return outcome.timedOut || outcome.startError !== undefined;
}

/**
 * Compares two normalized runs and returns one difference per part that
 * differs, in the order stdout, stderr, exit. A timeout or a failed start on
 * either side is always a difference, even when both sides have it.
 */
export function compareOutcomes(expected: RunOutcome, got: RunOutcome): Difference[] {
  const differences: Difference[] = [];
  for (const part of ['stdout', 'stderr'] as const) {
    const line = firstDifferingLine(expected[part], got[part]);
    if (line) differences.push({ part, ...line });
  }
  const expectedEnding = describeEnding(expected);
  const gotEnding = describeEnding(got);
  const endingsDiffer = expected.exitCode !== got.exitCode || expected.signal !== got.signal || expectedEnding !== gotEnding;
  if (endingsDiffer || endingFailed(expected) || endingFailed(got)) {
    differences.push({ part: 'exit', expected: expectedEnding, got: gotEnding });
  }
  return differences;
}
