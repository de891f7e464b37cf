import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { ContentCache } from '../cache.js';
import { checksumFileName, checksumKey, pinnedSha256 } from '../checksums.js';
import { downloadFile } from '../download.js';
import { DuoSeaError } from '../errors.js';
import type { Reporter } from '../events.js';
import { sha256File } from '../hash.js';
import { NpmCommandError, runNpm } from '../npm.js';
import type { Target } from '../targets.js';

/** A verified, unmodified Node binary in the cache. */
export interface BaseBinary {
  path: string;
  sha256: string;
  sizeBytes: number;
  /** The source it came from, as `npm:<package>@<version>`. */
  source: string;
}

interface RegistryDist {
  tarball: string;
  integrity: string;
}

/** Returns the versions that the registry has of a target's base binary package. */
export async function listBaseVersions(target: Target, cwd: string): Promise<string[]> {
  try {
    const { stdout } = await runNpm(['view', target.base.package, 'versions', '--json'], { cwd });
    const parsed = JSON.parse(stdout) as string[] | string;
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch (error) {
    if (error instanceof NpmCommandError && error.npmCode === 'E404') return [];
    throw error;
  }
}

async function registryDist(target: Target, nodeVersion: string, cwd: string): Promise<RegistryDist> {
  const spec = `${target.base.package}@${nodeVersion}`;
  const { stdout } = await runNpm(['view', spec, 'dist', '--json'], { cwd });
  // npm view prints nothing, and exits 0, for a version that does not exist.
  if (stdout.trim() === '') {
    throw new DuoSeaError({
      code: 'E_NO_BASE_BINARY',
      stage: 'base-binary',
      target: target.id,
      input: spec,
      message: `The registry has no ${spec}, so there is no Node ${nodeVersion} base binary for ${target.id}.`,
      hint: `List the versions it has with: npm view ${target.base.package} versions`,
    });
  }
  return JSON.parse(stdout) as RegistryDist;
}

export interface DownloadedBinary {
  tempFile: string;
  sha256: string;
}

/**
 * Downloads a target's base binary package, checks it against the registry's
 * integrity and extracts the binary into the cache's temporary folder.
 */
export async function downloadBaseBinary(options: {
  target: Target;
  nodeVersion: string;
  cache: ContentCache;
  report: Reporter;
  cwd: string;
}): Promise<DownloadedBinary> {
  const { target, nodeVersion, cache, report } = options;
  const dist = await registryDist(target, nodeVersion, options.cwd);
  const tarball = await cache.tempPath(`${target.base.package}-${nodeVersion}.tgz`);
  const extractDir = await cache.tempPath(`${target.base.package}-${nodeVersion}`);
  try {
    const integrity = await downloadFile({
      url: dist.tarball,
      destination: tarball,
      stage: 'base-binary',
      target: target.id,
      onProgress: (receivedBytes, totalBytes) =>
        report({ kind: 'download', target: target.id, file: path.basename(dist.tarball), receivedBytes, totalBytes }),
    });
    if (integrity !== dist.integrity) {
      throw new DuoSeaError({
        code: 'E_CHECKSUM_MISMATCH',
        stage: 'base-binary',
        target: target.id,
        input: dist.tarball,
        message: `The download of ${dist.tarball} does not match the registry's integrity.`,
        expected: dist.integrity,
        found: integrity,
        hint: 'Run the build again; if it fails the same way, the registry or a proxy serves a damaged file.',
      });
    }

    await mkdir(extractDir, { recursive: true });
    const member = `package/${target.base.binaryPath}`;
    await tar.x({ file: tarball, cwd: extractDir, filter: (entryPath) => entryPath === member });
    const extracted = path.join(extractDir, member);
    const found = await stat(extracted).catch(() => undefined);
    if (!found?.isFile()) {
      throw new DuoSeaError({
        code: 'E_NO_BASE_BINARY',
        stage: 'base-binary',
        target: target.id,
        input: dist.tarball,
        message: `${target.base.package}@${nodeVersion} has no ${target.base.binaryPath}.`,
        hint: `The base package layout changed; set base.binaryPath in targets/${target.id}.json.`,
      });
    }
    const tempFile = await cache.tempPath(`${target.base.package}-${nodeVersion}-binary`);
    await rename(extracted, tempFile);
    return { tempFile, sha256: await sha256File(tempFile) };
  } finally {
    await rm(tarball, { force: true });
    await rm(extractDir, { recursive: true, force: true });
  }
}

/**
 * Returns a target's Node base binary from the cache, downloading it from the
 * registry on a miss. The binary must match the SHA-256 pinned in the
 * checksums folder; an unpinned version is an error, not trust on first use.
 */
export async function fetchBaseBinary(options: {
  target: Target;
  nodeVersion: string;
  cache: ContentCache;
  checksumsDir: string;
  report: Reporter;
  cwd: string;
}): Promise<BaseBinary> {
  const { target, nodeVersion, cache, checksumsDir } = options;
  const source = `npm:${target.base.package}@${nodeVersion}`;
  const key = checksumKey(target.base.package, nodeVersion, target.base.binaryPath);
  const pinned = await pinnedSha256(checksumsDir, target.base.package, nodeVersion, target.base.binaryPath);
  if (!pinned) {
    throw new DuoSeaError({
      code: 'E_NOT_PINNED',
      stage: 'base-binary',
      target: target.id,
      input: path.join(checksumsDir, checksumFileName(nodeVersion)),
      message: `No SHA-256 is pinned for ${key}.`,
      hint: `Pin it from a trusted network with: npm run pin-checksums -- ${nodeVersion} (then review and commit the file), or pass --checksums DIR.`,
    });
  }

  const cached = await cache.lookup(pinned);
  if (cached) return { path: cached, sha256: pinned, sizeBytes: (await stat(cached)).size, source };

  const downloaded = await downloadBaseBinary(options);
  if (downloaded.sha256 !== pinned) {
    await rm(downloaded.tempFile, { force: true });
    throw new DuoSeaError({
      code: 'E_CHECKSUM_MISMATCH',
      stage: 'base-binary',
      target: target.id,
      input: key,
      message: `The base binary ${key} does not match the SHA-256 pinned in ${path.join(checksumsDir, checksumFileName(nodeVersion))}.`,
      expected: pinned,
      found: downloaded.sha256,
      hint: 'Do not use this binary. Check which registry npm uses (npm config get registry); if the pin is wrong, pin again from a trusted network.',
    });
  }
  await chmod(downloaded.tempFile, 0o755);
  const entry = await cache.commit(downloaded.tempFile, pinned);
  return { path: entry, sha256: pinned, sizeBytes: (await stat(entry)).size, source };
}
