import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** GNU time prints wall seconds and peak resident set size in KiB with this format. */
const TIME_FORMAT = '%e %M';

/**
 * Runs a command under `/usr/bin/time` and returns its exit code, output,
 * wall time and peak RSS. The peak RSS is that of the largest single process
 * of the tree, which is what GNU time reports (getrusage RUSAGE_CHILDREN).
 */
export async function runMeasured(command, args, options = {}) {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-bench-time-'));
  const timeFile = path.join(scratch, 'time.txt');
  try {
    const result = await runCommand('/usr/bin/time', ['-f', TIME_FORMAT, '-o', timeFile, command, ...args], options);
    const [wallText, rssText] = (await readFile(timeFile, 'utf8')).trim().split('\n').at(-1).split(' ');
    return { ...result, wallSeconds: Number(wallText), peakRssKiB: Number(rssText) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Runs a command to completion and returns its exit code, signal, stdout and stderr; never throws for a non-zero exit. */
export function runCommand(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout = [];
    const stderr = [];
    child.stdout.on('data', (chunk) => stdout.push(chunk));
    child.stderr.on('data', (chunk) => {
      stderr.push(chunk);
      if (options.echoStderr) process.stderr.write(chunk);
    });
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
  });
}

/** Returns the first line of a failed command's output that looks like an error, else its first non-empty line. */
export function firstErrorLine(result) {
  const lines = `${result.stderr}\n${result.stdout}`
    .split('\n')
    .map((line) => line.replace(/\x1b\[[0-9;]*m/g, '').trim())
    .filter(Boolean);
  const errorLine = lines.find((line) => /error|cannot|not found|failed|no such/i.test(line));
  const line = errorLine ?? lines[0] ?? (result.signal ? `killed by ${result.signal}` : `exit code ${result.code}`);
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** Throws with the command's first error line unless it exited 0. */
export function assertSucceeded(result, description) {
  if (result.code === 0) return result;
  throw new Error(`${description} failed (exit ${result.code ?? result.signal}): ${firstErrorLine(result)}`);
}

/** Returns an environment with a fixed PATH and the given HOME, so no user setting changes what a timed program does. */
export function cleanEnvironment(home) {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    NO_COLOR: '1',
  };
}
