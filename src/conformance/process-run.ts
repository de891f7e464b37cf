import { spawn } from 'node:child_process';
import type { RunOutcome } from './compare.js';

export interface ProcessRequest {
  command: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
}

/**
 * Time in ms that the streams of an exited process may stay open before
 * the programs it left running, which keep them open, are killed.
 */
const STREAM_CLOSE_GRACE_MS = 5_000;

/** Sends SIGKILL to every process of a process group that this harness started. */
function killGroup(groupId: number | undefined): void {
  if (groupId === undefined) return;
  try {
    process.kill(-groupId, 'SIGKILL');
  } catch (error) {
    // ESRCH: every process of the group has already exited.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Runs one command with piped stdin and captured output. The process starts
 * in a group of its own, so a timeout also kills the programs it started,
 * and so do the few seconds after its exit that its streams may stay open.
 */
export function runProcess(request: ProcessRequest): Promise<RunOutcome> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const child = spawn(request.command, [...request.args], {
      cwd: request.cwd,
      env: request.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    let startError: string | undefined;
    let graceTimer: NodeJS.Timeout | undefined;

    const timeoutTimer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, request.timeoutMs);

    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // EPIPE: the program exited without reading all of its stdin, which is its right.
    child.stdin.on('error', () => {});
    child.stdin.end(request.stdin);

    child.on('error', (error) => {
      startError = error.message;
    });
    child.on('exit', () => {
      graceTimer = setTimeout(() => killGroup(child.pid), STREAM_CLOSE_GRACE_MS);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timeoutTimer);
      clearTimeout(graceTimer);
      killGroup(child.pid);
      resolve({
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        exitCode: startError === undefined ? exitCode : null,
        signal: timedOut ? null : signal,
        timedOut,
        startError,
        durationMs: Math.round(performance.now() - startedAt),
      });
    });
  });
}
