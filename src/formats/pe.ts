/**
 * The few PE/COFF fields duo-sea changes in a Windows executable. Offsets
 * are from the Microsoft PE format specification. The PE signature offset
 * is at 0x3C, and the optional header follows the 20-byte COFF header. The
 * optional header has CheckSum at offset 64. Data directory 4, the
 * certificate table with the Authenticode signature, is at offset 144 in
 * PE32+ and 128 in PE32.
 */

const PE_SIGNATURE = 0x00004550; // "PE\0\0", read little-endian
const PE32_MAGIC = 0x10b;
const PE32_PLUS_MAGIC = 0x20b;
const CHECKSUM_OFFSET = 64;
const CERTIFICATE_DIRECTORY_INDEX = 4;

export interface PeLayout {
  optionalHeaderOffset: number;
  checksumOffset: number;
  certificateDirectoryOffset: number;
  certificateTableOffset: number;
  certificateTableSizeBytes: number;
}

/** Reads where the checksum and certificate table are, or throws for a file that is not PE. */
export function readPeLayout(image: Buffer): PeLayout {
  if (image.length < 0x40 || image.readUInt16LE(0) !== 0x5a4d) throw new Error('not a PE file: no "MZ" header');
  const peOffset = image.readUInt32LE(0x3c);
  if (peOffset + 24 > image.length || image.readUInt32LE(peOffset) !== PE_SIGNATURE) throw new Error('not a PE file: no "PE" signature');
  const optionalHeaderOffset = peOffset + 24;
  const magic = image.readUInt16LE(optionalHeaderOffset);
  if (magic !== PE32_MAGIC && magic !== PE32_PLUS_MAGIC) throw new Error(`unknown optional header magic 0x${magic.toString(16)}`);
  const directoriesOffset = optionalHeaderOffset + (magic === PE32_PLUS_MAGIC ? 112 : 96);
  const certificateDirectoryOffset = directoriesOffset + CERTIFICATE_DIRECTORY_INDEX * 8;
  return {
    optionalHeaderOffset,
    checksumOffset: optionalHeaderOffset + CHECKSUM_OFFSET,
    certificateDirectoryOffset,
    // The certificate table entry contains a file offset, not a virtual address.
    certificateTableOffset: image.readUInt32LE(certificateDirectoryOffset),
    certificateTableSizeBytes: image.readUInt32LE(certificateDirectoryOffset + 4),
  };
}

/**
 * Returns the image without its Authenticode signature: the certificate
 * table, which sits at the end of the file, is cut off and its directory
 * entry zeroed. A signature made for the unmodified node.exe would be stale
 * after injection, and Windows reports a stale signature as corrupted.
 */
export function removeCertificateTable(image: Buffer): Buffer {
  const layout = readPeLayout(image);
  if (layout.certificateTableSizeBytes === 0) return image;
  const tableEnd = layout.certificateTableOffset + layout.certificateTableSizeBytes;
  if (tableEnd < image.length - 8 || tableEnd > image.length) {
    throw new Error(`the certificate table (offset ${layout.certificateTableOffset}, ${layout.certificateTableSizeBytes} bytes) is not at the end of the file`);
  }
  const result = Buffer.from(image.subarray(0, layout.certificateTableOffset));
  result.writeUInt32LE(0, layout.certificateDirectoryOffset);
  result.writeUInt32LE(0, layout.certificateDirectoryOffset + 4);
  return result;
}

/**
 * Computes the PE image checksum: the 16-bit one's-complement-style sum of
 * the file with the CheckSum field taken as zero, plus the file length.
 */
export function computePeChecksum(image: Buffer, checksumOffset: number): number {
  let sum = 0;
  const evenLength = image.length & ~1;
  for (let offset = 0; offset < evenLength; offset += 2) {
    if (offset === checksumOffset || offset === checksumOffset + 2) continue;
    sum += image.readUInt16LE(offset);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (image.length & 1) {
    sum += image[image.length - 1];
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum + image.length) >>> 0;
}

/** Writes the correct CheckSum into the image in place and returns it. */
export function updatePeChecksum(image: Buffer): number {
  const { checksumOffset } = readPeLayout(image);
  const checksum = computePeChecksum(image, checksumOffset);
  image.writeUInt32LE(checksum, checksumOffset);
  return checksum;
}
