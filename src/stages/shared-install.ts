import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Reporter } from '../events.js';
import type { Target } from '../targets.js';
import { installForTarget, type InstalledTree } from './install.js';

export type InstallOptions = Parameters<typeof installForTarget>[0];

/** package.json fields that make npm's choice of packages depend on the target. */
const PLATFORM_FIELDS = ['os', 'cpu', 'libc', 'optionalDependencies'] as const;

/**
 * Returns the first installed package whose package.json has a field that
 * makes npm's choice depend on the target: `os`, `cpu` or `libc`, or
 * optional dependencies, which is how platform packages are pulled in. An
 * optional dependency that npm left out leaves no trace in the tree, so its
 * parent's field is what shows it. Returns undefined for a tree that npm
 * would install the same way for every target.
 */
export async function findPlatformDependentPackage(rootDir: string): Promise<string | undefined> {
  const visit = async (modulesDir: string): Promise<string | undefined> => {
    let entries;
    try {
      entries = await readdir(modulesDir, { withFileTypes: true });
    } catch {
      // A package without a node_modules folder of its own.
      return undefined;
    }
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const folder = path.join(modulesDir, entry.name);
      const packageDirs = entry.name.startsWith('@')
        ? (await readdir(folder, { withFileTypes: true })).filter((scoped) => scoped.isDirectory()).map((scoped) => path.join(folder, scoped.name))
        : [folder];
      for (const packageDir of packageDirs) {
        const found = (await platformFieldOf(packageDir)) ?? (await visit(path.join(packageDir, 'node_modules')));
        if (found) return found;
      }
    }
    return undefined;
  };
  return visit(path.join(rootDir, 'node_modules'));
}

/** Returns `<name> has "<field>"` for a package whose package.json has a platform field, or undefined. */
async function platformFieldOf(packageDir: string): Promise<string | undefined> {
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    // A folder without a readable package.json is no package npm chose.
    return undefined;
  }
  const field = PLATFORM_FIELDS.find((name) => manifest[name] !== undefined);
  if (!field) return undefined;
  const name = typeof manifest.name === 'string' ? manifest.name : path.basename(packageDir);
  return `${name} has "${field}"`;
}

/**
 * Installs the program once per build when npm would install the same tree
 * for every target: when no installed package has a platform field (see
 * findPlatformDependentPackage). The first target installs; the others wait
 * for it and reuse its folder, or install their own when its tree depends
 * on the target. An install from a kit's lockfile is never shared, since
 * each target has a lockfile of its own.
 */
export class SharedInstalls {
  private first?: { promise: Promise<{ tree: InstalledTree; dependentPackage?: string }>; target: Target };

  constructor(private readonly report: Reporter) {}

  async install(options: InstallOptions): Promise<InstalledTree> {
    if (options.lockfile) return installForTarget(options);
    if (!this.first) {
      const promise = installForTarget(options).then(async (tree) => ({ tree, dependentPackage: await findPlatformDependentPackage(tree.rootDir) }));
      this.first = { promise, target: options.target };
      return (await promise).tree;
    }
    const first = this.first;
    const earlier = await first.promise.catch(() => undefined);
    if (!earlier || earlier.dependentPackage !== undefined) return installForTarget(options);
    this.report({ kind: 'info', target: options.target.id, message: `reused the install of ${first.target.id}: no installed package has a platform field` });
    return earlier.tree;
  }
}
