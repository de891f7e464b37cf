import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import * as tar from 'tar';

/**
 * Reads one member out of a release archive. The archives are checked
 * against their SHA-256 before they get here, so a failure is a damaged or
 * unexpected layout, reported as a plain Error for the caller to wrap.
 */

function normalizedEntryPath(entryPath: string): string {
  return entryPath.replace(/^\.\//, '');
}

/** Extracts one member of a `.tar.gz` into `extractDir` and returns its path, or undefined when the archive has no such regular file. */
export async function extractTarGzMember(archive: string, member: string, extractDir: string): Promise<string | undefined> {
  await tar.x({ file: archive, cwd: extractDir, filter: (entryPath) => normalizedEntryPath(entryPath) === member });
  return regularFile(path.join(extractDir, member));
}

/** Extracts one member of a `.tar.xz`, decompressed by the host's `xz`, into `extractDir`; undefined when it is missing. */
export async function extractTarXzMember(archive: string, member: string, extractDir: string): Promise<string | undefined> {
  const xz = spawn('xz', ['--decompress', '--stdout', archive], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  xz.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve, reject) => {
    xz.once('error', reject);
    xz.once('close', (code) => resolve(code));
  });
  const unpack = tar.x({ cwd: extractDir, filter: (entryPath) => normalizedEntryPath(entryPath) === member });
  const [unpacked, exit] = await Promise.allSettled([pipeline(xz.stdout, unpack), exited]);

  if (exit.status === 'rejected') throw exit.reason;
  if (exit.value !== 0) throw new Error(`xz --decompress exited with code ${exit.value}: ${stderr.trim() || 'no error output'}`);
  if (unpacked.status === 'rejected') throw unpacked.reason;
  return regularFile(path.join(extractDir, member));
}

async function regularFile(filePath: string): Promise<string | undefined> {
  const info = await stat(filePath).catch(() => undefined);
  return info?.isFile() ? filePath : undefined;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const ZIP64_END_LOCATOR = 0x07064b50;
const ZIP64_END_OF_CENTRAL_DIRECTORY = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const ZIP64_EXTRA_FIELD = 0x0001;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;
/** The end record is 22 bytes plus a comment of at most 65535 bytes. */
const MAX_END_RECORD_BYTES = 22 + 0xffff;

interface ZipEntry {
  method: number;
  compressedBytes: number;
  sizeBytes: number;
  localHeaderOffset: number;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** Returns the offset and size of the central directory, from the end record or its ZIP64 form (APPNOTE.TXT 4.3.14 to 4.3.16). */
async function centralDirectory(handle: FileHandle, fileBytes: number): Promise<{ offset: number; sizeBytes: number }> {
  const tailStart = Math.max(0, fileBytes - MAX_END_RECORD_BYTES);
  const tail = await readAt(handle, tailStart, fileBytes - tailStart);
  let at = tail.length - 22;
  while (at >= 0 && tail.readUInt32LE(at) !== END_OF_CENTRAL_DIRECTORY) at--;
  if (at < 0) throw new Error('it has no zip end of central directory record');

  const sizeBytes = tail.readUInt32LE(at + 12);
  const offset = tail.readUInt32LE(at + 16);
  if (sizeBytes !== 0xffffffff && offset !== 0xffffffff) return { offset, sizeBytes };

  const locatorAt = at - 20;
  if (locatorAt < 0 || tail.readUInt32LE(locatorAt) !== ZIP64_END_LOCATOR) throw new Error('its ZIP64 end record locator is missing');
  const zip64End = await readAt(handle, Number(tail.readBigUInt64LE(locatorAt + 8)), 56);
  if (zip64End.length < 56 || zip64End.readUInt32LE(0) !== ZIP64_END_OF_CENTRAL_DIRECTORY) throw new Error('its ZIP64 end record is missing');
  return { offset: Number(zip64End.readBigUInt64LE(48)), sizeBytes: Number(zip64End.readBigUInt64LE(40)) };
}

/** Applies a ZIP64 extra field, which contains the 64-bit values of the fields that are 0xffffffff, in this order. */
function applyZip64Extra(entry: ZipEntry, extra: Buffer): ZipEntry {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === ZIP64_EXTRA_FIELD) {
      const values = extra.subarray(at + 4, at + 4 + length);
      let next = 0;
      const take = (value: number): number => {
        if (value !== 0xffffffff) return value;
        const wide = Number(values.readBigUInt64LE(next));
        next += 8;
        return wide;
      };
      const sizeBytes = take(entry.sizeBytes);
      const compressedBytes = take(entry.compressedBytes);
      return { ...entry, sizeBytes, compressedBytes, localHeaderOffset: take(entry.localHeaderOffset) };
    }
    at += 4 + length;
  }
  return entry;
}

function findCentralEntry(directory: Buffer, member: string): ZipEntry | undefined {
  for (let at = 0; at + 46 <= directory.length; ) {
    if (directory.readUInt32LE(at) !== CENTRAL_HEADER) throw new Error(`its central directory is damaged at byte ${at}`);
    const nameBytes = directory.readUInt16LE(at + 28);
    const extraBytes = directory.readUInt16LE(at + 30);
    const commentBytes = directory.readUInt16LE(at + 32);
    const name = directory.subarray(at + 46, at + 46 + nameBytes).toString('utf8');
    if (name === member) {
      const entry = {
        method: directory.readUInt16LE(at + 10),
        compressedBytes: directory.readUInt32LE(at + 20),
        sizeBytes: directory.readUInt32LE(at + 24),
        localHeaderOffset: directory.readUInt32LE(at + 42),
      };
      return applyZip64Extra(entry, directory.subarray(at + 46 + nameBytes, at + 46 + nameBytes + extraBytes));
    }
    at += 46 + nameBytes + extraBytes + commentBytes;
  }
  return undefined;
}

async function writeMemberData(options: { archive: string; dataOffset: number; entry: ZipEntry; destination: string }): Promise<void> {
  const { archive, dataOffset, entry, destination } = options;
  if (entry.compressedBytes === 0) {
    await writeFile(destination, '', { mode: 0o600 });
    return;
  }
  const input = createReadStream(archive, { start: dataOffset, end: dataOffset + entry.compressedBytes - 1 });
  const output = createWriteStream(destination, { mode: 0o600 });
  if (entry.method === METHOD_DEFLATED) await pipeline(input, zlib.createInflateRaw(), output);
  else await pipeline(input, output);
}

/**
 * Writes one member of a zip archive to `destination`, or returns undefined
 * when the archive has no such member. Handles stored and deflated members
 * and ZIP64 archives (PKWARE APPNOTE.TXT).
 */
export async function extractZipMember(archive: string, member: string, destination: string): Promise<string | undefined> {
  const handle = await open(archive, 'r');
  let entry: ZipEntry | undefined;
  let dataOffset: number;
  try {
    const directory = await centralDirectory(handle, (await handle.stat()).size);
    entry = findCentralEntry(await readAt(handle, directory.offset, directory.sizeBytes), member);
    if (!entry) return undefined;
    const local = await readAt(handle, entry.localHeaderOffset, 30);
    if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_HEADER) throw new Error(`the local header of ${member} is missing`);
    dataOffset = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  } finally {
    await handle.close();
  }
  if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATED) throw new Error(`${member} uses compression method ${entry.method}, not stored (0) or deflated (8)`);

  await writeMemberData({ archive, dataOffset, entry, destination });

  const writtenBytes = (await stat(destination)).size;
  if (writtenBytes !== entry.sizeBytes) throw new Error(`${member} unpacked to ${writtenBytes} bytes, and the zip's central directory gives ${entry.sizeBytes}`);
  return destination;
}
