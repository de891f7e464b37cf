import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { runProcess, type ProcessRequest } from '../../src/conformance/process-run.js';

function shell(script: string, overrides: Partial<ProcessRequest> = {}): ProcessRequest {
  return { command: '/bin/sh', args: ['-c', script], cwd: os.tmpdir(), env: { PATH: '/usr/bin:/bin' }, stdin: '', timeoutMs: 10_000, ...overrides };
}

describe('runProcess', () => {
  it('captures stdout, stderr and the exit code', async () => {
    const outcome = await runProcess(shell('echo out; echo err >&2; exit 3'));
    expect(outcome).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitCode: 3, signal: null, timedOut: false });
    expect(outcome.startError).toBeUndefined();
  });

  it('pipes stdin and closes it', async () => {
    const outcome = await runProcess(shell('cat', { stdin: 'line one\nline two' }));
    expect(outcome.stdout).toBe('line one\nline two');
  });

  it('passes only the given environment', async () => {
    const outcome = await runProcess(shell('env | sort', { env: { PATH: '/usr/bin:/bin', HOME: '/nowhere' } }));
    expect(outcome.stdout.split('\n').filter((line) => /^(HOME|PATH)=/.test(line))).toEqual(['HOME=/nowhere', 'PATH=/usr/bin:/bin']);
    expect(outcome.stdout).not.toContain('USER=');
  });

  it('kills a command that runs too long', async () => {
    const outcome = await runProcess(shell('sleep 30', { timeoutMs: 300 }));
    expect(outcome.timedOut).toBe(true);
    expect(outcome.exitCode).toBeNull();
    expect(outcome.durationMs).toBeLessThan(10_000);
  });

  it('kills a background program that keeps the output open', async () => {
    const startedAt = Date.now();
    const outcome = await runProcess(shell('sleep 60 & echo started'));
    expect(outcome).toMatchObject({ stdout: 'started\n', exitCode: 0, timedOut: false });
    expect(Date.now() - startedAt).toBeLessThan(20_000);
  }, 30_000);

  it('records a program that does not start', async () => {
    const outcome = await runProcess(shell('', { command: '/nonexistent/program' }));
    expect(outcome.startError).toContain('ENOENT');
    expect(outcome.exitCode).toBeNull();
  });
});
