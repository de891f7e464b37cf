import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEFLATE_LEVEL, xzArgumentsFor } from '../archive/compression.js';
import type { ArchiveEntry } from '../archive/entry.js';
import { TAR_MAX_FIELD_VALUE, writeTarGz } from '../archive/tar-gzip.js';
import { isXzAvailable, writeTarXz } from '../archive/xz.js';
import { writeZip } from '../archive/zip.js';
import { DuoSeaError, messageOf } from '../errors.js';
import { formatBytes } from '../format.js';
import { sha256File } from '../hash.js';
import type { ArchiveType, Target } from '../targets.js';
import type { OutputCache } from './output-cache.js';

const execFileAsync = promisify(execFile);

/** One archive written into the output folder. */
export interface ArchiveResult {
  type: ArchiveType;
  /** Base name of the archive in the output folder. */
  file: string;
  path: string;
  sizeBytes: number;
  sha256: string;
}

export interface SkippedArchive {
  type: ArchiveType;
  reason: string;
}

export interface WriteArchivesOptions {
  /** The built executable. */
  executablePath: string;
  /** Name of the executable inside the archive, such as `srt` or `srt.exe`. */
  entryName: string;
  /** Archive file name without its extension, such as `srt-linux-x64`. */
  baseName: string;
  types: readonly ArchiveType[];
  outDir: string;
  /** Modification time of the entry, fixed so that archives are reproducible. */
  mtime: Date;
  /** The executable's target, which decides the xz filters. Without it xz gets none. */
  target?: Target;
  /** Reuses archives of the same executable from earlier builds; without it every archive is written. */
  cache?: { outputs: OutputCache };
  /** SHA-256 of the executable when the caller knows it, so that it is not read again. */
  executableSha256?: string;
}

/**
 * Writes one archive per requested type, each containing only the executable.
 * A `.tar.xz` is skipped when `xz` is not on PATH. It is also removed again
 * when it is not smaller than the `.tar.gz`. Both cases are listed in `skipped`.
 */
export async function writeArchives(
  options: WriteArchivesOptions,
): Promise<{ archives: ArchiveResult[]; skipped: SkippedArchive[] }> {
  const entry = await describeEntry(options);
  const archives: ArchiveResult[] = [];
  const skipped: SkippedArchive[] = [];
  const executableSha256 = options.cache ? (options.executableSha256 ?? (await sha256File(options.executablePath))) : undefined;

  for (const type of unique(options.types)) {
    if (type === 'tar.xz' && !(await isXzAvailable())) {
      skipped.push({
        type,
        reason: 'xz is not on PATH. Install xz-utils (apt-get install xz-utils, or brew install xz) to also write a .tar.xz.',
      });
      continue;
    }
    const inputs = executableSha256 ? await archiveInputs({ type, entry, executableSha256, target: options.target }) : undefined;
    archives.push(await writeArchive({ type, entry, options, inputs }));
  }

  return { archives: await dropLargerXz(archives, skipped), skipped };
}

async function describeEntry(options: WriteArchivesOptions): Promise<ArchiveEntry> {
  checkEntryName(options.entryName);
  checkMtime(options.mtime);

  let sizeBytes: number;
  try {
    const found = await stat(options.executablePath);
    if (!found.isFile()) throw new Error(`${options.executablePath} is not a regular file`);
    sizeBytes = found.size;
  } catch (error) {
    throw new DuoSeaError({
      code: 'E_ARCHIVE_FAILED',
      stage: 'archive',
      input: options.executablePath,
      message: `Reading the executable ${options.executablePath} to archive it failed: ${messageOf(error)}.`,
      cause: error,
    });
  }

  return { sourcePath: options.executablePath, name: options.entryName, sizeBytes, mtime: options.mtime };
}

function checkEntryName(name: string): void {
  const invalid =
    name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) || Buffer.byteLength(name) > 100;
  if (!invalid) return;
  throw new DuoSeaError({
    code: 'E_ARCHIVE_FAILED',
    stage: 'archive',
    input: name,
    message: `Invalid archive entry name "${name}".`,
    expected: 'a file name of 1 to 100 bytes without "/", "\\" or NUL',
    hint: 'Rename the bin in package.json, or choose another bin with --bin.',
  });
}

function checkMtime(mtime: Date): void {
  const seconds = Math.floor(mtime.getTime() / 1000);
  if (Number.isFinite(seconds) && seconds >= 0 && seconds <= TAR_MAX_FIELD_VALUE) return;
  throw new DuoSeaError({
    code: 'E_ARCHIVE_FAILED',
    stage: 'archive',
    input: String(mtime),
    message: 'Invalid archive entry time.',
    expected: 'a date from 1970-01-01T00:00:00Z to 2242-03-16T12:56:31Z, the range of a ustar time field',
    hint: 'Set SOURCE_DATE_EPOCH to a non-negative number of seconds.',
  });
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/** Removes the `.tar.xz` when it is not smaller than the `.tar.gz`, and records why in `skipped`. */
async function dropLargerXz(archives: ArchiveResult[], skipped: SkippedArchive[]): Promise<ArchiveResult[]> {
  const gz = archives.find((archive) => archive.type === 'tar.gz');
  const xz = archives.find((archive) => archive.type === 'tar.xz');
  if (!gz || !xz || xz.sizeBytes < gz.sizeBytes) return archives;

  try {
    await rm(xz.path, { force: true });
  } catch (error) {
    throw new DuoSeaError({
      code: 'E_ARCHIVE_FAILED',
      stage: 'archive',
      input: xz.path,
      message: `Removing ${xz.path}, which is not smaller than ${gz.file}, failed: ${messageOf(error)}.`,
      hint: `Delete ${xz.path} by hand before publishing the output folder.`,
      cause: error,
    });
  }
  skipped.push({
    type: 'tar.xz',
    reason: `${xz.file} (${xz.sizeBytes} bytes, ${formatBytes(xz.sizeBytes)}) is not smaller than ${gz.file} (${gz.sizeBytes} bytes, ${formatBytes(gz.sizeBytes)}), so it was removed.`,
  });
  return archives.filter((archive) => archive !== xz);
}

const writers: Record<ArchiveType, (entry: ArchiveEntry, destination: string, target: Target | undefined) => Promise<void>> = {
  'tar.gz': (entry, destination) => writeTarGz(entry, destination),
  'tar.xz': (entry, destination, target) => writeTarXz(entry, destination, target),
  zip: (entry, destination) => writeZip(entry, destination),
};

/**
 * Returns every input that decides an archive's bytes, for its cache key:
 * the executable, the entry's name and time, and the compressor with the
 * settings that the writer passes it.
 */
export async function archiveInputs(options: {
  type: ArchiveType;
  entry: ArchiveEntry;
  executableSha256: string;
  target?: Target;
}): Promise<Record<string, unknown>> {
  const { type, entry } = options;
  return {
    type,
    executableSha256: options.executableSha256,
    entryName: entry.name,
    mtimeSeconds: Math.floor(entry.mtime.getTime() / 1000),
    compressor: await compressorSettings(type, entry, options.target),
  };
}

/**
 * Returns the compressor and the settings that the writer of `type` uses.
 * xz output repeats for one xz version and one set of arguments. Deflate
 * output repeats for one build of Node's zlib, which also picks its match
 * hash by CPU features, so the Node version and CPU are part of it.
 */
async function compressorSettings(type: ArchiveType, entry: ArchiveEntry, target: Target | undefined): Promise<Record<string, unknown>> {
  if (type === 'tar.xz') {
    // writeTarXz calls xzArgumentsFor with this entry's size and this target too.
    return { command: 'xz', arguments: xzArgumentsFor({ target, inputBytes: entry.sizeBytes }), version: await xzVersion() };
  }
  return { deflateLevel: DEFLATE_LEVEL, zlib: process.versions.zlib, node: process.version, arch: process.arch };
}

/** Returns the output of `xz --version`, which names the xz and liblzma versions. */
async function xzVersion(): Promise<string> {
  const { stdout } = await execFileAsync('xz', ['--version']);
  return stdout.trim();
}

/**
 * Writes one archive under a temporary name and renames it into place when
 * it is complete. With a cache and the archive's inputs, it copies an
 * archive of the same inputs from the cache instead, and stores one that it wrote.
 */
async function writeArchive(request: {
  type: ArchiveType;
  entry: ArchiveEntry;
  options: WriteArchivesOptions;
  inputs?: Record<string, unknown>;
}): Promise<ArchiveResult> {
  const { type, entry, options, inputs } = request;
  const file = `${options.baseName}.${type}`;
  const finalPath = path.join(options.outDir, file);
  const tempPath = path.join(options.outDir, `.${file}.${randomBytes(4).toString('hex')}.tmp`);
  const cache = inputs && options.cache ? { ...options.cache, inputs } : undefined;

  let sha256: string | undefined;
  try {
    const restored = cache ? await cache.outputs.restore({ kind: 'archive', inputs: cache.inputs, destination: tempPath, description: file, target: options.target?.id }) : undefined;
    sha256 = restored?.sha256;
    if (!restored) await writers[type](entry, tempPath, options.target);
    await rename(tempPath, finalPath);
  } catch (error) {
    await rm(tempPath, { force: true });
    if (error instanceof DuoSeaError) throw error;
    throw new DuoSeaError({
      code: 'E_ARCHIVE_FAILED',
      stage: 'archive',
      input: finalPath,
      message: `Writing ${finalPath} failed: ${messageOf(error)}.`,
      hint: `Check that ${options.outDir} is writable and has free space.`,
      cause: error,
    });
  }

  const sizeBytes = (await stat(finalPath)).size;
  if (sha256) return { type, file, path: finalPath, sizeBytes, sha256 };
  sha256 = await sha256File(finalPath);
  if (cache) await cache.outputs.store({ kind: 'archive', inputs: cache.inputs, filePath: finalPath, sha256, label: file, target: options.target?.id });
  return { type, file, path: finalPath, sizeBytes, sha256 };
}
