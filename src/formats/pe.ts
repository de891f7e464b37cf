/**
 * The few PE/COFF fields duo-sea reads and changes in a Windows executable.
 * Offsets are from the Microsoft PE format specification. The PE signature
 * offset is at 0x3C, and the optional header follows the 20-byte COFF
 * header. The optional header has CheckSum at offset 64 and Subsystem at
 * offset 68 in both PE32 and PE32+. Data directory 4, the certificate table
 * with the Authenticode signature, is at offset 144 in PE32+ and 128 in PE32.
 */

const PE_SIGNATURE = 0x00004550; // "PE\0\0", read little-endian
const PE32_MAGIC = 0x10b;
const PE32_PLUS_MAGIC = 0x20b;
const COFF_HEADER_SIZE_BYTES = 20;
const CHECKSUM_OFFSET = 64;
const SUBSYSTEM_OFFSET = 68;
const CERTIFICATE_DIRECTORY_INDEX = 4;

/** Subsystem value of a console program (IMAGE_SUBSYSTEM_WINDOWS_CUI), which node.exe is. */
export const PE_SUBSYSTEM_WINDOWS_CUI = 3;
/** wRevision of a WIN_CERTIFICATE entry that Windows accepts (WIN_CERT_REVISION_2_0). */
export const WIN_CERT_REVISION_2_0 = 0x0200;
/** wCertificateType of an Authenticode signature: a PKCS#7 SignedData (WIN_CERT_TYPE_PKCS_SIGNED_DATA). */
export const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;

/** A file that is not a PE image, or whose headers point outside the file. */
export class PeFormatError extends Error {}

export interface PeLayout {
  optionalHeaderOffset: number;
  checksumOffset: number;
  /** IMAGE_SUBSYSTEM_* value, such as 3 for a console program. */
  subsystem: number;
  certificateDirectoryOffset: number;
  certificateTableOffset: number;
  certificateTableSizeBytes: number;
}

/** One WIN_CERTIFICATE entry of the certificate table. */
export interface AttributeCertificate {
  /** File offset of the entry's 8-byte header. */
  offset: number;
  /** dwLength: header and content, without the padding to 8 bytes. */
  lengthBytes: number;
  revision: number;
  type: number;
  /** bCertificate: for Authenticode, a DER-encoded PKCS#7 ContentInfo. */
  content: Buffer;
}

/** Returns the first bytes of a file in hex, with their printable ASCII form, such as `7f 45 4c 46 (".ELF")`. */
function describeStart(image: Buffer): string {
  const start = image.subarray(0, 4);
  const hex = [...start].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  const printable = [...start].map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.')).join('');
  return `${hex} ("${printable}")`;
}

/** Reads where the checksum and certificate table are. Throws PeFormatError for a file that is not PE. */
export function readPeLayout(image: Buffer): PeLayout {
  if (image.length < 0x40 || image.readUInt16LE(0) !== 0x5a4d) {
    throw new PeFormatError(`not a PE file: it starts with ${describeStart(image)} instead of "MZ"`);
  }
  const peOffset = image.readUInt32LE(0x3c);
  if (peOffset + 4 + COFF_HEADER_SIZE_BYTES + 2 > image.length || image.readUInt32LE(peOffset) !== PE_SIGNATURE) {
    throw new PeFormatError(`not a PE file: it has an "MZ" header but no "PE" signature at offset ${peOffset}`);
  }
  const optionalHeaderOffset = peOffset + 4 + COFF_HEADER_SIZE_BYTES;
  const magic = image.readUInt16LE(optionalHeaderOffset);
  if (magic !== PE32_MAGIC && magic !== PE32_PLUS_MAGIC) throw new PeFormatError(`unknown optional header magic 0x${magic.toString(16)}`);

  const isPe32Plus = magic === PE32_PLUS_MAGIC;
  const directoryCountOffset = optionalHeaderOffset + (isPe32Plus ? 108 : 92);
  const directoriesOffset = directoryCountOffset + 4;
  const certificateDirectoryOffset = directoriesOffset + CERTIFICATE_DIRECTORY_INDEX * 8;
  if (certificateDirectoryOffset + 8 > image.length) throw new PeFormatError(`the optional header ends after the end of the file (${image.length} bytes)`);
  const directoryCount = image.readUInt32LE(directoryCountOffset);
  if (directoryCount <= CERTIFICATE_DIRECTORY_INDEX) {
    throw new PeFormatError(`the optional header has ${directoryCount} data directories, so it has no certificate table entry`);
  }
  return {
    optionalHeaderOffset,
    checksumOffset: optionalHeaderOffset + CHECKSUM_OFFSET,
    subsystem: image.readUInt16LE(optionalHeaderOffset + SUBSYSTEM_OFFSET),
    certificateDirectoryOffset,
    // The certificate table entry contains a file offset, not a virtual address.
    certificateTableOffset: image.readUInt32LE(certificateDirectoryOffset),
    certificateTableSizeBytes: image.readUInt32LE(certificateDirectoryOffset + 4),
  };
}

/**
 * Returns the entries of the certificate table, or none for an unsigned
 * image. Each entry starts on an 8-byte boundary, as the specification
 * requires.
 */
export function readAttributeCertificates(image: Buffer): AttributeCertificate[] {
  const layout = readPeLayout(image);
  if (layout.certificateTableSizeBytes === 0) return [];
  const tableEnd = layout.certificateTableOffset + layout.certificateTableSizeBytes;
  if (tableEnd > image.length) {
    throw new PeFormatError(`the certificate table (offset ${layout.certificateTableOffset}, ${layout.certificateTableSizeBytes} bytes) ends after the end of the file (${image.length} bytes)`);
  }

  const certificates: AttributeCertificate[] = [];
  let offset = layout.certificateTableOffset;
  while (offset < tableEnd) {
    if (offset + 8 > tableEnd) throw new PeFormatError(`the certificate table has ${tableEnd - offset} stray bytes at offset ${offset}`);
    const lengthBytes = image.readUInt32LE(offset);
    if (lengthBytes < 8 || offset + lengthBytes > tableEnd) {
      throw new PeFormatError(`the certificate at offset ${offset} has an invalid length of ${lengthBytes} bytes`);
    }
    certificates.push({
      offset,
      lengthBytes,
      revision: image.readUInt16LE(offset + 4),
      type: image.readUInt16LE(offset + 6),
      content: image.subarray(offset + 8, offset + lengthBytes),
    });
    offset += (lengthBytes + 7) & ~7;
  }
  return certificates;
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
    throw new PeFormatError(`the certificate table (offset ${layout.certificateTableOffset}, ${layout.certificateTableSizeBytes} bytes) is not at the end of the file`);
  }
  const result = Buffer.from(image.subarray(0, layout.certificateTableOffset));
  result.writeUInt32LE(0, layout.certificateDirectoryOffset);
  result.writeUInt32LE(0, layout.certificateDirectoryOffset + 4);
  return result;
}

/**
 * Computes the PE image checksum: the 16-bit one's-complement-style sum of
 * the file with the CheckSum field taken as zero, plus the file length. The
 * certificate table is part of the sum, but the Authenticode digest leaves
 * out the CheckSum field, so rewriting it keeps a signature valid.
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
