import { createHash } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { compareCodeUnits } from '../compare.js';
import type { Reporter } from '../events.js';
import { bundleProgram, type BundleResult } from './bundle.js';

export type BundleOptions = Parameters<typeof bundleProgram>[0];

/** npm's record of the install, which esbuild never reads. */
const UNREAD_NAMES = new Set(['.package-lock.json']);

/**
 * Returns the SHA-256 of an installed tree: every path below `rootDir`
 * with its file content or symbolic link target, in code-unit order.
 */
export async function hashInstalledTree(rootDir: string): Promise<string> {
  const hash = createHash('sha256');
  const visit = async (folder: string, relativeFolder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    entries.sort((left, right) => compareCodeUnits(left.name, right.name));
    for (const entry of entries) {
      const relativePath = relativeFolder === '' ? entry.name : `${relativeFolder}/${entry.name}`;
      const absolutePath = path.join(folder, entry.name);
      if (UNREAD_NAMES.has(entry.name)) continue;
      if (entry.isDirectory()) {
        hash.update(`dir\0${relativePath}\0`);
        await visit(absolutePath, relativePath);
      } else if (entry.isSymbolicLink()) {
        hash.update(`link\0${relativePath}\0${await readlink(absolutePath)}\0`);
      } else if (entry.isFile()) {
        const content = await readFile(absolutePath);
        hash.update(`file\0${relativePath}\0${content.length}\0`);
        hash.update(content);
      }
    }
  };
  await visit(rootDir, '');
  return hash.digest('hex');
}

/**
 * Bundles each distinct installed tree once per build. esbuild's output
 * depends on the files it reads and on the bundle options, and not on the
 * target: the target id only appears in error messages, and paths in the
 * output are relative to the tree's root. Targets whose installs have the
 * same files therefore share one bundle, while a target whose install
 * differs, such as by a platform package, gets its own.
 */
export class SharedBundles {
  private readonly bundles = new Map<string, { promise: Promise<BundleResult>; targetId: string }>();
  /** Tree hashes by root folder: targets that share one install hash it once. */
  private readonly treeHashes = new Map<string, Promise<string>>();

  constructor(private readonly report: Reporter) {}

  async bundle(options: BundleOptions): Promise<BundleResult> {
    let treeHash = this.treeHashes.get(options.rootDir);
    if (!treeHash) {
      treeHash = hashInstalledTree(options.rootDir);
      this.treeHashes.set(options.rootDir, treeHash);
    }
    const key = bundleKey(options, await treeHash);
    const earlier = this.bundles.get(key);
    if (earlier) {
      const result = await earlier.promise;
      this.report({ kind: 'info', target: options.targetId, message: `reused the bundle of ${earlier.targetId}, whose installed files are the same` });
      return result;
    }
    const promise = bundleProgram(options);
    this.bundles.set(key, { promise, targetId: options.targetId });
    return promise;
  }
}

/** Returns a key of the tree's content, the entry's place in it, and every other bundle option but the target. */
function bundleKey(options: BundleOptions, treeHash: string): string {
  const { rootDir, entryPath, targetId: _targetId, ...rest } = options;
  const described = {
    tree: treeHash,
    entry: path.relative(rootDir, entryPath).split(path.sep).join('/'),
    options: Object.fromEntries(Object.entries(rest).sort(([left], [right]) => compareCodeUnits(left, right))),
  };
  return createHash('sha256').update(JSON.stringify(described)).digest('hex');
}
