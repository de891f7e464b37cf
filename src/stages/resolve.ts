import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import { DuoSeaError, messageOf } from '../errors.js';
import { NpmCommandError, runNpm } from '../npm.js';

/** The fields of a package.json that duo-sea reads. */
export interface PackageManifest {
  name: string;
  version: string;
  bin?: string | Record<string, string>;
  engines?: { node?: string };
  type?: string;
}

export interface ResolvedPackage {
  name: string;
  version: string;
  /** `sha512-...` integrity of the package tarball. */
  integrity: string;
  /** The package tarball in the build's work folder; every target installs this same file. */
  tarballPath: string;
  manifest: PackageManifest;
}

export interface BinChoice {
  name: string;
  /** Path of the bin script relative to the package folder, with `/` separators. */
  scriptPath: string;
}

interface PackResult {
  name: string;
  version: string;
  filename: string;
  integrity: string;
}

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || spec.endsWith('.tgz') || spec.endsWith('.tar.gz') || /^[A-Za-z]:[\\/]/.test(spec);
}

/** Returns the unscoped part of a package name: `srt` for `@scope/srt`. */
export function unscopedName(name: string): string {
  return name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
}

/**
 * Turns an npm spec, a `.tgz` made by `npm pack` or a package folder into a
 * tarball in `workDir`, using npm itself so that the user's `.npmrc`
 * registries and tokens apply. Scripts of a package folder are not run.
 * With `offline`, npm takes a registry package from its cache only.
 */
export async function resolvePackage(options: { spec: string; workDir: string; cwd: string; offline?: boolean }): Promise<ResolvedPackage> {
  const { workDir, cwd } = options;
  let spec = options.spec;
  if (looksLikePath(spec)) {
    const absolute = path.resolve(cwd, spec);
    if (!existsSync(absolute)) {
      throw new DuoSeaError({
        code: 'E_PACKAGE_NOT_FOUND',
        stage: 'resolve',
        input: spec,
        message: `The package path ${absolute} does not exist.`,
        hint: 'Pass an npm spec (name@version), a .tgz made by npm pack, or a package folder.',
      });
    }
    spec = statSync(absolute).isDirectory() ? absolute : `file:${absolute}`;
  }

  let packed: PackResult;
  try {
    const offline = options.offline ? ['--offline'] : [];
    const { stdout } = await runNpm(['pack', spec, '--json', '--ignore-scripts', ...offline, '--pack-destination', workDir], { cwd });
    packed = (JSON.parse(stdout) as PackResult[])[0];
  } catch (error) {
    throw packError(options.spec, error);
  }

  const tarballPath = path.join(workDir, packed.filename);
  const manifest = await readManifestFromTarball(tarballPath, options.spec);
  return { name: packed.name, version: packed.version, integrity: packed.integrity, tarballPath, manifest };
}

function packError(spec: string, error: unknown): DuoSeaError {
  const npmCode = error instanceof NpmCommandError ? error.npmCode : undefined;
  if (npmCode === 'ENOTCACHED') {
    return new DuoSeaError({
      code: 'E_OFFLINE_UNAVAILABLE',
      stage: 'resolve',
      input: spec,
      message: `The package ${spec} is not in npm's cache, and --offline forbids downloading it.`,
      hint: 'Build it once with network access, or fetch a kit with: duo-sea fetch ' + spec + ' --kit DIR, then build with --kit DIR.',
      cause: error,
    });
  }
  if (npmCode === 'E404' || npmCode === 'ETARGET' || npmCode === 'ENOENT' || npmCode === 'ENOVERSIONS') {
    return new DuoSeaError({
      code: 'E_PACKAGE_NOT_FOUND',
      stage: 'resolve',
      input: spec,
      message: `The package ${spec} was not found (npm ${npmCode}).`,
      hint: 'Check the name and version with: npm view ' + spec + ' version',
      cause: error,
    });
  }
  return new DuoSeaError({
    code: 'E_PACKAGE_INVALID',
    stage: 'resolve',
    input: spec,
    message: `npm could not fetch ${spec}: ${messageOf(error)}`,
    hint: 'Run npm pack ' + spec + ' yourself to see the full error.',
    cause: error,
  });
}

/** Reads package.json from a package tarball, whatever its top folder is called. */
export async function readManifestFromTarball(tarballPath: string, spec: string): Promise<PackageManifest> {
  const chunks: Buffer[] = [];
  await tar.t({
    file: tarballPath,
    filter: (entryPath) => /^[^/]+\/package\.json$/.test(entryPath),
    onReadEntry: (entry) => {
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    },
  });
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as PackageManifest;
  } catch (error) {
    throw new DuoSeaError({
      code: 'E_PACKAGE_INVALID',
      stage: 'resolve',
      input: spec,
      message: `The package ${spec} has no readable package.json.`,
      hint: 'Check that the tarball was made by npm pack.',
      cause: error,
    });
  }
}

/**
 * Returns the bin entries as npm installs them: each name reduced to its base
 * name and each script path kept inside the package, so a bin name can never
 * place the executable outside the output folder.
 */
function binEntries(manifest: PackageManifest): [string, string][] {
  const raw: [string, string][] =
    typeof manifest.bin === 'string' ? [[unscopedName(manifest.name), manifest.bin]] : Object.entries(manifest.bin ?? {});
  const entries: [string, string][] = [];
  for (const [rawName, rawScript] of raw) {
    if (typeof rawScript !== 'string') continue;
    const name = path.posix.basename(rawName.replaceAll('\\', '/'));
    const scriptPath = path.posix.join('/', rawScript.replaceAll('\\', '/')).slice(1);
    if (name === '' || name === '.' || name === '..' || scriptPath === '') continue;
    entries.push([name, scriptPath]);
  }
  return entries;
}

/**
 * Picks the bin entry to package: the one named `requested`, else the only
 * one, else the one named like the package without its scope.
 */
export function chooseBin(manifest: PackageManifest, requested: string | undefined): BinChoice {
  const entries = binEntries(manifest);
  const names = entries.map(([name]) => name).join(', ');

  if (entries.length === 0) {
    throw new DuoSeaError({
      code: 'E_NO_BIN',
      stage: 'resolve',
      input: `${manifest.name}@${manifest.version}`,
      message: `The package ${manifest.name}@${manifest.version} has no "bin" entry, so it has no command-line program to package.`,
      hint: 'Package a program that declares "bin" in its package.json.',
    });
  }
  if (requested !== undefined) {
    const match = entries.find(([name]) => name === requested);
    if (match) return { name: match[0], scriptPath: match[1] };
    throw new DuoSeaError({
      code: 'E_UNKNOWN_BIN',
      stage: 'resolve',
      input: requested,
      expected: names,
      message: `The package ${manifest.name} has no bin named "${requested}".`,
      hint: `Pass --bin with one of: ${names}.`,
    });
  }
  if (entries.length === 1) return { name: entries[0][0], scriptPath: entries[0][1] };
  const named = entries.find(([name]) => name === unscopedName(manifest.name));
  if (named) return { name: named[0], scriptPath: named[1] };
  throw new DuoSeaError({
    code: 'E_AMBIGUOUS_BIN',
    stage: 'resolve',
    input: `${manifest.name}@${manifest.version}`,
    expected: names,
    message: `The package ${manifest.name} has ${entries.length} bin entries (${names}) and none is named "${unscopedName(manifest.name)}".`,
    hint: `Pass --bin with one of: ${names}.`,
  });
}
