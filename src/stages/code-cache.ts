import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError } from '../errors.js';
import { PROGRAM_LINE_OFFSET } from '../runtime/vfs-format.js';
import type { Target } from '../targets.js';
import type { Launcher } from './self-check.js';

/**
 * V8 picks its hash seed from this random seed. With a fixed seed the cache
 * bytes repeat from build to build. V8 leaves --random-seed out of the flag
 * hash that it checks a cache against, so the executable accepts the cache
 * with its own random seed.
 */
export const FIXED_RANDOM_SEED = '--random-seed=1';

/**
 * Script that the target's Node runs: compiles the wrapped program as the
 * runtime does and writes V8's code cache of it. Compiling is lazy, so the
 * cache contains the top-level code and leaves inner functions to be compiled
 * when they are first called. Measured on srt 0.0.78's 1.28 MB bundle with
 * Node 26.10.0 on linux-x64: compiling took 16.6 ms without a cache and
 * 2.8 ms with this 238 kB one. A cache compiled with --no-lazy contained every
 * function (1.7 MB, 585 kB after xz -9), took 7.2 ms to load, and cut
 * srt --version by only about 3 ms more, so the lazy cache is kept.
 */
const CACHE_SCRIPT = `
const fs = require('node:fs');
const vm = require('node:vm');
const [sourcePath, cachePath, lineOffset] = process.argv.slice(2);
// The file name goes into the cache bytes, so it is fixed: the runtime compiles with the path of its own payload.
const script = new vm.Script(fs.readFileSync(sourcePath, 'utf8'), { filename: 'program.js', lineOffset: Number(lineOffset) });
fs.writeFileSync(cachePath, script.createCachedData());
`;

export type CodeCacheResult = { cachePath: string } | { skipped: string };

/**
 * Makes the V8 code cache of the program with the target's own Node binary,
 * run natively or through an emulator. A cache is only valid for the V8
 * build and the V8 flags that made it, so the binary is the one the
 * executable will contain, started with the executable's node options. It
 * is never made by a Node of another platform.
 */
export async function makeProgramCodeCache(options: {
  target: Target;
  /** How this host runs the target's binaries, or why it cannot. */
  launcher: Launcher;
  /** The target's Node binary, of the version the executable contains. */
  nodePath: string;
  /** The wrapped program, exactly as the executable will hold it. */
  programPath: string;
  /** Node options the executable always starts with. */
  nodeOptions: string[];
  workDir: string;
}): Promise<CodeCacheResult> {
  const { launcher, target } = options;
  if ('skipReason' in launcher) return { skipped: launcher.skipReason };
  const scriptPath = path.join(options.workDir, `code-cache-${target.id}.cjs`);
  const cachePath = path.join(options.workDir, `program-${target.id}.cache`);
  await writeFile(scriptPath, CACHE_SCRIPT);
  const nodeArgs = [FIXED_RANDOM_SEED, ...options.nodeOptions, scriptPath, options.programPath, cachePath, String(PROGRAM_LINE_OFFSET)];
  const command = launcher.command || options.nodePath;
  const args = launcher.command ? [...launcher.prefix, options.nodePath, ...nodeArgs] : nodeArgs;
  await new Promise<void>((resolve, reject) => {
    execFile(command, args, { cwd: options.workDir, timeout: 300_000, maxBuffer: 4 * 1024 * 1024, env: { PATH: process.env.PATH ?? '' } }, (error, _stdout, stderr) => {
      if (!error) {
        resolve();
        return;
      }
      reject(
        new DuoSeaError({
          code: 'E_CODE_CACHE_FAILED',
          stage: 'code-cache',
          target: target.id,
          input: options.nodePath,
          message: `The target's Node could not compile the program to make its code cache: ${stderr.trim() || error.message}`,
          hint: 'Build with --no-code-cache to leave the cache out, and report the program whose bundle fails to compile.',
          cause: error,
        }),
      );
    });
  });
  return { cachePath };
}
