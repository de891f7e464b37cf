import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { DuoSeaError } from '../errors.js';
import { formatBytes } from '../format.js';
import { DEFLATE_LEVEL } from './compression.js';
import { checkReadSize, EXECUTABLE_MODE, type ArchiveEntry } from './entry.js';

const TAR_BLOCK_BYTES = 512;
/** The largest number that fits the 11 octal digits of a ustar size or time field, which as a size is 8 GiB - 1. */
export const TAR_MAX_FIELD_VALUE = 8 ** 11 - 1;

/** Streams a ustar archive of one entry and counts its bytes and CRC-32 for a gzip trailer. */
export class TarStream {
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

export async function writeTarGz(entry: ArchiveEntry, destination: string): Promise<void> {
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
