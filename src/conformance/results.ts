import type { Trait } from './corpus.js';
import type { Difference, RunOutcome } from './compare.js';

/** Why an entry could not run: its reference install or its build failed. */
export interface SetupFailure {
  phase: 'reference-install' | 'build';
  /** duo-sea's error code (`E_BUNDLE_FAILED`, …), the harness's, or `E_INTERNAL` for an unexpected error. */
  code: string;
  message: string;
  /** duo-sea's pipeline stage that failed, for build failures. */
  stage?: string;
  hint?: string;
}

export interface CommandResult {
  args: string[];
  /** Whether the command had stdin text in the corpus. */
  hasStdin: boolean;
  spawnsNode: boolean;
  note?: string;
  passed: boolean;
  /** First difference of each part that differs, empty when the command passed or did not run. */
  differences: Difference[];
  /** Set when the command did not run, because the entry's setup failed. */
  notRun?: SetupFailure;
  referenceMs?: number;
  executableMs?: number;
  /** Normalized outputs of both runs, kept for failed commands only. */
  expected?: RunOutcome;
  got?: RunOutcome;
}

/** One entry's results for one target. */
export interface TargetResult {
  target: string;
  build?: { durationMs: number; cached: boolean; failure?: SetupFailure };
  /** Total time in ms of the executable's runs. */
  runMs: number;
  commands: CommandResult[];
}

export interface EntryResult {
  name: string;
  spec: string;
  traits: Trait[];
  referenceInstall: { durationMs: number; failure?: SetupFailure };
  /** Total time in ms of the reference runs, which every target shares. */
  referenceRunMs: number;
  targets: TargetResult[];
}

export interface HostInfo {
  platform: string;
  arch: string;
  osRelease: string;
  cpuModel: string;
  cpuCount: number;
  /** Version of the Node that ran the harness, such as `v20.20.2`. */
  harnessNodeVersion: string;
}

/** Results of one conformance run. The JSON report is this object. */
export interface ConformanceRun {
  startedAt: string;
  durationMs: number;
  host: HostInfo;
  /** Node version of the executables and of the reference runs. */
  nodeVersion: string;
  tool: { name: string; version: string; sourceHash: string };
  corpusPath: string;
  targets: string[];
  commandTimeoutMs: number;
  entries: EntryResult[];
}
