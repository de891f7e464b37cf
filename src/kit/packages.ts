import { copyFile, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError, messageOf } from '../errors.js';
import { NpmCommandError, lastErrorLines, runNpm } from '../npm.js';
import { digestFile } from './files.js';
import { packageKey, type InstalledPackage } from './lockfile.js';
import { KIT_PACKAGES_DIR, type KitPackage } from './manifest.js';
import { compareCodeUnits } from '../compare.js';

/** Specs per `npm pack` call, so that the command line stays far below the 32 KiB that Windows allows. */
const PACK_BATCH_SIZE = 100;

/** A package that the kit needs, with where its tarball comes from and the integrity that npm's lockfile records. */
export interface RequiredPackage {
  name: string;
  version: string;
  integrity?: string;
  /** An npm spec for the registry, or the absolute path of a tarball file. */
  from: { registry: string } | { file: string };
}

/** Returns the file name that `npm pack` gives a package tarball: `@scope/name@1.0.0` becomes `scope-name-1.0.0.tgz`. */
export function tarballFileName(name: string, version: string): string {
  return `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
}

/** True for a `resolved` URL in the npm registry's tarball layout, `<registry>/<name>/-/<file>.tgz`. */
function isRegistryTarballUrl(resolved: string): boolean {
  return /^https?:\/\/.+\/-\/[^/]+\.tgz$/.test(resolved);
}

/**
 * Returns where the kit gets an installed package's tarball: from the
 * registry (npm leaves out `resolved` for registry packages when
 * omit-lockfile-registry-resolved is set), or from the tarball file that
 * the install used. Git, URL and folder dependencies are rejected: npm ci
 * would not accept a `file:` tarball in their place.
 */
export function requiredPackage(installed: InstalledPackage, installRoot: string): RequiredPackage {
  const { name, version, resolved, integrity } = installed;
  if (!installed.link && (resolved === undefined || isRegistryTarballUrl(resolved))) {
    return { name, version, integrity, from: { registry: packageKey(name, version) } };
  }
  if (!installed.link && resolved?.startsWith('file:') && /\.(tgz|tar\.gz)$/.test(resolved)) {
    return { name, version, integrity, from: { file: path.resolve(installRoot, resolved.slice('file:'.length)) } };
  }
  throw new DuoSeaError({
    code: 'E_PACKAGE_INVALID',
    stage: 'fetch',
    input: `${name}@${version}`,
    found: installed.link ? 'a linked folder' : resolved,
    message: `${name}@${version} is installed from ${installed.link ? 'a folder' : resolved}, and a kit contains only registry packages and tarball files.`,
    hint: 'Depend on a published version of it, or pass a .tgz made by npm pack.',
  });
}

function integrityMismatch(required: RequiredPackage, file: string, found: string): DuoSeaError {
  return new DuoSeaError({
    code: 'E_CHECKSUM_MISMATCH',
    stage: 'fetch',
    input: file,
    expected: required.integrity,
    found,
    message: `The tarball of ${required.name}@${required.version} does not have the integrity that npm's lockfile records for it.`,
    hint: 'Run the fetch again; if it fails the same way, the registry or a proxy serves a file other than the one npm installed.',
  });
}

/** Checks a tarball in the kit against the lockfile's integrity and describes it. */
async function describePackage(kitDir: string, required: RequiredPackage, file: string): Promise<KitPackage> {
  const digests = await digestFile(path.join(kitDir, ...file.split('/')));
  if (required.integrity !== undefined && digests.integrity !== required.integrity) throw integrityMismatch(required, file, digests.integrity);
  return { file, sha256: digests.sha256, sizeBytes: digests.sizeBytes, name: required.name, version: required.version, integrity: digests.integrity };
}

interface PackedTarball {
  name: string;
  version: string;
  filename: string;
}

/** Downloads registry packages into `destination` with `npm pack`, so that the user's registries and tokens apply. */
async function packFromRegistry(specs: string[], destination: string, cwd: string): Promise<PackedTarball[]> {
  const packed: PackedTarball[] = [];
  for (let start = 0; start < specs.length; start += PACK_BATCH_SIZE) {
    const batch = specs.slice(start, start + PACK_BATCH_SIZE);
    try {
      const { stdout } = await runNpm(['pack', ...batch, '--json', '--ignore-scripts', '--pack-destination', destination], { cwd });
      packed.push(...(JSON.parse(stdout) as PackedTarball[]));
    } catch (error) {
      const detail = error instanceof NpmCommandError ? lastErrorLines(error.stderr) : messageOf(error);
      throw new DuoSeaError({
        code: 'E_DOWNLOAD_FAILED',
        stage: 'fetch',
        input: batch.join(' '),
        message: `npm pack could not download the dependency tarballs: ${detail}`,
        hint: 'Check that the registry is reachable (npm ping), then run the fetch again.',
        cause: error,
      });
    }
  }
  return packed;
}

/**
 * Puts the tarball of every required package into the kit's packages/ folder and
 * returns them, sorted by file, each checked against the integrity that
 * npm's lockfile records.
 */
export async function addPackagesToKit(options: { kitDir: string; required: RequiredPackage[]; cwd: string }): Promise<KitPackage[]> {
  const { kitDir, required } = options;
  const folder = path.join(kitDir, KIT_PACKAGES_DIR);
  await mkdir(folder, { recursive: true });
  const fileOf = (item: RequiredPackage): string => `${KIT_PACKAGES_DIR}/${tarballFileName(item.name, item.version)}`;
  checkFileNames(required.map((item) => ({ key: packageKey(item.name, item.version), file: fileOf(item) })));

  const registry = required.filter((item) => 'registry' in item.from);
  const packed = await packFromRegistry(registry.map((item) => (item.from as { registry: string }).registry), folder, options.cwd);
  for (const tarball of packed) {
    const expected = tarballFileName(tarball.name, tarball.version);
    if (tarball.filename !== expected) {
      // npm 11 names tarballs this way; the rename keeps kit names stable if a later npm does not.
      await rename(path.join(folder, tarball.filename), path.join(folder, expected));
    }
  }
  for (const item of required) {
    if ('file' in item.from) await copyFile(item.from.file, path.join(kitDir, ...fileOf(item).split('/')));
  }

  const described: KitPackage[] = [];
  for (const item of required) described.push(await describePackage(kitDir, item, fileOf(item)));
  return described.sort((left, right) => compareCodeUnits(left.file, right.file));
}

/** Rejects two packages whose tarballs would get one file name, such as `@a/b-c` and `@a-b/c` of one version. */
function checkFileNames(items: { key: string; file: string }[]): void {
  const byFile = new Map<string, string>();
  for (const { key, file } of items) {
    const other = byFile.get(file);
    if (other !== undefined && other !== key) {
      throw new DuoSeaError({
        code: 'E_PACKAGE_INVALID',
        stage: 'fetch',
        input: file,
        message: `The packages ${other} and ${key} would both be stored as ${file} in the kit.`,
        hint: 'Report this: the kit format cannot store both packages yet.',
      });
    }
    byFile.set(file, key);
  }
}
