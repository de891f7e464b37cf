import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError, messageOf } from './errors.js';

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
      const stagingDir = await mkdtemp(path.join(outDir, '.duo-sea-staging-'));
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
