import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { computeSourceHash } from '../../../src/conformance/source-hash.js';
import { DEFAULT_NODE_VERSION, defaultBuildCacheDir } from '../../../src/defaults.js';
import { repoRoot, runCli } from '../../e2e/helpers.js';

/** Maximum time in ms of one build, long enough for four targets on a cold npm cache. */
export const BUILD_TIMEOUT_MS = 15 * 60_000;

/** How long a build that another test file started may take before this one builds itself. */
const LOCK_STALE_MS = BUILD_TIMEOUT_MS;

/** Entries of other duo-sea code are removed once unused for this long, so a run of older code in parallel keeps its own. */
const UNUSED_ENTRY_MAX_AGE_MS = 15 * 60_000;

export interface BuildRequest {
  /** An npm spec, or the absolute path of a package folder. */
  spec: string;
  bin?: string;
  withSpecs?: string[];
  /** Target ids; linux-x64 when absent. */
  targets?: string[];
  nodeVersion?: string;
  nodeOptions?: string[];
}

export interface BuiltProgram {
  /** The build's output folder, without its archives. */
  outDir: string;
  /** The folder into which npm installed the same specs for `node` to run, beside the build. */
  referenceDir: string;
  /** What the build printed on stderr. */
  buildLog: string;
  executable(targetId?: string): string;
}

const kindsCacheDir = path.join(defaultBuildCacheDir({ env: process.env, platform: process.platform, homeDir: os.homedir() }), 'kinds');

let sourceHash: Promise<string> | undefined;

/** Returns the hash of duo-sea's compiled code, computed once per test file. */
function currentSourceHash(): Promise<string> {
  sourceHash ??= computeSourceHash(repoRoot).then(async (hash) => {
    await pruneOtherCode(hash);
    return hash;
  });
  return sourceHash;
}

/** Hashes the files of a package folder, so that a changed fixture is built again. */
function folderHash(folder: string): string {
  const hash = createHash('sha256');
  const visit = (current: string, relative: string): void => {
    for (const name of readdirSync(current).sort()) {
      const absolute = path.join(current, name);
      const entryPath = relative === '' ? name : `${relative}/${name}`;
      if (statSync(absolute).isDirectory()) visit(absolute, entryPath);
      else hash.update(`${entryPath}\0`).update(readFileSync(absolute)).update('\0');
    }
  };
  visit(folder, '');
  return hash.digest('hex');
}

function normalizedInputs(request: BuildRequest, codeHash: string): Record<string, unknown> {
  return {
    spec: request.spec,
    specContent: path.isAbsolute(request.spec) ? folderHash(request.spec) : undefined,
    bin: request.bin,
    withSpecs: request.withSpecs ?? [],
    targets: [...(request.targets ?? ['linux-x64'])].sort(),
    nodeVersion: request.nodeVersion ?? DEFAULT_NODE_VERSION,
    nodeOptions: request.nodeOptions ?? [],
    sourceHash: codeHash,
  };
}

/** Removes entries built by other duo-sea code that nothing used for 15 minutes, and folders of killed builds. */
async function pruneOtherCode(codeHash: string): Promise<void> {
  if (!existsSync(kindsCacheDir)) return;
  for (const name of await readdir(kindsCacheDir)) {
    const entryPath = path.join(kindsCacheDir, name);
    if (name.startsWith('.building-')) {
      // A build folder older than BUILD_TIMEOUT_MS belongs to a build that was killed.
      if (Date.now() - (await stat(entryPath)).birthtimeMs > BUILD_TIMEOUT_MS) await rm(entryPath, { recursive: true, force: true });
      continue;
    }
    const inputsFile = path.join(kindsCacheDir, name, 'inputs.json');
    if (!existsSync(inputsFile)) continue;
    const inputs = JSON.parse(await readFile(inputsFile, 'utf8')) as { sourceHash?: string };
    const unusedMs = Date.now() - (await stat(inputsFile)).mtimeMs;
    if (inputs.sourceHash !== codeHash && unusedMs > UNUSED_ENTRY_MAX_AGE_MS) {
      await rm(entryPath, { recursive: true, force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: no such process, so the lock's owner is gone.
    return false;
  }
}

/**
 * Takes the lock of one cache entry, waiting while another test file builds
 * the same entry. Returns false when that build finished meanwhile.
 */
async function takeLock(lockFile: string, entryDir: string): Promise<boolean> {
  const startedAt = Date.now();
  for (;;) {
    if (existsSync(path.join(entryDir, 'inputs.json'))) return false;
    try {
      await writeFile(lockFile, String(process.pid), { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(await readFile(lockFile, 'utf8').catch(() => '0'));
    if ((owner > 0 && !isAlive(owner)) || Date.now() - startedAt > LOCK_STALE_MS) {
      await rm(lockFile, { force: true });
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function buildArguments(request: BuildRequest, outDir: string): string[] {
  const targets = request.targets ?? ['linux-x64'];
  // The fastest archive each target offers: Windows targets offer only .zip.
  const args = ['build', request.spec, '--out', outDir, '--archive', 'tar.gz'];
  if (targets.some((target) => target.startsWith('win-'))) args.push('--archive', 'zip');
  for (const target of targets) args.push('--target', target);
  if (request.bin) args.push('--bin', request.bin);
  if (request.nodeVersion) args.push('--node', request.nodeVersion);
  for (const spec of request.withSpecs ?? []) args.push('--with', spec);
  for (const option of request.nodeOptions ?? []) args.push(`--node-option=${option}`);
  return args;
}

/** Installs the specs with npm, without scripts, for the reference runs with `node`. */
function installReference(request: BuildRequest, folder: string): void {
  if (path.isAbsolute(request.spec)) return;
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', request.spec, ...(request.withSpecs ?? [])], {
    cwd: folder,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`npm install ${request.spec} failed:\n${result.stderr}`);
}

/** Builds the entry into a fresh folder and moves it into place, so that no reader sees half of it. */
async function buildEntry(request: BuildRequest, inputs: Record<string, unknown>, entryDir: string): Promise<void> {
  await mkdir(kindsCacheDir, { recursive: true });
  const workDir = await mkdtemp(path.join(kindsCacheDir, '.building-'));
  try {
    const outDir = path.join(workDir, 'out');
    const result = await runCli(buildArguments(request, outDir), { cwd: workDir, timeoutMs: BUILD_TIMEOUT_MS });
    if (result.status !== 0) throw new Error(`duo-sea build ${request.spec} failed with exit code ${result.status}:\n${result.stderr.slice(-4000)}`);
    for (const name of await readdir(outDir)) {
      if (/\.(tar\.gz|tar\.xz|zip)$/.test(name)) await rm(path.join(outDir, name));
    }
    await writeFile(path.join(workDir, 'build.log'), result.stderr);
    await mkdir(path.join(workDir, 'reference'));
    await writeFile(path.join(workDir, 'reference', 'package.json'), '{"private": true}\n');
    installReference(request, path.join(workDir, 'reference'));
    await writeFile(path.join(workDir, 'inputs.json'), `${JSON.stringify(inputs, null, 2)}\n`);
    await rename(workDir, entryDir);
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Returns a built program, from the cache when this duo-sea code built it
 * before with the same inputs. Archives are not kept. The reference install
 * is made right after the build, so both get the same dependency versions.
 */
export async function buildProgram(request: BuildRequest): Promise<BuiltProgram> {
  const inputs = normalizedInputs(request, await currentSourceHash());
  const key = createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 32);
  const entryDir = path.join(kindsCacheDir, key);
  const lockFile = `${entryDir}.lock`;

  await mkdir(kindsCacheDir, { recursive: true });
  if (await takeLock(lockFile, entryDir)) {
    try {
      if (!existsSync(path.join(entryDir, 'inputs.json'))) await buildEntry(request, inputs, entryDir);
    } finally {
      await rm(lockFile, { force: true });
    }
  }
  const now = new Date();
  await utimes(path.join(entryDir, 'inputs.json'), now, now);

  const outDir = path.join(entryDir, 'out');
  const manifest = JSON.parse(await readFile(path.join(outDir, 'manifest.json'), 'utf8')) as { targets: { id: string; file: string }[] };
  return {
    outDir,
    referenceDir: path.join(entryDir, 'reference'),
    buildLog: await readFile(path.join(entryDir, 'build.log'), 'utf8'),
    executable(targetId = 'linux-x64') {
      const target = manifest.targets.find((candidate) => candidate.id === targetId);
      if (!target) throw new Error(`the build of ${request.spec} has no ${targetId} executable`);
      return path.join(outDir, target.file);
    },
  };
}
