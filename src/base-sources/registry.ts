import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import type { ContentCache } from '../cache.js';
import { checksumFileName, checksumKey, pinnedSha256 } from '../checksums.js';
import { downloadFile } from '../download.js';
import { DuoSeaError } from '../errors.js';
import type { Reporter } from '../events.js';
import { sha256File } from '../hash.js';
import { NpmCommandError, runNpm } from '../npm.js';
import type { Target } from '../targets.js';
import type { BaseBinary, BaseSource, SourceContext, Unavailable } from './source.js';

interface RegistryDist {
  tarball: string;
  integrity: string;
}

type NpmBase = NonNullable<Target['base']>;

/** Returns the target's npm package of Node base binaries, or throws for a target that has none (musl). */
function npmBase(target: Target): NpmBase {
  if (target.base) return target.base;
  throw new DuoSeaError({
    code: 'E_NO_BASE_BINARY',
    stage: 'base-binary',
    target: target.id,
    input: target.id,
    message: `The npm registry has no package of Node base binaries for ${target.id}.`,
    hint: `Pass --node-unofficial-mirror URL, or --node-binary ${target.id}=PATH.`,
  });
}

/** Returns the versions that the registry has of a target's base binary package. */
export async function listBaseVersions(target: Target, cwd: string): Promise<string[]> {
  try {
    const { stdout } = await runNpm(['view', npmBase(target).package, 'versions', '--json'], { cwd });
    const parsed = JSON.parse(stdout) as string[] | string;
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch (error) {
    if (error instanceof NpmCommandError && error.npmCode === 'E404') return [];
    throw error;
  }
}

async function registryDist(target: Target, nodeVersion: string, cwd: string): Promise<RegistryDist> {
  const spec = `${npmBase(target).package}@${nodeVersion}`;
  const { stdout } = await runNpm(['view', spec, 'dist', '--json'], { cwd });
  // npm view prints nothing, and exits 0, for a version that does not exist.
  if (stdout.trim() === '') {
    throw new DuoSeaError({
      code: 'E_NO_BASE_BINARY',
      stage: 'base-binary',
      target: target.id,
      input: spec,
      message: `The registry has no ${spec}, so there is no Node ${nodeVersion} base binary for ${target.id}.`,
      hint: `List the versions it has with: npm view ${npmBase(target).package} versions`,
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
  const base = npmBase(target);
  const dist = await registryDist(target, nodeVersion, options.cwd);
  const tarball = await cache.tempPath(`${base.package}-${nodeVersion}.tgz`);
  const extractDir = await cache.tempPath(`${base.package}-${nodeVersion}`);
  try {
    const { integrity } = await downloadFile({
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
    const member = `package/${base.binaryPath}`;
    await tar.x({ file: tarball, cwd: extractDir, filter: (entryPath) => entryPath === member });
    const extracted = path.join(extractDir, member);
    const found = await stat(extracted).catch(() => undefined);
    if (!found?.isFile()) {
      throw new DuoSeaError({
        code: 'E_NO_BASE_BINARY',
        stage: 'base-binary',
        target: target.id,
        input: dist.tarball,
        message: `${base.package}@${nodeVersion} has no ${base.binaryPath}.`,
        hint: `The base package layout changed; set base.binaryPath in targets/${target.id}.json.`,
      });
    }
    const tempFile = await cache.tempPath(`${base.package}-${nodeVersion}-binary`);
    await rename(extracted, tempFile);
    return { tempFile, sha256: await sha256File(tempFile) };
  } finally {
    await rm(tarball, { force: true });
    await rm(extractDir, { recursive: true, force: true });
  }
}

function notPinned(base: NpmBase, nodeVersion: string): Unavailable {
  return {
    code: 'E_NOT_PINNED',
    input: `${base.package}@${nodeVersion}`,
    reason: `no SHA-256 is pinned for ${checksumKey(base.package, nodeVersion, base.binaryPath)}`,
    hint: `Pin it with: npm run pin-checksums -- ${nodeVersion}, or pass --checksums DIR.`,
  };
}

/**
 * The default source: the npm registry packages `node-<os>-<arch>`, each
 * binary checked against npm's integrity and the SHA-256 pinned in the
 * checksums folder. An unpinned version is an error, not trust on first use.
 */
export class RegistrySource implements BaseSource {
  constructor(private readonly context: SourceContext & { checksumsDir: string }) {}

  private pinned(target: Target): Promise<string | undefined> {
    const base = npmBase(target);
    return pinnedSha256(this.context.checksumsDir, base.package, this.context.nodeVersion, base.binaryPath);
  }

  async unavailable(target: Target): Promise<Unavailable | undefined> {
    const { nodeVersion, cwd } = this.context;
    const base = npmBase(target);
    if (await this.pinned(target)) return undefined;
    if (this.context.offline) return notPinned(base, nodeVersion);

    const versions = await listBaseVersions(target, cwd);
    if (!versions.includes(nodeVersion)) {
      const sameMajor = versions.filter((version) => version.split('.')[0] === nodeVersion.split('.')[0]);
      const nearby = sameMajor.length > 0 ? ` (it has ${sameMajor.slice(-3).join(', ')})` : '';
      return {
        code: 'E_NO_BASE_BINARY',
        input: `${base.package}@${nodeVersion}`,
        reason: `the registry has no ${base.package}@${nodeVersion}${nearby}`,
        hint: `Pick another --node version (npm view ${base.package} versions), or leave out --target ${target.id}.`,
      };
    }
    return notPinned(base, nodeVersion);
  }

  async fetch(target: Target): Promise<BaseBinary> {
    const { nodeVersion, cache, checksumsDir } = this.context;
    const base = npmBase(target);
    const source = `npm:${base.package}@${nodeVersion}`;
    const key = checksumKey(base.package, nodeVersion, base.binaryPath);
    const pinned = await this.pinned(target);
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
    if (this.context.offline) {
      throw new DuoSeaError({
        code: 'E_OFFLINE_UNAVAILABLE',
        stage: 'base-binary',
        target: target.id,
        input: cache.entryPath(pinned),
        message: `The base binary ${key} is not in the cache (${cache.entryPath(pinned)}), and --offline forbids downloading it.`,
        hint: `Build once with network access and the same --cache, or fetch a kit with: duo-sea fetch <package> --target ${target.id} --node ${nodeVersion} --kit DIR, then build with --kit DIR.`,
      });
    }

    const downloaded = await downloadBaseBinary({ ...this.context, target });
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
    const entry = await cache.commit(downloaded.tempFile, pinned, { kind: 'base', source, target: target.id });
    return { path: entry, sha256: pinned, sizeBytes: (await stat(entry)).size, source };
  }
}
