import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError, messageOf } from './errors.js';

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
 * Only a finished build moves them into the output folder, each with a
 * rename, so a failed or interrupted build leaves no partial file there.
 */
export class OutputStaging {
  private constructor(
    readonly outDir: string,
    readonly stagingDir: string,
  ) {}

  static async create(outDir: string): Promise<OutputStaging> {
    try {
      await mkdir(outDir, { recursive: true });
      await removeAbandonedFolders(outDir, STAGING_PREFIX);
      const stagingDir = await mkdtemp(path.join(outDir, `${STAGING_PREFIX}${process.pid}-`));
      return new OutputStaging(outDir, stagingDir);
    } catch (error) {
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

  /** Moves the named files into the output folder, replacing older ones, then removes the staging folder. */
  async publish(names: string[]): Promise<void> {
    for (const name of names) await rename(this.path(name), path.join(this.outDir, name));
    await this.discard();
  }

  async discard(): Promise<void> {
    await rm(this.stagingDir, { recursive: true, force: true });
  }

  /** Removes the staging folder synchronously, for a signal handler that must finish before the process exits. */
  discardSync(): void {
    rmSync(this.stagingDir, { recursive: true, force: true });
  }
}
