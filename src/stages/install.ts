import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DuoSeaError, messageOf } from '../errors.js';
import { NpmCommandError, lastErrorLines, runNpm } from '../npm.js';
import type { Target } from '../targets.js';
import type { PackageLock } from '../kit/lockfile.js';
import type { ResolvedPackage } from './resolve.js';

export interface InstalledTree {
  /** Folder that contains `node_modules`. It becomes the payload root. */
  rootDir: string;
  /** The program's own package folder inside `node_modules`. */
  packageDir: string;
}

/**
 * Installs the program and its production dependencies for one target, the
 * way `npm install` would on that target: npm's `--os`, `--cpu` and `--libc`
 * choose the optional platform packages of the target, not of this host.
 * Install scripts never run, so nothing the package ships executes here.
 * With a lockfile, `npm ci --offline` installs exactly its tree, from the
 * `file:` tarballs it names, with an empty npm cache of its own, so a
 * package that the lockfile cannot supply fails instead of being downloaded.
 */
export async function installForTarget(options: {
  pkg: ResolvedPackage;
  extraSpecs: string[];
  target: Target;
  workDir: string;
  cwd: string;
  /** Use only npm's cache, never the registry. */
  offline?: boolean;
  /** A package-lock.json with absolute `file:` tarball paths, from an offline kit. The extra specs must be in it. */
  lockfile?: PackageLock;
  /** Let npm write package-lock.json, for duo-sea fetch. */
  keepLockfile?: boolean;
}): Promise<InstalledTree> {
  const { pkg, target, cwd, lockfile } = options;
  const rootDir = path.join(options.workDir, 'install', target.id);
  await mkdir(rootDir, { recursive: true });
  const dependencies = lockfile?.packages['']?.dependencies ?? { [pkg.name]: `file:${pkg.tarballPath}` };
  await writeFile(path.join(rootDir, 'package.json'), JSON.stringify({ name: 'duo-sea-install', private: true, dependencies }, null, 2));
  if (lockfile) await writeFile(path.join(rootDir, 'package-lock.json'), JSON.stringify(lockfile, null, 2));
  // The project's .npmrc decides registries and tokens; npm only reads it from the folder it runs in.
  const projectNpmrc = path.join(cwd, '.npmrc');
  if (existsSync(projectNpmrc)) await copyFile(projectNpmrc, path.join(rootDir, '.npmrc'));

  const command = lockfile ? ['ci', '--offline', `--cache=${path.join(options.workDir, 'npm-cache')}`] : ['install', ...options.extraSpecs];
  const args = [...command, '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', `--os=${target.os}`, `--cpu=${target.arch}`];
  if (!lockfile && !options.keepLockfile) args.push('--no-save');
  if (!lockfile && options.offline) args.push('--offline');
  if (target.libc) args.push(`--libc=${target.libc}`);
  try {
    await runNpm(args, { cwd: rootDir });
  } catch (error) {
    const detail = error instanceof NpmCommandError ? lastErrorLines(error.stderr) : messageOf(error);
    if (error instanceof NpmCommandError && error.npmCode === 'ENOTCACHED') throw notCachedError({ pkg, target, detail, fromKit: lockfile !== undefined, cause: error });
    const programSpec = `${pkg.name}@${pkg.version}`;
    const withText = options.extraSpecs.map((spec) => ` --with ${spec}`).join('');
    const libc = target.libc ? ` --libc=${target.libc}` : '';
    throw new DuoSeaError({
      code: 'E_INSTALL_FAILED',
      stage: 'install',
      target: target.id,
      input: `${programSpec}${withText}`,
      message: `npm could not install ${programSpec}${withText} for ${target.id}: ${detail}`,
      hint: `Reproduce it with: npm install --omit=dev --ignore-scripts --os=${target.os} --cpu=${target.arch}${libc} ${[programSpec, ...options.extraSpecs].join(' ')}`,
      cause: error,
    });
  }
  return { rootDir, packageDir: path.join(rootDir, 'node_modules', ...pkg.name.split('/')) };
}

/** Returns the error for an offline install that needed a package from the registry. */
function notCachedError(options: { pkg: ResolvedPackage; target: Target; detail: string; fromKit: boolean; cause: unknown }): DuoSeaError {
  const { pkg, target } = options;
  return new DuoSeaError({
    code: 'E_OFFLINE_UNAVAILABLE',
    stage: 'install',
    target: target.id,
    input: `${pkg.name}@${pkg.version}`,
    message: options.fromKit
      ? `npm needed a package for ${target.id} that the kit's lockfile does not supply: ${options.detail}`
      : `npm needed a package for ${target.id} that is not in its cache, and --offline forbids downloading it: ${options.detail}`,
    hint: options.fromKit
      ? `Fetch the kit again with: duo-sea fetch ${pkg.name}@${pkg.version} --target ${target.id} --kit DIR`
      : `Build once with network access for ${target.id}, or fetch a kit with duo-sea fetch and build with --kit DIR.`,
    cause: options.cause,
  });
}
