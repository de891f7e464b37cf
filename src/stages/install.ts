import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DuoSeaError, messageOf } from '../errors.js';
import { NpmCommandError, lastErrorLines, runNpm } from '../npm.js';
import type { Target } from '../targets.js';
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
 */
export async function installForTarget(options: {
  pkg: ResolvedPackage;
  extraSpecs: string[];
  target: Target;
  workDir: string;
  cwd: string;
}): Promise<InstalledTree> {
  const { pkg, target, cwd } = options;
  const rootDir = path.join(options.workDir, 'install', target.id);
  await mkdir(rootDir, { recursive: true });
  await writeFile(
    path.join(rootDir, 'package.json'),
    JSON.stringify({ name: 'duo-sea-install', private: true, dependencies: { [pkg.name]: `file:${pkg.tarballPath}` } }, null, 2),
  );
  // The project's .npmrc decides registries and tokens; npm only reads it from the folder it runs in.
  const projectNpmrc = path.join(cwd, '.npmrc');
  if (existsSync(projectNpmrc)) await copyFile(projectNpmrc, path.join(rootDir, '.npmrc'));

  const args = [
    'install',
    ...options.extraSpecs,
    '--omit=dev',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    '--no-save',
    `--os=${target.os}`,
    `--cpu=${target.arch}`,
  ];
  if (target.libc) args.push(`--libc=${target.libc}`);
  try {
    await runNpm(args, { cwd: rootDir });
  } catch (error) {
    const detail = error instanceof NpmCommandError ? lastErrorLines(error.stderr) : messageOf(error);
    throw new DuoSeaError({
      code: 'E_INSTALL_FAILED',
      stage: 'install',
      target: target.id,
      input: `${pkg.name}@${pkg.version}`,
      message: `npm could not install ${pkg.name}@${pkg.version} for ${target.id}: ${detail}`,
      hint: `Reproduce it with: npm install --omit=dev --ignore-scripts --os=${target.os} --cpu=${target.arch} ${pkg.name}@${pkg.version}`,
      cause: error,
    });
  }
  return { rootDir, packageDir: path.join(rootDir, 'node_modules', ...pkg.name.split('/')) };
}
