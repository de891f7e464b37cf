import path from 'node:path';
import { isKitPath } from './manifest.js';

/** One package of npm's package-lock.json (lockfileVersion 2 or 3), with the fields duo-sea reads or rewrites. */
export interface LockfileEntry {
  /** The package's own name, when it differs from its folder name (an alias such as `"x": "npm:y@1"`). */
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** npm's package-lock.json, or its copy of the installed tree, `node_modules/.package-lock.json`. */
export interface PackageLock {
  name?: string;
  lockfileVersion: number;
  requires?: boolean;
  /** Entries by folder: `""` is the project itself, `node_modules/a/node_modules/b` a nested package. */
  packages: Record<string, LockfileEntry>;
}

/** A package that npm installed, as its lockfile records it. */
export interface InstalledPackage {
  location: string;
  name: string;
  version: string;
  resolved?: string;
  integrity?: string;
  link: boolean;
}

/** Returns `name@version`, the key that a kit and the lockfiles share for one package tarball. */
export function packageKey(name: string, version: string): string {
  return `${name}@${version}`;
}

function nameAt(location: string, entry: LockfileEntry): string {
  return entry.name ?? location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/**
 * Returns the packages of a lockfile, without the project entry. Applied to
 * `node_modules/.package-lock.json`, these are the packages that npm
 * installed: it lists only what is on the disk, so the optional packages of
 * other platforms are not in it.
 */
export function lockedPackages(lock: PackageLock): InstalledPackage[] {
  const found: InstalledPackage[] = [];
  for (const [location, entry] of Object.entries(lock.packages ?? {})) {
    if (!location.includes('node_modules/')) continue;
    found.push({
      location,
      name: nameAt(location, entry),
      version: entry.version ?? '',
      resolved: entry.resolved,
      integrity: entry.integrity,
      link: entry.link === true,
    });
  }
  return found;
}

/**
 * Returns a copy of a lockfile in which every package that `files` has
 * (by `name@version`) is `resolved` to `file:<prefix><kit path>`, and each
 * `file:` dependency of the project names that same file. The kit stores its
 * lockfiles with an empty prefix, so paths are relative to the kit folder.
 */
export function pointLockfileAt(lock: PackageLock, files: ReadonlyMap<string, string>, prefix: string): PackageLock {
  const packages: Record<string, LockfileEntry> = {};
  for (const [location, entry] of Object.entries(lock.packages)) {
    const file = location === '' || entry.version === undefined ? undefined : files.get(packageKey(nameAt(location, entry), entry.version));
    packages[location] = file === undefined ? { ...entry } : { ...entry, resolved: `file:${prefix}${file}` };
  }

  const project = packages[''];
  if (project?.dependencies) {
    const dependencies: Record<string, string> = {};
    for (const [name, spec] of Object.entries(project.dependencies)) {
      const location = `node_modules/${name}`;
      const installed = lock.packages[location];
      const file = installed?.version === undefined ? undefined : files.get(packageKey(nameAt(location, installed), installed.version));
      dependencies[name] = spec.startsWith('file:') && file !== undefined ? `file:${prefix}${file}` : spec;
    }
    packages[''] = { ...project, dependencies };
  }
  return { ...lock, packages };
}

/**
 * Returns a kit lockfile with its `file:<kit path>` values made absolute, so
 * that npm finds the tarballs in the kit folder from any install folder.
 */
export function lockfileInKit(lock: PackageLock, kitDir: string): PackageLock {
  const absolute = (value: string): string => {
    const relative = value.slice('file:'.length);
    return value.startsWith('file:') && isKitPath(relative) ? `file:${path.join(kitDir, ...relative.split('/'))}` : value;
  };
  const packages: Record<string, LockfileEntry> = {};
  for (const [location, entry] of Object.entries(lock.packages)) {
    const copy: LockfileEntry = { ...entry };
    if (typeof entry.resolved === 'string') copy.resolved = absolute(entry.resolved);
    if (location === '' && entry.dependencies) {
      copy.dependencies = Object.fromEntries(Object.entries(entry.dependencies).map(([name, spec]) => [name, absolute(spec)]));
    }
    packages[location] = copy;
  }
  return { ...lock, packages };
}
