import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DuoSeaError, messageOf } from '../errors.js';
import { appendNoteSegment, ElfFormatError } from '../formats/elf.js';
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

interface InjectOptions {
  /** The base binary the executable was copied from, named in errors. */
  basePath: string;
  blobPath: string;
  blob: Buffer;
  outputPath: string;
  target: Target;
}

/**
 * Injects the blob into the executable at `outputPath`, then checks the
 * result, because an injector can report success on a binary it did not
 * change. ELF executables get the blob in a note segment written by
 * duo-sea, which leaves every existing section as it was. Mach-O and PE
 * files go through postject.
 */
export async function injectBlob(options: InjectOptions): Promise<InjectResult> {
  const result = options.target.format === 'elf' ? await injectIntoElf(options) : await injectWithPostject(options);
  await verifyInjection(options.outputPath, options.blob, options.target);
  return result;
}

/**
 * Appends the blob as an ELF note named NODE_SEA_BLOB, where Node's SEA code
 * looks for it at startup, and sets the SEA fuse. postject's ELF path
 * rebuilds `.dynsym`, `.dynstr` and `.gnu.hash` in a new order, which native
 * addons survive but tools that compare the dynamic symbol table with the
 * base binary do not.
 */
async function injectIntoElf(options: InjectOptions): Promise<InjectResult> {
  const { target, outputPath } = options;
  const image = await readFile(outputPath);
  let injected: Buffer;
  try {
    injected = appendNoteSegment(image, SEA_RESOURCE_NAME, options.blob);
  } catch (error) {
    if (!(error instanceof ElfFormatError)) throw error;
    throw injectError(target, options.basePath, `Could not add the SEA blob to ${options.basePath}: ${messageOf(error)}.`, error);
  }
  setSeaFuse(injected, target, options.basePath);
  await writeFile(outputPath, injected);
  return { warnings: [] };
}

/** Flips the SEA fuse from `:0` to `:1` in place; the fuse must occur exactly once. */
export function setSeaFuse(image: Buffer, target: Target, input: string): void {
  const at = findUnsetSeaFuse(image, target, input);
  image[at + SEA_SENTINEL_FUSE.length + 1] = 0x31;
}

/**
 * Returns the offset of the one unset SEA fuse in a base binary, or throws
 * E_INJECT_FAILED for a file that has none (not Node, or a Node that
 * already contains a blob) or more than one.
 */
export function findUnsetSeaFuse(image: Buffer, target: Target, input: string): number {
  const unset = Buffer.from(`${SEA_SENTINEL_FUSE}:0`);
  const at = image.indexOf(unset);
  if (at === -1) {
    const alreadySet = image.indexOf(`${SEA_SENTINEL_FUSE}:1`) !== -1;
    throw injectError(target, input, alreadySet ? `${input} already contains a SEA blob (its SEA fuse is set).` : `${input} has no SEA fuse, so it is not a Node binary with single executable application support.`);
  }
  if (image.indexOf(unset, at + 1) !== -1) throw injectError(target, input, `${input} contains the SEA fuse more than once, so duo-sea cannot tell which one Node reads.`);
  return at;
}

/** Runs postject in a child process, because loading it installs process-wide exception handlers. */
async function injectWithPostject(options: InjectOptions): Promise<InjectResult> {
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
