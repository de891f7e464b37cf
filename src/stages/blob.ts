import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError } from '../errors.js';
import { PROGRAM_ASSET, PROGRAM_CACHE_ASSET, VFS_DATA_ASSET, VFS_INDEX_ASSET, wrapProgram } from '../runtime/vfs-format.js';
import type { Payload } from './payload.js';
import { FIXED_RANDOM_SEED } from './code-cache.js';

/** Name of the SEA main script, which Node records in the blob and shows in stack traces. */
const MAIN_SCRIPT_NAME = 'duo-sea-main.cjs';

export interface BlobResult {
  blob: Buffer;
  blobPath: string;
  useCodeCache: boolean;
}

/** Returns the folder of one target's blob files. */
function blobDirOf(workDir: string, targetId: string): string {
  return path.join(workDir, `sea-${targetId}`);
}

/** Writes the program asset, the bundle wrapped as the runtime compiles it, and returns its path. */
export async function writeProgramAsset(options: { workDir: string; targetId: string; programCode: string }): Promise<string> {
  const blobDir = blobDirOf(options.workDir, options.targetId);
  await mkdir(blobDir, { recursive: true });
  const programPath = path.join(blobDir, 'program.js');
  await writeFile(programPath, wrapProgram(options.programCode));
  return programPath;
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
  /** Emulator that runs the builder, such as qemu-aarch64-static for an arm64 Node on an x64 host. */
  builderEmulator?: string;
  mainCode: string;
  /** The program asset that writeProgramAsset wrote. */
  programPath: string;
  /** V8 code cache of the program asset, made by the target's own Node. */
  programCachePath?: string;
  payload: Payload;
  workDir: string;
  targetId: string;
  useCodeCache: boolean;
  /** Node options the executable always starts with, such as `--max-old-space-size=4096`. */
  execArgv: string[];
}): Promise<BlobResult> {
  // Each target gets its own folder, so that the main script's name can be the same fixed, relative name in every
  // build: Node records it in the blob, and a temporary path there would make builds differ.
  const blobDir = blobDirOf(options.workDir, options.targetId);
  await mkdir(blobDir, { recursive: true });
  const mainPath = path.join(blobDir, MAIN_SCRIPT_NAME);
  const blobPath = path.join(blobDir, 'sea.blob');
  const configPath = path.join(blobDir, 'sea-config.json');
  await writeFile(mainPath, options.mainCode);
  const config = {
    main: MAIN_SCRIPT_NAME,
    output: 'sea.blob',
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    // Covers the runtime script only. The program asset has a cache of its own, made by the target's Node.
    useCodeCache: options.useCodeCache,
    execArgv: options.execArgv,
    // NODE_OPTIONS and command-line node options could otherwise make the executable load other code (--require).
    execArgvExtension: 'none',
    assets: {
      [VFS_INDEX_ASSET]: options.payload.indexPath,
      [VFS_DATA_ASSET]: options.payload.dataPath,
      [PROGRAM_ASSET]: options.programPath,
      ...(options.programCachePath ? { [PROGRAM_CACHE_ASSET]: options.programCachePath } : {}),
    },
  };
  await writeFile(configPath, JSON.stringify(config, null, 2));

  await new Promise<void>((resolve, reject) => {
    // A fixed seed makes the runtime script's code cache repeat from build to build (see FIXED_RANDOM_SEED).
    const nodeArgs = [FIXED_RANDOM_SEED, ...(options.useCodeCache ? options.execArgv : []), '--experimental-sea-config', configPath];
    execFile(
      options.builderEmulator ?? options.builderNodePath,
      options.builderEmulator ? [options.builderNodePath, ...nodeArgs] : nodeArgs,
      { cwd: blobDir, maxBuffer: 16 * 1024 * 1024, env: { PATH: process.env.PATH ?? '' } },
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
