import { execFile } from 'node:child_process';

export interface NpmResult {
  stdout: string;
  stderr: string;
}

export class NpmCommandError extends Error {
  constructor(
    readonly args: string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`npm ${args.join(' ')} failed with exit code ${exitCode}: ${lastErrorLines(stderr)}`);
    this.name = 'NpmCommandError';
  }

  /** Returns npm's error code (E404, ETARGET, ...) from its output, if it printed one. */
  get npmCode(): string | undefined {
    return /npm error code (\S+)/.exec(this.stderr)?.[1];
  }
}

/** Returns the lines of npm's output that start with "npm error", without the log-file lines. */
export function lastErrorLines(stderr: string): string {
  const lines = stderr
    .split('\n')
    .filter((line) => line.startsWith('npm error') && !/complete log|A complete log/.test(line))
    .map((line) => line.replace(/^npm error\s*/, '').trim())
    .filter((line) => line.length > 0);
  return lines.slice(0, 6).join(' | ') || stderr.trim().split('\n').slice(-3).join(' | ');
}

/**
 * Runs the npm client of the host, so that the user's `.npmrc` (registry,
 * scopes, tokens) applies. Install scripts are never run: every install
 * passes `--ignore-scripts` itself.
 */
export function runNpm(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<NpmResult> {
  const command = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
        maxBuffer: 64 * 1024 * 1024,
        shell: process.platform === 'win32',
      },
      (error, stdout, stderr) => {
        if (error) {
          const exitCode = typeof error.code === 'number' ? error.code : null;
          reject(new NpmCommandError(args, stderr, exitCode));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}
