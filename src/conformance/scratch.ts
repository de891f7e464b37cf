import { copyFile, link, mkdir, mkdtemp, readdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { PathReplacement } from './compare.js';

/** The folders of one run: the working folder with the entry's files, and a fresh HOME and TMPDIR. */
export interface Scratch {
  root: string;
  cwd: string;
  home: string;
  tmp: string;
}

/**
 * Creates a scratch folder under `parent` that contains `files`. Both sides
 * use labels of the same length, so their paths have the same length and
 * columns that a program aligns after a path still line up.
 */
export async function createScratch(parent: string, label: string, files: Readonly<Record<string, string>>): Promise<Scratch> {
  await mkdir(parent, { recursive: true });
  const root = await mkdtemp(path.join(parent, `${label}-`));
  const scratch = { root, cwd: path.join(root, 'cwd'), home: path.join(root, 'home'), tmp: path.join(root, 'tmp') };
  await Promise.all([mkdir(scratch.cwd), mkdir(scratch.home), mkdir(scratch.tmp)]);
  for (const [relativePath, content] of Object.entries(files)) {
    const target = path.join(scratch.cwd, ...relativePath.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
  }
  return scratch;
}

/** Returns the tokens that replace a scratch folder's paths, for its given and its real path. */
export async function scratchReplacements(scratch: Scratch): Promise<PathReplacement[]> {
  const realRoot = await realpath(scratch.root);
  const replacements: PathReplacement[] = [];
  for (const root of new Set([scratch.root, realRoot])) {
    replacements.push(
      { path: path.join(root, 'cwd'), token: '<cwd>' },
      { path: path.join(root, 'home'), token: '<home>' },
      { path: path.join(root, 'tmp'), token: '<tmpdir>' },
      { path: root, token: '<scratch>' },
    );
  }
  return replacements;
}

/** Returns the environment of one run: nothing but PATH, HOME, TMPDIR, LANG and TERM. */
export function runEnvironment(scratch: Scratch, pathValue: string): Record<string, string> {
  return { PATH: pathValue, HOME: scratch.home, TMPDIR: scratch.tmp, LANG: 'C.UTF-8', TERM: 'dumb' };
}

/** Names of the Node programs that the executable's PATH must not contain. Debian ships both. */
const NODE_PROGRAM_NAMES = new Set(['node', 'nodejs']);

/**
 * Creates a folder that links every program of the given system folders
 * except `node`, for a PATH on which no Node can be found. Debian's `node`
 * is in /usr/bin, so leaving that folder off PATH is not enough. The first
 * folder wins when two have a program of the same name, as on PATH.
 */
export async function createNodelessBinFolder(folder: string, systemFolders: readonly string[] = ['/usr/bin', '/bin']): Promise<string> {
  await mkdir(folder, { recursive: true });
  const linked = new Set<string>();
  for (const systemFolder of systemFolders) {
    if (!existsSync(systemFolder)) continue;
    for (const name of (await readdir(systemFolder)).sort()) {
      if (NODE_PROGRAM_NAMES.has(name) || linked.has(name)) continue;
      await symlink(path.join(systemFolder, name), path.join(folder, name));
      linked.add(name);
    }
  }
  return folder;
}

/**
 * Places a Node binary as `<folder>/node`, so that PATH can hold it. A hard
 * link keeps `process.execPath` inside the folder and costs no space, and
 * a copy is the fallback where a link is not allowed.
 */
export async function createNodeBinFolder(folder: string, nodeBinaryPath: string): Promise<string> {
  await mkdir(folder, { recursive: true });
  const target = path.join(folder, 'node');
  try {
    await link(nodeBinaryPath, target);
  } catch (error) {
    // EXDEV: another file system. EPERM: fs.protected_hardlinks and a binary that another user owns.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM') throw error;
    await copyFile(nodeBinaryPath, target);
  }
  return folder;
}
