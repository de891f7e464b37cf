import type { BuildEvent } from '../events.js';
import type { CommandResult, SetupFailure } from './results.js';

/** Progress of a conformance run. The harness never prints; the CLI renders these on stderr. */
export type ConformanceEvent =
  | { kind: 'setup'; message: string }
  | { kind: 'entry-start'; entry: string; position: number; total: number }
  | { kind: 'reference-install-done'; entry: string; durationMs: number; failure?: SetupFailure }
  | { kind: 'build-start'; entry: string; target: string }
  | { kind: 'build-done'; entry: string; target: string; durationMs: number; cached: boolean; failure?: SetupFailure }
  | { kind: 'build-progress'; entry: string; event: BuildEvent }
  | { kind: 'command-done'; entry: string; target: string; result: CommandResult };

export type ConformanceReporter = (event: ConformanceEvent) => void;
