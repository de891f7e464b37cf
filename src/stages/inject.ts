import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DuoSeaError } from '../errors.js';
import type { Target } from '../targets.js';

/** The fuse that Node's SEA code looks for; postject flips its last character to 1 after injecting. */
export const SEA_SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const SEA_RESOURCE_NAME = 'NODE_SEA_BLOB';
/** Mach-O segment that Node reads the blob from. */
const MACHO_SEGMENT_NAME = 'NODE_SEA';

/**
 * LIEF, inside postject, prints this for an ELF file whose section names
 * strip dropped. The note is still written, as the check after injection
 * confirms.
 */
const HARMLESS_POSTJECT_WARNING = /Can't find string offset for section name '\.note'/;

const postjectCli = path.join(path.dirname(createRequire(import.meta.url).resolve('postject')), 'cli.js');

export interface InjectResult {
  /** Lines that postject printed as warnings. */
  warnings: string[];
}

function injectError(target: Target, input: string, message: string, cause?: unknown): DuoSeaError {
  return new DuoSeaError({
    code: 'E_INJECT_FAILED',
    stage: 'inject',
    target: target.id,
    input,
    message,
    hint: 'The base binary may not be a Node binary that supports single executable applications (Node 22 or later); check the base source.',
    cause,
  });
}

/**
 * Injects the blob into the executable at `outputPath` with postject. postject runs in a child process because loading it installs
 * process-wide exception handlers. The result is then checked: postject can
 * report success on a binary it did not change.
 */
export async function injectBlob(options: {
  /** The base binary the executable was copied from, named in errors. */
  basePath: string;
  blobPath: string;
  blob: Buffer;
  outputPath: string;
  target: Target;
}): Promise<InjectResult> {
  const { target, outputPath } = options;
  const args = [postjectCli, outputPath, SEA_RESOURCE_NAME, options.blobPath, '--sentinel-fuse', SEA_SENTINEL_FUSE];
  if (target.format === 'macho') args.push('--macho-segment-name', MACHO_SEGMENT_NAME);

  const output = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}\n${stderr}`.replace(/\x1b\[[0-9;]*m/g, '').trim();
      if (error) reject(injectError(target, options.basePath, `postject could not inject the blob into the base binary: ${output || error.message}`, error));
      else resolve({ stdout, stderr });
    });
  });

  await verifyInjection(outputPath, options.blob, target);
  const warnings = `${output.stdout}\n${output.stderr}`
    .split('\n')
    .map((line) => line.replace(/\x1b\[[0-9;]*m/g, '').trim())
    .filter((line) => /warning/i.test(line) && !HARMLESS_POSTJECT_WARNING.test(line));
  return { warnings };
}

/** Checks that the fuse is flipped and the blob's bytes are in the executable. */
export async function verifyInjection(executablePath: string, blob: Buffer, target: Target): Promise<void> {
  const content = await readFile(executablePath);
  const fuseAt = content.indexOf(SEA_SENTINEL_FUSE);
  if (fuseAt === -1 || content[fuseAt + SEA_SENTINEL_FUSE.length + 1] !== 0x31) {
    throw injectError(target, executablePath, `After injection the SEA fuse in ${executablePath} is not set, so Node would not find the program.`);
  }
  const probe = blob.subarray(0, Math.min(blob.length, 4096));
  if (content.indexOf(probe) === -1) {
    throw injectError(target, executablePath, `After injection ${executablePath} does not contain the SEA blob.`);
  }
}
