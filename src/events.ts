/**
 * Events that the library reports while it works. The library never prints;
 * the CLI renders these on stderr, and a release pipeline can pass its own
 * reporter.
 */
export type BuildEvent =
  | { kind: 'stage-start'; stage: string; target?: string; detail?: string }
  | { kind: 'stage-done'; stage: string; target?: string; durationMs: number; detail?: string }
  | { kind: 'download'; target?: string; file: string; receivedBytes: number; totalBytes?: number }
  | { kind: 'target-skipped'; target: string; reason: string }
  | { kind: 'info'; message: string; target?: string }
  | { kind: 'warning'; message: string; target?: string };

export type Reporter = (event: BuildEvent) => void;

export const silentReporter: Reporter = () => {};

/** Runs `work`, reporting its start and its duration under `stage`. */
export async function timeStage<T>(
  report: Reporter,
  stage: string,
  target: string | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const startedAt = performance.now();
  report({ kind: 'stage-start', stage, target });
  const result = await work();
  report({ kind: 'stage-done', stage, target, durationMs: Math.round(performance.now() - startedAt) });
  return result;
}
