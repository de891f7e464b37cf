/**
 * Ad-hoc code signing of a thin Mach-O executable, as `codesign --sign -`
 * does it, and a check that re-reads a signature and recomputes its hashes.
 * macOS on Apple silicon starts only signed code, and an ad-hoc signature
 * (hashes without a certificate) is enough for code that was not downloaded
 * by a browser.
 */
import { createHash } from 'node:crypto';
import {
  addCodeSignatureCommand,
  findSegment,
  lastLinkeditSegment,
  MH_EXECUTE,
  readMachO,
  removeCodeSignature,
  roundUp,
  setSegmentSize,
} from './macho.js';
import {
  cdhash,
  codeDirectorySize,
  CS_ADHOC,
  CS_EXECSEG_MAIN_BINARY,
  CS_LINKER_SIGNED,
  CSMAGIC_BLOBWRAPPER,
  CSSLOT_CODEDIRECTORY,
  CSSLOT_REQUIREMENTS,
  CSSLOT_SIGNATURESLOT,
  emptyRequirements,
  emptySignatureWrapper,
  parseEmbeddedSignature,
  slotHash,
  superBlobSize,
  writeCodeDirectory,
  writeSuperBlob,
  type EmbeddedSignature,
} from './macho-signature.js';

/** codesign hashes code in 4 KiB pages on every architecture, Apple silicon included. */
const CODE_PAGE_SIZE_LOG2 = 12;
const CODE_PAGE_SIZE = 2 ** CODE_PAGE_SIZE_LOG2;
/** Apple's tools start the signature on a 16-byte boundary. */
const SIGNATURE_ALIGNMENT = 16;
/** Special slots written: 1 (Info.plist, none, so all zeros) and 2 (requirements). */
const SPECIAL_SLOT_COUNT = CSSLOT_REQUIREMENTS;
/** Slots below this number are special slots, which the CodeDirectory hashes. Higher slots contain alternate CodeDirectories and the CMS signature. */
const FIRST_UNHASHED_SLOT = 0x1000;

/** Node's digest name and the stored length of each CodeDirectory hash type. */
const HASH_TYPES = new Map<number, { algorithm: string; sizeBytes: number }>([
  [1, { algorithm: 'sha1', sizeBytes: 20 }],
  [2, { algorithm: 'sha256', sizeBytes: 32 }],
  [3, { algorithm: 'sha256', sizeBytes: 20 }],
  [4, { algorithm: 'sha384', sizeBytes: 48 }],
]);

function hashBytes(algorithm: string, sizeBytes: number, data: Buffer): Buffer {
  return createHash(algorithm).update(data).digest().subarray(0, sizeBytes);
}

function hashPages(image: Buffer, codeLimit: number, pageSizeBytes: number): Buffer[] {
  const hashes: Buffer[] = [];
  for (let offset = 0; offset < codeLimit; offset += pageSizeBytes) {
    hashes.push(hashBytes('sha256', 32, image.subarray(offset, Math.min(offset + pageSizeBytes, codeLimit))));
  }
  return hashes;
}

function checkIdentifier(identifier: string): void {
  if (identifier === '' || identifier.includes('\0')) throw new Error(`invalid signing identifier ${JSON.stringify(identifier)}`);
}

/**
 * Returns a copy of the image with a fresh ad-hoc signature: SHA-256 hashes
 * of every 4 KiB page up to the signature, an empty requirement set and an
 * empty CMS wrapper. Any existing signature is removed first. The signature
 * is appended at the end of __LINKEDIT, which grows to hold it.
 */
export function signAdhoc(image: Buffer, options: { identifier: string }): Buffer {
  const { identifier } = options;
  checkIdentifier(identifier);
  const unsigned = removeCodeSignature(image);
  const file = readMachO(unsigned);
  const linkedit = lastLinkeditSegment(file, unsigned.length);
  const text = findSegment(file, '__TEXT');

  const codeLimit = roundUp(unsigned.length, SIGNATURE_ALIGNMENT);
  const codeSlotCount = Math.ceil(codeLimit / CODE_PAGE_SIZE);
  const requirements = emptyRequirements();
  const wrapper = emptySignatureWrapper();
  const signatureSize = superBlobSize([codeDirectorySize(identifier, SPECIAL_SLOT_COUNT, codeSlotCount), requirements.length, wrapper.length]);

  // The load commands and __LINKEDIT's size are in the first page, so they are set before the pages are hashed.
  const signed = Buffer.alloc(codeLimit + signatureSize);
  unsigned.copy(signed);
  addCodeSignatureCommand(signed, file, codeLimit, signatureSize);
  setSegmentSize(signed, linkedit, codeLimit + signatureSize - linkedit.fileOffset, file.vmPageSizeBytes);

  const directory = writeCodeDirectory({
    flags: CS_ADHOC,
    identifier,
    pageSizeLog2: CODE_PAGE_SIZE_LOG2,
    codeLimit,
    specialSlotHashes: [Buffer.alloc(32), hashBytes('sha256', 32, requirements)],
    codeSlotHashes: hashPages(signed, codeLimit, CODE_PAGE_SIZE),
    execSegBase: text.fileOffset,
    execSegLimit: text.fileSizeBytes,
    execSegFlags: file.fileType === MH_EXECUTE ? CS_EXECSEG_MAIN_BINARY : 0,
  });
  const superBlob = writeSuperBlob([
    { slot: CSSLOT_CODEDIRECTORY, bytes: directory },
    { slot: CSSLOT_REQUIREMENTS, bytes: requirements },
    { slot: CSSLOT_SIGNATURESLOT, bytes: wrapper },
  ]);
  if (superBlob.length !== signatureSize) throw new Error(`the signature has ${superBlob.length} bytes, ${signatureSize} were reserved`);
  superBlob.copy(signed, codeLimit);
  return signed;
}

export type SignatureKind = 'adhoc' | 'linker-signed' | 'certificate';

/** Result of a signature check: the fields of the CodeDirectory and where the signature is. */
export interface SignatureCheck {
  kind: SignatureKind;
  identifier: string;
  teamId?: string;
  flags: number;
  cdhash: string;
  /** Number of code pages, each checked against its hash. */
  pageCount: number;
  pageSizeBytes: number;
  codeLimit: number;
  signatureOffset: number;
  signatureSizeBytes: number;
}

function signatureKind(signature: EmbeddedSignature): SignatureKind {
  const wrapper = signature.blobs.find((blob) => blob.slot === CSSLOT_SIGNATURESLOT && blob.magic === CSMAGIC_BLOBWRAPPER);
  if (wrapper && wrapper.bytes.length > 8) return 'certificate';
  return signature.codeDirectory.flags & CS_LINKER_SIGNED ? 'linker-signed' : 'adhoc';
}

function checkSpecialSlots(signature: EmbeddedSignature, algorithm: string): void {
  const directory = signature.codeDirectory;
  for (const blob of signature.blobs) {
    if (blob.slot === CSSLOT_CODEDIRECTORY || blob.slot >= FIRST_UNHASHED_SLOT) continue;
    if (blob.slot > directory.specialSlotCount) throw new Error(`the signature has a blob in slot ${blob.slot}, which the CodeDirectory does not hash`);
    if (!hashBytes(algorithm, directory.hashSizeBytes, blob.bytes).equals(slotHash(directory, -blob.slot))) {
      throw new Error(`the hash of the blob in special slot ${blob.slot} does not match the CodeDirectory`);
    }
  }
}

function checkCodePages(image: Buffer, signature: EmbeddedSignature, algorithm: string): void {
  const directory = signature.codeDirectory;
  const pageSize = directory.pageSizeBytes || directory.codeLimit;
  const expectedCount = Math.ceil(directory.codeLimit / pageSize);
  if (directory.codeSlotCount !== expectedCount) {
    throw new Error(`the CodeDirectory has ${directory.codeSlotCount} code slots, and ${directory.codeLimit} bytes in ${pageSize}-byte pages need ${expectedCount}`);
  }
  const mismatches: number[] = [];
  for (let index = 0; index < expectedCount; index++) {
    const page = image.subarray(index * pageSize, Math.min((index + 1) * pageSize, directory.codeLimit));
    if (!hashBytes(algorithm, directory.hashSizeBytes, page).equals(slotHash(directory, index))) mismatches.push(index);
  }
  if (mismatches.length > 0) {
    const listed = mismatches.slice(0, 5).map((index) => `${index} (offset ${index * pageSize})`).join(', ');
    throw new Error(`${mismatches.length} of ${expectedCount} page hashes do not match the file, first: ${listed}`);
  }
}

/**
 * Re-reads the code signature of an image and recomputes every hash it
 * holds: each code page and each special slot. Checks that the signature
 * is the last data in __LINKEDIT and the file, and that the code limit is
 * the signature's offset. Throws on the first problem. It does not check a
 * CMS signature's certificate chain.
 */
export function verifyCodeSignature(image: Buffer): SignatureCheck {
  const file = readMachO(image);
  const command = file.codeSignature;
  if (!command) throw new Error('the file has no LC_CODE_SIGNATURE command');
  const linkedit = lastLinkeditSegment(file, image.length);
  const signatureEnd = command.dataOffset + command.dataSizeBytes;
  if (command.dataOffset < linkedit.fileOffset || signatureEnd !== image.length) {
    throw new Error(`the signature (offset ${command.dataOffset}, ${command.dataSizeBytes} bytes) is not the last data of __LINKEDIT`);
  }
  if (linkedit.vmSizeBytes < linkedit.fileSizeBytes) throw new Error(`__LINKEDIT's vmsize ${linkedit.vmSizeBytes} is less than its filesize ${linkedit.fileSizeBytes}`);

  const signature = parseEmbeddedSignature(image.subarray(command.dataOffset, signatureEnd));
  const directory = signature.codeDirectory;
  const hashType = HASH_TYPES.get(directory.hashType);
  if (!hashType || hashType.sizeBytes !== directory.hashSizeBytes) {
    throw new Error(`unknown CodeDirectory hash type ${directory.hashType} with ${directory.hashSizeBytes}-byte hashes`);
  }
  if (directory.codeLimit !== command.dataOffset) {
    throw new Error(`the code limit ${directory.codeLimit} is not the signature offset ${command.dataOffset}`);
  }
  checkSpecialSlots(signature, hashType.algorithm);
  checkCodePages(image, signature, hashType.algorithm);

  return {
    kind: signatureKind(signature),
    identifier: directory.identifier,
    teamId: directory.teamId,
    flags: directory.flags,
    cdhash: cdhash(directory),
    pageCount: directory.codeSlotCount,
    pageSizeBytes: directory.pageSizeBytes,
    codeLimit: directory.codeLimit,
    signatureOffset: command.dataOffset,
    signatureSizeBytes: command.dataSizeBytes,
  };
}

/** Describes the signature of an image for a build note, without checking its hashes. Returns undefined for an unsigned image. */
export function describeCodeSignature(image: Buffer): { kind: SignatureKind; identifier: string; teamId?: string; sizeBytes: number } | undefined {
  const command = readMachO(image).codeSignature;
  if (!command) return undefined;
  const signature = parseEmbeddedSignature(image.subarray(command.dataOffset, command.dataOffset + command.dataSizeBytes));
  return { kind: signatureKind(signature), identifier: signature.codeDirectory.identifier, teamId: signature.codeDirectory.teamId, sizeBytes: command.dataSizeBytes };
}
