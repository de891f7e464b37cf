import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = path.join(repoRoot, 'lib', 'cli.js');

export function tempDir(label: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `duo-sea-${label}-`));
}

/** Runs the duo-sea CLI with the host's node and returns its output. */
export function runCli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cliPath, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

let nodelessPath: string | undefined;

/**
 * Returns a PATH folder that links every program of /usr/bin and /bin
 * except `node`, since Debian's node is in /usr/bin.
 */
export function pathWithoutNode(): string {
  if (nodelessPath) return nodelessPath;
  const folder = tempDir('nodeless-path');
  for (const source of ['/usr/bin', '/bin']) {
    if (!existsSync(source)) continue;
    for (const name of readdirSync(source)) {
      if (name === 'node' || name === 'nodejs' || existsSync(path.join(folder, name))) continue;
      symlinkSync(path.join(source, name), path.join(folder, name));
    }
  }
  nodelessPath = folder;
  return folder;
}

export interface IsolatedRun {
  stdout: string;
  stderr: string;
  status: number | null;
  home: string;
  cwd: string;
}

/**
 * Runs a built executable as an admin would on a bare runner: from an empty
 * folder, with a fresh HOME, and no node reachable on PATH.
 */
export function runIsolated(executable: string, args: string[], options: { prefix?: string[]; timeoutMs?: number } = {}): IsolatedRun {
  const home = tempDir('home');
  const cwd = tempDir('cwd');
  mkdirSync(path.join(home, 'tmp'));
  const command = options.prefix?.[0] ?? executable;
  const commandArgs = options.prefix ? [...options.prefix.slice(1), executable, ...args] : args;
  const result = spawnSync(command, commandArgs, {
    cwd,
    env: { PATH: pathWithoutNode(), HOME: home, TMPDIR: path.join(home, 'tmp'), LANG: 'C.UTF-8', TERM: 'dumb' },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
  });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status, home, cwd };
}

/** Installs a package with npm, without scripts, into a fresh folder and returns that folder. */
export function npmInstall(spec: string): string {
  const folder = tempDir('reference');
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', spec], { cwd: folder, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm install ${spec} failed: ${result.stderr}`);
  return folder;
}

/** Lists a folder, or returns an empty list when it does not exist. */
export function listFolder(folder: string): string[] {
  return existsSync(folder) ? readdirSync(folder).sort() : [];
}
