/**
 * The embedded code signature of a Mach-O file: a SuperBlob that indexes a
 * CodeDirectory and other blobs. Every field is big-endian. Magic numbers,
 * slots, flags and the CodeDirectory layout are those of
 * osfmk/kern/cs_blobs.h in Apple's xnu sources.
 */
import { createHash } from 'node:crypto';

export const CSMAGIC_REQUIREMENTS = 0xfade0c01;
export const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
export const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
export const CSMAGIC_BLOBWRAPPER = 0xfade0b01;

export const CSSLOT_CODEDIRECTORY = 0;
export const CSSLOT_INFOSLOT = 1;
export const CSSLOT_REQUIREMENTS = 2;
export const CSSLOT_SIGNATURESLOT = 0x10000;

export const CS_ADHOC = 0x2;
export const CS_RUNTIME = 0x10000;
export const CS_LINKER_SIGNED = 0x20000;
export const CS_EXECSEG_MAIN_BINARY = 0x1;
export const CS_HASHTYPE_SHA256 = 2;

/** The first CodeDirectory version with the execSeg fields, and the newest this module writes. */
export const CODEDIRECTORY_VERSION_EXECSEG = 0x20400;
const CODEDIRECTORY_VERSION_SCATTER = 0x20100;
const CODEDIRECTORY_VERSION_TEAMID = 0x20200;
const CODEDIRECTORY_VERSION_CODELIMIT64 = 0x20300;
/** Size of a version 0x20400 CodeDirectory header, up to and including execSegFlags. */
export const CODEDIRECTORY_EXECSEG_HEADER_SIZE = 88;

const SUPERBLOB_HEADER_SIZE = 12;
const BLOB_INDEX_ENTRY_SIZE = 8;
const BLOB_HEADER_SIZE = 8;

export interface CodeDirectory {
  version: number;
  flags: number;
  identifier: string;
  teamId?: string;
  hashType: number;
  hashSizeBytes: number;
  pageSizeBytes: number;
  /** File offset where the hashed code ends, which is the signature's offset. */
  codeLimit: number;
  specialSlotCount: number;
  codeSlotCount: number;
  execSegBase?: number;
  execSegLimit?: number;
  execSegFlags?: number;
  /** The whole blob, whose SHA-256 (truncated to 20 bytes) is the cdhash. */
  bytes: Buffer;
  /** Offset of code slot 0 in `bytes`. Special slot N is N hashes before it. */
  hashOffset: number;
}

export interface SignatureBlob {
  slot: number;
  magic: number;
  /** The whole blob, header included. */
  bytes: Buffer;
}

export interface EmbeddedSignature {
  /** Length that the SuperBlob header records, which may be less than LC_CODE_SIGNATURE's datasize. */
  sizeBytes: number;
  blobs: SignatureBlob[];
  codeDirectory: CodeDirectory;
}

function readBlob(data: Buffer, offset: number, slot: number): SignatureBlob {
  if (offset + BLOB_HEADER_SIZE > data.length) throw new Error(`the blob of slot 0x${slot.toString(16)} starts past the end of the signature`);
  const magic = data.readUInt32BE(offset);
  const length = data.readUInt32BE(offset + 4);
  if (length < BLOB_HEADER_SIZE || offset + length > data.length) {
    throw new Error(`the blob of slot 0x${slot.toString(16)} (magic 0x${magic.toString(16)}) has an invalid length of ${length} bytes`);
  }
  return { slot, magic, bytes: data.subarray(offset, offset + length) };
}

function readCString(data: Buffer, offset: number, field: string): string {
  const end = data.indexOf(0, offset);
  if (offset >= data.length || end === -1) throw new Error(`the CodeDirectory's ${field} is not a terminated string`);
  return data.toString('utf8', offset, end);
}

function readSafeUInt64BE(data: Buffer, offset: number): number {
  return Number(data.readBigUInt64BE(offset));
}

/** Reads a CodeDirectory blob and checks that its hash slots lie inside it. */
export function parseCodeDirectory(bytes: Buffer): CodeDirectory {
  if (bytes.length < 44 || bytes.readUInt32BE(0) !== CSMAGIC_CODEDIRECTORY) throw new Error('the CodeDirectory blob has a wrong magic or is too short');
  const version = bytes.readUInt32BE(8);
  const hashOffset = bytes.readUInt32BE(16);
  const specialSlotCount = bytes.readUInt32BE(24);
  const codeSlotCount = bytes.readUInt32BE(28);
  const hashSizeBytes = bytes[36];
  const pageSizeLog2 = bytes[39];
  const teamOffset = version >= CODEDIRECTORY_VERSION_TEAMID ? bytes.readUInt32BE(48) : 0;
  const codeLimit64 = version >= CODEDIRECTORY_VERSION_CODELIMIT64 ? readSafeUInt64BE(bytes, 56) : 0;
  const hasExecSeg = version >= CODEDIRECTORY_VERSION_EXECSEG;
  if (hashOffset < specialSlotCount * hashSizeBytes || hashOffset + codeSlotCount * hashSizeBytes > bytes.length) {
    throw new Error(`the CodeDirectory's ${specialSlotCount} special and ${codeSlotCount} code slots do not fit in its ${bytes.length} bytes`);
  }
  if (version >= CODEDIRECTORY_VERSION_SCATTER && bytes.readUInt32BE(44) !== 0) throw new Error('the CodeDirectory has a scatter vector, which duo-sea does not read');

  return {
    version,
    flags: bytes.readUInt32BE(12),
    identifier: readCString(bytes, bytes.readUInt32BE(20), 'identifier'),
    teamId: teamOffset > 0 ? readCString(bytes, teamOffset, 'team id') : undefined,
    hashType: bytes[37],
    hashSizeBytes,
    // A page size of 0 means that the whole code limit is one page.
    pageSizeBytes: pageSizeLog2 === 0 ? 0 : 2 ** pageSizeLog2,
    codeLimit: codeLimit64 > 0 ? codeLimit64 : bytes.readUInt32BE(32),
    specialSlotCount,
    codeSlotCount,
    execSegBase: hasExecSeg ? readSafeUInt64BE(bytes, 64) : undefined,
    execSegLimit: hasExecSeg ? readSafeUInt64BE(bytes, 72) : undefined,
    execSegFlags: hasExecSeg ? readSafeUInt64BE(bytes, 80) : undefined,
    bytes,
    hashOffset,
  };
}

/** Reads a SuperBlob and its CodeDirectory. */
export function parseEmbeddedSignature(data: Buffer): EmbeddedSignature {
  if (data.length < SUPERBLOB_HEADER_SIZE || data.readUInt32BE(0) !== CSMAGIC_EMBEDDED_SIGNATURE) {
    throw new Error('the code signature does not start with an embedded signature SuperBlob (magic 0xfade0cc0)');
  }
  const sizeBytes = data.readUInt32BE(4);
  const count = data.readUInt32BE(8);
  if (sizeBytes > data.length || SUPERBLOB_HEADER_SIZE + count * BLOB_INDEX_ENTRY_SIZE > sizeBytes) {
    throw new Error(`the SuperBlob records ${sizeBytes} bytes and ${count} blobs, which do not fit in the ${data.length}-byte signature`);
  }
  const superBlob = data.subarray(0, sizeBytes);
  const blobs: SignatureBlob[] = [];
  for (let index = 0; index < count; index++) {
    const entry = SUPERBLOB_HEADER_SIZE + index * BLOB_INDEX_ENTRY_SIZE;
    blobs.push(readBlob(superBlob, superBlob.readUInt32BE(entry + 4), superBlob.readUInt32BE(entry)));
  }
  const directory = blobs.find((blob) => blob.slot === CSSLOT_CODEDIRECTORY);
  if (!directory) throw new Error('the SuperBlob has no CodeDirectory');
  return { sizeBytes, blobs, codeDirectory: parseCodeDirectory(directory.bytes) };
}

/** Returns the hash stored in a code slot (index 0 and up) or special slot (index -1 and down). */
export function slotHash(directory: CodeDirectory, index: number): Buffer {
  const start = directory.hashOffset + index * directory.hashSizeBytes;
  return directory.bytes.subarray(start, start + directory.hashSizeBytes);
}

/** Returns the cdhash that macOS identifies the code by: the CodeDirectory's SHA-256, truncated to 20 bytes. */
export function cdhash(directory: CodeDirectory): string {
  return createHash('sha256').update(directory.bytes).digest('hex').slice(0, 40);
}

/** Returns an empty requirement set, which codesign writes for ad-hoc signatures. */
export function emptyRequirements(): Buffer {
  const blob = Buffer.alloc(12);
  blob.writeUInt32BE(CSMAGIC_REQUIREMENTS, 0);
  blob.writeUInt32BE(blob.length, 4);
  return blob;
}

/** Returns a BlobWrapper with no CMS data, which marks an ad-hoc signature as codesign writes it. */
export function emptySignatureWrapper(): Buffer {
  const blob = Buffer.alloc(BLOB_HEADER_SIZE);
  blob.writeUInt32BE(CSMAGIC_BLOBWRAPPER, 0);
  blob.writeUInt32BE(blob.length, 4);
  return blob;
}

export interface CodeDirectoryFields {
  flags: number;
  identifier: string;
  pageSizeLog2: number;
  codeLimit: number;
  /** Hashes of special slots 1, 2, … in that order; a missing blob's slot is all zeros. */
  specialSlotHashes: Buffer[];
  codeSlotHashes: Buffer[];
  execSegBase: number;
  execSegLimit: number;
  execSegFlags: number;
}

/** Returns the size of a version 0x20400 SHA-256 CodeDirectory, so the signature can be sized before the pages are hashed. */
export function codeDirectorySize(identifier: string, specialSlotCount: number, codeSlotCount: number): number {
  return CODEDIRECTORY_EXECSEG_HEADER_SIZE + Buffer.byteLength(identifier) + 1 + (specialSlotCount + codeSlotCount) * 32;
}

/** Writes a version 0x20400 CodeDirectory with SHA-256 hashes, no team id and no scatter vector. */
export function writeCodeDirectory(fields: CodeDirectoryFields): Buffer {
  const { identifier, specialSlotHashes, codeSlotHashes } = fields;
  if (fields.codeLimit > 0xffffffff) throw new Error(`code limit ${fields.codeLimit} needs codeLimit64, which duo-sea does not write`);
  const blob = Buffer.alloc(codeDirectorySize(identifier, specialSlotHashes.length, codeSlotHashes.length));
  const identifierOffset = CODEDIRECTORY_EXECSEG_HEADER_SIZE;
  const hashOffset = identifierOffset + Buffer.byteLength(identifier) + 1 + specialSlotHashes.length * 32;

  blob.writeUInt32BE(CSMAGIC_CODEDIRECTORY, 0);
  blob.writeUInt32BE(blob.length, 4);
  blob.writeUInt32BE(CODEDIRECTORY_VERSION_EXECSEG, 8);
  blob.writeUInt32BE(fields.flags, 12);
  blob.writeUInt32BE(hashOffset, 16);
  blob.writeUInt32BE(identifierOffset, 20);
  blob.writeUInt32BE(specialSlotHashes.length, 24);
  blob.writeUInt32BE(codeSlotHashes.length, 28);
  blob.writeUInt32BE(fields.codeLimit, 32);
  blob[36] = 32;
  blob[37] = CS_HASHTYPE_SHA256;
  blob[39] = fields.pageSizeLog2;
  // spare2 (offset 40), scatterOffset (44), teamOffset (48), spare3 (52) and codeLimit64 (56) stay zero.
  blob.writeBigUInt64BE(BigInt(fields.execSegBase), 64);
  blob.writeBigUInt64BE(BigInt(fields.execSegLimit), 72);
  blob.writeBigUInt64BE(BigInt(fields.execSegFlags), 80);
  blob.write(identifier, identifierOffset, 'utf8');

  specialSlotHashes.forEach((hash, index) => hash.copy(blob, hashOffset - (index + 1) * 32));
  codeSlotHashes.forEach((hash, index) => hash.copy(blob, hashOffset + index * 32));
  return blob;
}

/** Writes an embedded signature SuperBlob of these blobs, indexed in the given slot order. */
export function writeSuperBlob(blobs: { slot: number; bytes: Buffer }[]): Buffer {
  const indexSize = SUPERBLOB_HEADER_SIZE + blobs.length * BLOB_INDEX_ENTRY_SIZE;
  const total = indexSize + blobs.reduce((sum, blob) => sum + blob.bytes.length, 0);
  const superBlob = Buffer.alloc(total);
  superBlob.writeUInt32BE(CSMAGIC_EMBEDDED_SIGNATURE, 0);
  superBlob.writeUInt32BE(total, 4);
  superBlob.writeUInt32BE(blobs.length, 8);
  let offset = indexSize;
  blobs.forEach((blob, index) => {
    superBlob.writeUInt32BE(blob.slot, SUPERBLOB_HEADER_SIZE + index * BLOB_INDEX_ENTRY_SIZE);
    superBlob.writeUInt32BE(offset, SUPERBLOB_HEADER_SIZE + index * BLOB_INDEX_ENTRY_SIZE + 4);
    blob.bytes.copy(superBlob, offset);
    offset += blob.bytes.length;
  });
  return superBlob;
}

/** Returns the size of a SuperBlob of blobs of these sizes. */
export function superBlobSize(blobSizes: number[]): number {
  return SUPERBLOB_HEADER_SIZE + blobSizes.length * BLOB_INDEX_ENTRY_SIZE + blobSizes.reduce((sum, size) => sum + size, 0);
}
