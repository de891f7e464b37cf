import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { DuoSeaError } from '../errors.js';
import { DEFLATE_LEVEL } from './compression.js';
import { checkReadSize, EXECUTABLE_MODE, type ArchiveEntry } from './entry.js';

const ZIP_MAX_SIZE_BYTES = 0xffffffff;
const REGULAR_FILE_TYPE = 0o100000;

/**
 * Writes a zip archive of one deflated entry. The local header is written
 * last, at offset 0, once the CRC-32 and sizes are known, so that the entry
 * needs no data descriptor.
 */
export async function writeZip(entry: ArchiveEntry, destination: string): Promise<void> {
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
