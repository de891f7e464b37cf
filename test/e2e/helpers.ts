import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = path.join(repoRoot, 'lib', 'cli.js');

const createdFolders: string[] = [];

/** Creates a temporary folder that removeTempDirs deletes after the test file. */
export function tempDir(label: string): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), `duo-sea-${label}-`));
  createdFolders.push(folder);
  return folder;
}

/** Deletes every folder tempDir created; an end-to-end build leaves about 190 MB in its folder. */
export function removeTempDirs(): void {
  for (const folder of createdFolders.splice(0)) rmSync(folder, { recursive: true, force: true });
  nodelessPath = undefined;
}

export interface CliRun {
  stdout: string;
  stderr: string;
  status: number | null;
}

/**
 * Runs the duo-sea CLI with the host's node. It is asynchronous because a
 * build takes minutes, and a blocked test worker loses its link to vitest.
 */
export function runCli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 600_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ stdout, stderr, status }));
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
export function runIsolated(executable: string, args: string[], options: IsolatedOptions = {}): IsolatedRun {
  const { home, cwd, env } = isolatedEnvironment(options);
  const result = spawnSync(executable, args, { cwd, env, encoding: 'utf8', timeout: options.timeoutMs ?? 120_000 });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status, home, cwd };
}

export interface IsolatedOptions {
  /** HOME to use instead of a fresh folder; it may be a path that cannot hold a cache. */
  home?: string;
  /** Variables added to the minimal environment. */
  env?: NodeJS.ProcessEnv;
  /** Folder to run in instead of a fresh empty one. */
  cwd?: string;
  timeoutMs?: number;
}

function isolatedEnvironment(options: IsolatedOptions): { home: string; cwd: string; env: NodeJS.ProcessEnv } {
  const home = options.home ?? tempDir('home');
  const cwd = options.cwd ?? tempDir('cwd');
  const tmp = tempDir('tmp');
  return { home, cwd, env: { PATH: pathWithoutNode(), HOME: home, TMPDIR: tmp, LANG: 'C.UTF-8', TERM: 'dumb', ...options.env } };
}

/** Starts an executable like runIsolated, without waiting, so that several copies run at once. */
export function startIsolated(executable: string, args: string[], options: IsolatedOptions = {}): Promise<IsolatedRun> {
  const { home, cwd, env } = isolatedEnvironment(options);
  return new Promise((resolve, reject) => {
    const child = spawn(executable, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ stdout, stderr, status, home, cwd }));
  });
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
