import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError } from '../errors.js';
import { VFS_DATA_ASSET, VFS_INDEX_ASSET } from '../runtime/vfs-format.js';
import type { Payload } from './payload.js';

export interface BlobResult {
  blob: Buffer;
  blobPath: string;
  useCodeCache: boolean;
}

/**
 * Makes the SEA preparation blob with `node --experimental-sea-config`.
 * The blob must be made by a Node binary of exactly the version it is
 * injected into, so `builderNodePath` is the host's binary of that version.
 * V8 code cache is only valid on the platform and CPU that made it, so it is
 * turned on only when the builder runs the target's own platform.
 */
export async function makeBlob(options: {
  builderNodePath: string;
  mainCode: string;
  payload: Payload;
  workDir: string;
  targetId: string;
  useCodeCache: boolean;
}): Promise<BlobResult> {
  const mainPath = path.join(options.workDir, `main-${options.targetId}.cjs`);
  const blobPath = path.join(options.workDir, `sea-${options.targetId}.blob`);
  const configPath = path.join(options.workDir, `sea-config-${options.targetId}.json`);
  await writeFile(mainPath, options.mainCode);
  const config = {
    main: mainPath,
    output: blobPath,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: options.useCodeCache,
    assets: { [VFS_INDEX_ASSET]: options.payload.indexPath, [VFS_DATA_ASSET]: options.payload.dataPath },
  };
  await writeFile(configPath, JSON.stringify(config, null, 2));

  await new Promise<void>((resolve, reject) => {
    execFile(
      options.builderNodePath,
      ['--experimental-sea-config', configPath],
      { cwd: options.workDir, maxBuffer: 16 * 1024 * 1024, env: { PATH: process.env.PATH ?? '' } },
      (error, _stdout, stderr) => {
        if (!error) {
          resolve();
          return;
        }
        reject(
          new DuoSeaError({
            code: 'E_BLOB_FAILED',
            stage: 'blob',
            target: options.targetId,
            input: configPath,
            message: `Node could not make the SEA blob: ${stderr.trim() || error.message}`,
            hint: 'Check that the host can run the Node binary of this version (for example, glibc is new enough).',
            cause: error,
          }),
        );
      },
    );
  });
  return { blob: await readFile(blobPath), blobPath, useCodeCache: options.useCodeCache };
}
