import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { DuoSeaError, messageOf } from '../errors.js';
import { formatBytes } from '../format.js';
import { sha256File } from '../hash.js';
import type { ArchiveType } from '../targets.js';

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
}

/*
 * Compression settings, measured with Node 20.20.2 (its bundled zlib) and
 * xz 5.4.1 on a 2-core AMD EPYC VM. Input: a 116,423,904-byte linux-x64
 * Node 26.10.0 binary after llvm-strip --strip-all. Ratio is to xz -9.
 *
 *   setting               bytes        ratio   wall s   max RSS
 *   deflate level 6       43,045,032   1.584      3.0
 *   deflate level 9       42,935,447   1.580      6.7
 *   xz -6 -T1             27,487,908   1.011     48.1    95 MiB
 *   xz -6 -T0 (5 blocks)  27,590,392   1.015     29.0   260 MiB
 *   xz -9 -T1             27,179,372   1.000     66.9   675 MiB
 *   xz -9 -T0 (1 block)   27,179,380   1.000     64.6   812 MiB
 *   xz -9e -T1            27,152,524   0.999     63.4   675 MiB
 *   xz -9e -T0            27,152,532   0.999     67.5   812 MiB
 *
 * With a 15,425,706-byte JavaScript payload appended, xz -6 -T1 gave 1.0115
 * times the sum of xz -9 of the binary and xz -9 of the payload alone.
 */

/**
 * Deflate level 9 costs about 4 s more per target than level 6 and saves
 * 0.25%. That is worth it because the zip is the only archive of Windows
 * targets.
 * NOTE: Node bundles Chromium's zlib fork, whose deflate output can change
 * between Node versions, and some versions of the fork pick their match hash
 * by CPU features. Gzip and zip bytes are only known to repeat with the same
 * Node build on the same kind of CPU.
 */
const DEFLATE_LEVEL = 9;

/**
 * xz -6 stays within 1.2% of xz -9 but needs about 30% less CPU time and
 * 95 MiB instead of 675 MiB of memory, so two targets can compress at once
 * on a small machine. It runs one thread because the build runs targets
 * two at a time (buildTargets in build.ts). Multi-threaded xz would also
 * split the input into blocks, which costs size, and before xz 5.4 it fell
 * back to single-threaded output on one-CPU hosts. XZ_DEFAULTS and XZ_OPT
 * are removed from xz's environment, so these options alone set the output,
 * which repeats for the same xz version.
 * NOTE: measured on a linux-x64 binary only. Darwin and arm64 binaries may
 * show another gap between -6 and -9.
 */
const XZ_ARGUMENTS = ['--compress', '--stdout', '--format=xz', '--check=crc64', '-6', '--threads=1'];

const TAR_BLOCK_BYTES = 512;
/** The largest number that fits the 11 octal digits of a ustar size or time field, which as a size is 8 GiB - 1. */
const TAR_MAX_FIELD_VALUE = 8 ** 11 - 1;
const ZIP_MAX_SIZE_BYTES = 0xffffffff;
const EXECUTABLE_MODE = 0o755;
const REGULAR_FILE_TYPE = 0o100000;

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

  for (const type of unique(options.types)) {
    if (type === 'tar.xz' && !(await isXzAvailable())) {
      skipped.push({
        type,
        reason: 'xz is not on PATH. Install xz-utils (apt-get install xz-utils, or brew install xz) to also write a .tar.xz.',
      });
      continue;
    }
    archives.push(await writeArchive(type, entry, options));
  }

  return { archives: await dropLargerXz(archives, skipped), skipped };
}

/** The executable and the fixed metadata of its archive entry. */
interface ArchiveEntry {
  sourcePath: string;
  name: string;
  sizeBytes: number;
  mtime: Date;
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

const writers: Record<ArchiveType, (entry: ArchiveEntry, destination: string) => Promise<void>> = {
  'tar.gz': writeTarGz,
  'tar.xz': writeTarXz,
  zip: writeZip,
};

/** Writes one archive under a temporary name and renames it into place when it is complete. */
async function writeArchive(type: ArchiveType, entry: ArchiveEntry, options: WriteArchivesOptions): Promise<ArchiveResult> {
  const file = `${options.baseName}.${type}`;
  const finalPath = path.join(options.outDir, file);
  const tempPath = path.join(options.outDir, `.${file}.${randomBytes(4).toString('hex')}.tmp`);

  try {
    await writers[type](entry, tempPath);
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
  return { type, file, path: finalPath, sizeBytes, sha256: await sha256File(finalPath) };
}

/** Streams a ustar archive of one entry and counts its bytes and CRC-32 for a gzip trailer. */
class TarStream {
  crc32 = 0;
  sizeBytes = 0;

  constructor(private readonly entry: ArchiveEntry) {}

  readable(): Readable {
    return Readable.from(this.chunks());
  }

  private *counted(chunk: Buffer): Generator<Buffer> {
    this.crc32 = zlib.crc32(chunk, this.crc32);
    this.sizeBytes += chunk.length;
    yield chunk;
  }

  private async *chunks(): AsyncGenerator<Buffer> {
    yield* this.counted(ustarHeader(this.entry));

    let readBytes = 0;
    for await (const chunk of createReadStream(this.entry.sourcePath)) {
      readBytes += (chunk as Buffer).length;
      yield* this.counted(chunk as Buffer);
    }
    checkReadSize(this.entry, readBytes);

    const padding = (TAR_BLOCK_BYTES - (readBytes % TAR_BLOCK_BYTES)) % TAR_BLOCK_BYTES;
    // Two zero blocks mark the end of a tar archive.
    yield* this.counted(Buffer.alloc(padding + 2 * TAR_BLOCK_BYTES));
  }
}

function checkReadSize(entry: ArchiveEntry, readBytes: number): void {
  if (readBytes === entry.sizeBytes) return;
  throw new Error(`${entry.sourcePath} changed size while it was archived (${entry.sizeBytes} bytes, then ${readBytes})`);
}

/** Builds the 512-byte ustar header of the entry. */
function ustarHeader(entry: ArchiveEntry): Buffer {
  if (entry.sizeBytes > TAR_MAX_FIELD_VALUE) {
    throw new DuoSeaError({
      code: 'E_ARCHIVE_FAILED',
      stage: 'archive',
      input: entry.sourcePath,
      message: `${entry.sourcePath} is ${formatBytes(entry.sizeBytes)}, more than a ustar entry can hold.`,
      expected: `at most ${TAR_MAX_FIELD_VALUE} bytes`,
      found: `${entry.sizeBytes} bytes`,
    });
  }

  const header = Buffer.alloc(TAR_BLOCK_BYTES);
  header.write(entry.name, 0, 100, 'utf8');
  // Mode 0755 so that extraction keeps the run bit whatever the mode of the built file was.
  writeOctal(header, 100, 8, EXECUTABLE_MODE);
  // Owner and group 0, so that the bytes do not depend on who ran the build.
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, entry.sizeBytes);
  writeOctal(header, 136, 12, Math.floor(entry.mtime.getTime() / 1000));
  header.write('0', 156, 'ascii');
  header.write('ustar\u000000', 257, 'ascii');
  // User and group names stay empty for the same reason as the ids.
  writeOctal(header, 329, 8, 0);
  writeOctal(header, 337, 8, 0);

  // The checksum is the sum of the header bytes with its own field read as 8 spaces.
  header.fill(0x20, 148, 156);
  const checksum = header.reduce((sum, byte) => sum + byte, 0);
  header.write(`${checksum.toString(8).padStart(6, '0')}\u0000 `, 148, 'ascii');
  return header;
}

/** Writes `value` as zero-padded octal digits and a NUL terminator into a field of `width` bytes. */
function writeOctal(header: Buffer, offset: number, width: number, value: number): void {
  header.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, offset, 'ascii');
}

async function writeTarGz(entry: ArchiveEntry, destination: string): Promise<void> {
  const tar = new TarStream(entry);
  await pipeline(
    tar.readable(),
    zlib.createDeflateRaw({ level: DEFLATE_LEVEL }),
    async function* (deflated: AsyncIterable<Buffer>) {
      yield gzipHeader();
      yield* deflated;
      yield gzipTrailer(tar.crc32, tar.sizeBytes);
    },
    createWriteStream(destination),
  );
}

/**
 * Returns a gzip member header (RFC 1952) with the same bytes on every host.
 * zlib's own gzip header stores the OS that zlib was built for (OS_CODE in
 * zutil.h: 3 on Linux, 19 on macOS, 10 on Windows), so it is written here.
 */
function gzipHeader(): Buffer {
  const header = Buffer.alloc(10);
  header[0] = 0x1f;
  header[1] = 0x8b;
  // Compression method 8 is deflate. Flags stay 0 because there is no file name or comment, and the mtime field stays 0.
  header[2] = 8;
  // Extra flags 2 announce the slowest, best compression, as gzip -9 writes them.
  header[8] = DEFLATE_LEVEL === 9 ? 2 : 0;
  // OS 3 is Unix, the system whose file modes the archive carries.
  header[9] = 3;
  return header;
}

function gzipTrailer(crc32: number, sizeBytes: number): Buffer {
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32 >>> 0, 0);
  // ISIZE is the input size modulo 2^32.
  trailer.writeUInt32LE(sizeBytes % 2 ** 32, 4);
  return trailer;
}

const execFileAsync = promisify(execFile);

/** Returns whether an `xz` command is on PATH. */
async function isXzAvailable(): Promise<boolean> {
  try {
    await execFileAsync('xz', ['--version'], { env: xzEnvironment() });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new DuoSeaError({
      code: 'E_ARCHIVE_FAILED',
      stage: 'archive',
      input: 'xz --version',
      message: `The xz command on PATH does not run: ${messageOf(error)}.`,
      hint: 'Reinstall xz-utils, or remove the broken xz from PATH.',
      cause: error,
    });
  }
}

/** Returns the process environment without XZ_DEFAULTS and XZ_OPT, which would change xz's output. */
function xzEnvironment(): NodeJS.ProcessEnv {
  const environment = { ...process.env };
  delete environment.XZ_DEFAULTS;
  delete environment.XZ_OPT;
  return environment;
}

async function writeTarXz(entry: ArchiveEntry, destination: string): Promise<void> {
  const xz = spawn('xz', XZ_ARGUMENTS, { env: xzEnvironment(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  xz.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    xz.once('error', reject);
    xz.once('close', (code, signal) => resolve({ code, signal }));
  });
  const [feeding, draining, exit] = await Promise.allSettled([
    pipeline(new TarStream(entry).readable(), xz.stdin),
    pipeline(xz.stdout, createWriteStream(destination)),
    exited,
  ]);

  if (exit.status === 'rejected') throw exit.reason;
  // When xz fails, feeding it fails too (EPIPE or a premature close), so xz's exit status and output come first.
  // When reading the executable fails, xz gets end of input and exits 0, so the feeding error is reported next.
  const { code, signal } = exit.value;
  if (code !== 0) {
    const ending = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
    throw new Error(`xz ${XZ_ARGUMENTS.join(' ')} ${ending}: ${stderr.trim() || 'no error output'}`);
  }
  if (feeding.status === 'rejected') throw feeding.reason;
  if (draining.status === 'rejected') throw draining.reason;
}

/**
 * Writes a zip archive of one deflated entry. The local header is written
 * last, at offset 0, once the CRC-32 and sizes are known, so that the entry
 * needs no data descriptor.
 */
async function writeZip(entry: ArchiveEntry, destination: string): Promise<void> {
  const name = Buffer.from(entry.name, 'utf8');
  const handle = await open(destination, 'w');
  try {
    const localHeaderBytes = 30 + name.length;
    checkZipOffsets(entry, localHeaderBytes);
    await handle.write(Buffer.alloc(localHeaderBytes));
    const data = await writeDeflated(entry.sourcePath, handle);
    checkReadSize(entry, data.sizeBytes);
    checkZipOffsets(entry, localHeaderBytes + data.compressedBytes);

    const fields: ZipEntryFields = { name, crc32: data.crc32, compressedBytes: data.compressedBytes, sizeBytes: data.sizeBytes, mtime: entry.mtime };
    const centralDirectory = zipCentralHeader(fields);
    await handle.write(centralDirectory);
    await handle.write(zipEndOfCentralDirectory(centralDirectory.length, localHeaderBytes + data.compressedBytes));
    await handle.write(zipLocalHeader(fields), 0, localHeaderBytes, 0);
  } finally {
    await handle.close();
  }
}

async function writeDeflated(
  sourcePath: string,
  handle: FileHandle,
): Promise<{ crc32: number; sizeBytes: number; compressedBytes: number }> {
  let crc32 = 0;
  let sizeBytes = 0;
  let compressedBytes = 0;
  await pipeline(
    createReadStream(sourcePath),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        crc32 = zlib.crc32(chunk, crc32);
        sizeBytes += chunk.length;
        yield chunk;
      }
    },
    zlib.createDeflateRaw({ level: DEFLATE_LEVEL }),
    async function (deflated: AsyncIterable<Buffer>) {
      for await (const chunk of deflated) {
        await handle.write(chunk);
        compressedBytes += chunk.length;
      }
    },
  );
  return { crc32, sizeBytes, compressedBytes };
}

/** Throws when a size or the central directory offset does not fit 32 bits, because ZIP64 is not written. */
function checkZipOffsets(entry: ArchiveEntry, centralDirectoryOffset: number): void {
  const largest = Math.max(entry.sizeBytes, centralDirectoryOffset);
  if (largest < ZIP_MAX_SIZE_BYTES) return;
  throw new DuoSeaError({
    code: 'E_ARCHIVE_FAILED',
    stage: 'archive',
    input: entry.sourcePath,
    message: `${entry.sourcePath} is too large for a zip archive without ZIP64.`,
    expected: `less than ${ZIP_MAX_SIZE_BYTES} bytes`,
    found: `${largest} bytes`,
  });
}

interface ZipEntryFields {
  name: Buffer;
  crc32: number;
  compressedBytes: number;
  sizeBytes: number;
  mtime: Date;
}

/** Version 2.0 of the zip specification, the first with deflate. */
const ZIP_VERSION = 20;
/** General purpose flag bit 11: the entry name is UTF-8 rather than code page 437. */
const ZIP_UTF8_FLAG = 0x0800;
/** General purpose flag bits 1 and 2 for deflate: 1 is maximum compression, 0 is normal. */
const ZIP_DEFLATE_OPTION = DEFLATE_LEVEL === 9 ? 0x0002 : 0;
const ZIP_DEFLATE = 8;
/** "Version made by" host 3 is Unix, so unzip reads the file mode from the high 16 bits of the external attributes. */
const ZIP_HOST_UNIX = 3;

/** Writes the fields that the local and the central header share, from version needed to extra field length. */
function writeZipCommonFields(buffer: Buffer, offset: number, fields: ZipEntryFields): void {
  const { time, date } = dosDateTime(fields.mtime);
  buffer.writeUInt16LE(ZIP_VERSION, offset);
  buffer.writeUInt16LE((isAscii(fields.name) ? 0 : ZIP_UTF8_FLAG) | ZIP_DEFLATE_OPTION, offset + 2);
  buffer.writeUInt16LE(ZIP_DEFLATE, offset + 4);
  buffer.writeUInt16LE(time, offset + 6);
  buffer.writeUInt16LE(date, offset + 8);
  buffer.writeUInt32LE(fields.crc32 >>> 0, offset + 10);
  buffer.writeUInt32LE(fields.compressedBytes, offset + 14);
  buffer.writeUInt32LE(fields.sizeBytes, offset + 18);
  buffer.writeUInt16LE(fields.name.length, offset + 22);
  // No extra fields, so no extended timestamps or owner ids that differ between builds.
  buffer.writeUInt16LE(0, offset + 24);
}

function zipLocalHeader(fields: ZipEntryFields): Buffer {
  const header = Buffer.alloc(30 + fields.name.length);
  header.writeUInt32LE(0x04034b50, 0);
  writeZipCommonFields(header, 4, fields);
  fields.name.copy(header, 30);
  return header;
}

function zipCentralHeader(fields: ZipEntryFields): Buffer {
  const header = Buffer.alloc(46 + fields.name.length);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE((ZIP_HOST_UNIX << 8) | ZIP_VERSION, 4);
  writeZipCommonFields(header, 6, fields);
  // Comment length, disk number and internal attributes stay 0.
  header.writeUInt32LE(((REGULAR_FILE_TYPE | EXECUTABLE_MODE) << 16) >>> 0, 38);
  // The only local header starts at offset 0.
  header.writeUInt32LE(0, 42);
  fields.name.copy(header, 46);
  return header;
}

function zipEndOfCentralDirectory(centralDirectoryBytes: number, centralDirectoryOffset: number): Buffer {
  const record = Buffer.alloc(22);
  record.writeUInt32LE(0x06054b50, 0);
  record.writeUInt16LE(1, 8);
  record.writeUInt16LE(1, 10);
  record.writeUInt32LE(centralDirectoryBytes, 12);
  record.writeUInt32LE(centralDirectoryOffset, 16);
  return record;
}

function isAscii(bytes: Buffer): boolean {
  return bytes.every((byte) => byte < 0x80);
}

/**
 * Returns the MS-DOS time and date of a zip entry. DOS times have no time
 * zone, so the UTC fields are used to give the same bytes in every zone.
 * DOS dates cover 1980 to 2107, so times outside are clamped to those years.
 */
function dosDateTime(mtime: Date): { time: number; date: number } {
  if (mtime.getUTCFullYear() < 1980) return { time: 0, date: (1 << 5) | 1 };
  if (mtime.getUTCFullYear() > 2107) return dosDateTime(new Date(Date.UTC(2107, 11, 31, 23, 59, 58)));
  const time = (mtime.getUTCHours() << 11) | (mtime.getUTCMinutes() << 5) | Math.floor(mtime.getUTCSeconds() / 2);
  const date = ((mtime.getUTCFullYear() - 1980) << 9) | ((mtime.getUTCMonth() + 1) << 5) | mtime.getUTCDate();
  return { time, date };
}
