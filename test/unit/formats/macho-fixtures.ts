import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import * as tar from 'tar';
import { ContentCache } from '../../../src/cache.js';
import { BUNDLED_CHECKSUMS_DIR } from '../../../src/checksums.js';
import { defaultBuildCacheDir } from '../../../src/defaults.js';
import { sha256File } from '../../../src/hash.js';
import { runNpm } from '../../../src/npm.js';
import { fetchBaseBinary } from '../../../src/stages/base-binary.js';
import { silentReporter } from '../../../src/events.js';
import { findTarget } from '../../../src/targets.js';

/** A file inside a registry package, pinned by its SHA-256. */
export interface RegistryFile {
  spec: string;
  member: string;
  sha256: string;
}

/**
 * Real Mach-O files of each kind. Go's linker (esbuild 0.28.2) signs
 * arm64 executables ad-hoc with the linker-signed flag and leaves x86_64
 * ones unsigned. fsevents ships one universal x86_64 and arm64 addon.
 */
export const UNSIGNED_X64: RegistryFile = {
  spec: '@esbuild/darwin-x64@0.28.2',
  member: 'package/bin/esbuild',
  sha256: '7fe5c9c905fff0a05d92db98929434ab4d3b6dd92d7a7688922db74380c75df3',
};
export const LINKER_SIGNED_ARM64: RegistryFile = {
  spec: '@esbuild/darwin-arm64@0.28.2',
  member: 'package/bin/esbuild',
  sha256: '10b6243df618d374bb2d5c9cfbe7052e1405f6aa4e53a6164f11a91b9f2e1384',
};
export const UNIVERSAL_ADDON: RegistryFile = {
  spec: 'fsevents@2.3.3',
  member: 'package/fsevents.node',
  sha256: '40f2f51199e4f5fc46fa6b985fb3461bb63e6cd86c62bfa9bcee45ed4438d5fb',
};

/** Node's release binary for darwin-x64, signed with the Node.js project's Developer ID. */
export const DEVELOPER_ID_NODE_VERSION = '26.10.0';

export const verifierScript = fileURLToPath(new URL('../../tools/verify-macho-signature.py', import.meta.url));

function testCache(): ContentCache {
  return new ContentCache(defaultBuildCacheDir({ env: process.env, platform: process.platform, homeDir: os.homedir() }));
}

/**
 * Returns the path of a registry package file in duo-sea's cache, where it
 * stays between runs. On a miss it runs `npm pack`, which checks the
 * registry's integrity, and keeps the file only when it has the pinned hash.
 */
export async function registryFile(file: RegistryFile): Promise<string> {
  const cache = testCache();
  const cached = await cache.lookup(file.sha256);
  if (cached) return cached;

  const scratch = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-fixture-'));
  try {
    const { stdout } = await runNpm(['pack', file.spec, '--json', '--pack-destination', scratch], { cwd: scratch });
    const [packed] = JSON.parse(stdout) as { filename: string }[];
    await tar.x({ file: path.join(scratch, packed.filename), cwd: scratch, filter: (entry) => entry === file.member });
    const extracted = path.join(scratch, file.member);
    const sha256 = await sha256File(extracted);
    if (sha256 !== file.sha256) throw new Error(`${file.spec} ${file.member} has SHA-256 ${sha256}, pinned ${file.sha256}`);
    const temp = await cache.tempPath('fixture');
    await copyFile(extracted, temp);
    return await cache.commit(temp, sha256);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Returns Node's darwin-x64 release binary through duo-sea's own base binary cache. */
export async function developerIdNode(): Promise<string> {
  const base = await fetchBaseBinary({
    target: findTarget('darwin-x64'),
    nodeVersion: DEVELOPER_ID_NODE_VERSION,
    cache: testCache(),
    checksumsDir: BUNDLED_CHECKSUMS_DIR,
    report: silentReporter,
    cwd: os.tmpdir(),
  });
  return base.path;
}

/** Runs the independent Python verifier and returns its exit status, JSON reports and error output. */
export function runVerifier(files: string[], options: { requireAdhoc: boolean }): { status: number | null; reports: Record<string, unknown>[]; stderr: string } {
  const args = [verifierScript, ...(options.requireAdhoc ? ['--require-adhoc'] : []), ...files];
  const result = spawnSync('python3', args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (result.error) throw result.error;
  const reports = result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { status: result.status, reports, stderr: result.stderr };
}
