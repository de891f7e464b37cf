import { rmdirSync, rmSync, type Stats } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError, messageOf } from './errors.js';
import { CHECKSUM_LIST_FILE } from './stages/checksum-list.js';

const STAGING_PREFIX = '.duo-sea-staging-';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes folders named `<prefix><pid>-…` in `parent` whose process no longer
 * runs, such as those of a build killed by a CI timeout, which had no chance
 * to clean up.
 */
export async function removeAbandonedFolders(parent: string, prefix: string): Promise<void> {
  for (const name of await readdir(parent)) {
    if (!name.startsWith(prefix)) continue;
    const pid = /^(\d+)-/.exec(name.slice(prefix.length))?.[1];
    if (pid !== undefined && !isRunning(Number(pid))) await rm(path.join(parent, name), { recursive: true, force: true });
  }
}

/**
 * A hidden folder inside the output folder where a build writes its files.
 * Only a finished build moves them into the output folder, with renames that
 * are undone when one fails, so a failed or interrupted build leaves the
 * output folder as it was.
 */
export class OutputStaging {
  private published = false;

  private constructor(
    readonly outDir: string,
    readonly stagingDir: string,
    /** The first folder that `create` made on the way to `outDir`, if it made any. */
    private readonly createdDir: string | undefined,
  ) {}

  static async create(outDir: string): Promise<OutputStaging> {
    let createdDir: string | undefined;
    try {
      createdDir = await mkdir(outDir, { recursive: true });
      await removeAbandonedFolders(outDir, STAGING_PREFIX);
      const stagingDir = await mkdtemp(path.join(outDir, `${STAGING_PREFIX}${process.pid}-`));
      return new OutputStaging(outDir, stagingDir, createdDir);
    } catch (error) {
      if (createdDir !== undefined) removeEmptyFoldersSync(outDir, createdDir);
      throw new DuoSeaError({
        code: 'E_OUTPUT_FAILED',
        stage: 'output',
        input: outDir,
        message: `The output folder ${outDir} cannot be written: ${messageOf(error)}`,
        hint: 'Pass --out with a folder that you can write.',
        cause: error,
      });
    }
  }

  path(name: string): string {
    return path.join(this.stagingDir, name);
  }

  /**
   * Moves the named files into the output folder, replacing older files of
   * the same names, then removes the staging folder. SHA256SUMS moves last.
   * Either every file is moved or, on a failure, the output folder gets its
   * older files back and none of the new ones.
   */
  async publish(names: string[]): Promise<void> {
    const ordered = [...names.filter((name) => name !== CHECKSUM_LIST_FILE), ...names.filter((name) => name === CHECKSUM_LIST_FILE)];
    const replaced = await this.checkDestinations(ordered);
    const asideDir = await this.wrap('Creating a folder for the older files in', this.stagingDir, () => mkdtemp(path.join(this.stagingDir, '.replaced-')));
    const movedAside: string[] = [];
    const movedIn: string[] = [];
    try {
      for (const name of replaced) {
        await rename(path.join(this.outDir, name), path.join(asideDir, name));
        movedAside.push(name);
      }
      for (const name of ordered) {
        await rename(this.path(name), path.join(this.outDir, name));
        movedIn.push(name);
      }
    } catch (error) {
      const unrestored = await this.undoPublish({ asideDir, movedAside, movedIn });
      throw publishError({ outDir: this.outDir, error, unrestored });
    }
    this.published = true;
    await this.discard();
  }

  /**
   * Removes the staging folder. Before a publish it also removes the output
   * folder, and the parents that `create` made, where they are empty.
   */
  async discard(): Promise<void> {
    await rm(this.stagingDir, { recursive: true, force: true });
    if (!this.published && this.createdDir !== undefined) await removeEmptyFolders(this.outDir, this.createdDir);
  }

  /** Removes the staging folder synchronously, for a signal handler that must finish before the process exits. */
  discardSync(): void {
    rmSync(this.stagingDir, { recursive: true, force: true });
    if (!this.published && this.createdDir !== undefined) removeEmptyFoldersSync(this.outDir, this.createdDir);
  }

  /** Returns the names that already exist in the output folder, and throws for one that is not a regular file. */
  private async checkDestinations(names: readonly string[]): Promise<string[]> {
    const existing: string[] = [];
    for (const name of names) {
      const destination = path.join(this.outDir, name);
      const stats = await this.wrap('Checking', destination, () => lstatIfExists(destination));
      if (stats === undefined) continue;
      if (!stats.isFile()) {
        throw new DuoSeaError({
          code: 'E_OUTPUT_FAILED',
          stage: 'output',
          input: destination,
          message: `The output folder has a ${describeKind(stats)} at ${destination}, where the build writes the file ${name}.`,
          hint: `Remove or rename ${destination}, or pass --out with another folder.`,
        });
      }
      existing.push(name);
    }
    return existing;
  }

  /** Moves the new files out of the output folder and the older ones back, and returns the names it could not restore. */
  private async undoPublish(moves: { asideDir: string; movedAside: string[]; movedIn: string[] }): Promise<string[]> {
    const unrestored: string[] = [];
    for (const name of moves.movedIn) {
      await rm(path.join(this.outDir, name), { force: true }).catch(() => unrestored.push(name));
    }
    for (const name of moves.movedAside) {
      await rename(path.join(moves.asideDir, name), path.join(this.outDir, name)).catch(() => unrestored.push(name));
    }
    return [...new Set(unrestored)];
  }

  private async wrap<T>(action: string, target: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new DuoSeaError({
        code: 'E_OUTPUT_FAILED',
        stage: 'output',
        input: target,
        message: `${action} ${target} failed: ${messageOf(error)}`,
        hint: `Check that ${this.outDir} is a folder that you can write.`,
        cause: error,
      });
    }
  }
}

function publishError(options: { outDir: string; error: unknown; unrestored: string[] }): DuoSeaError {
  const { outDir, error, unrestored } = options;
  const { dest, path: source } = error as NodeJS.ErrnoException & { dest?: string };
  const failedPath = dest ?? source ?? outDir;
  const state =
    unrestored.length === 0
      ? 'The output folder is as it was before the build.'
      : `These files in ${outDir} could not be restored and may be of the new build or missing: ${unrestored.join(', ')}.`;
  return new DuoSeaError({
    code: 'E_OUTPUT_FAILED',
    stage: 'output',
    input: failedPath,
    message: `Moving the files into ${outDir} failed: ${messageOf(error)}. ${state}`,
    hint: `Check that you can write ${outDir} and that nothing else writes there, then build again.`,
    cause: error,
  });
}

async function lstatIfExists(file: string): Promise<Stats | undefined> {
  try {
    return await lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function describeKind(stats: Stats): string {
  if (stats.isDirectory()) return 'folder';
  if (stats.isSymbolicLink()) return 'symbolic link';
  return 'special file';
}

/** Removes `outDir` and its parents up to `createdDir` while each is empty. */
async function removeEmptyFolders(outDir: string, createdDir: string): Promise<void> {
  for (const dir of foldersUpTo(outDir, createdDir)) {
    // A folder that is not empty contains files that the build did not write, so it stays, with its parents.
    const removed = await rmdir(dir).then(() => true, () => false);
    if (!removed) return;
  }
}

function removeEmptyFoldersSync(outDir: string, createdDir: string): void {
  for (const dir of foldersUpTo(outDir, createdDir)) {
    try {
      rmdirSync(dir);
    } catch {
      // Not empty or already gone: either way the folder is no longer the build's to remove.
      return;
    }
  }
}

/** Lists `outDir`, then each parent up to and including `createdDir`. */
function foldersUpTo(outDir: string, createdDir: string): string[] {
  const folders = [outDir];
  let current = outDir;
  while (current !== createdDir && path.dirname(current) !== current) {
    current = path.dirname(current);
    folders.push(current);
  }
  return folders;
}
