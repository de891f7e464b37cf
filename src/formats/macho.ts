/**
 * The parts of a 64-bit little-endian Mach-O file that code signing reads
 * and changes: the header, the load commands, the segments and
 * LC_CODE_SIGNATURE. Layouts are those of <mach-o/loader.h> and
 * <mach-o/fat.h> in Apple's cctools and xnu sources.
 */

const MH_MAGIC = 0xfeedface;
const MH_MAGIC_64 = 0xfeedfacf;
const MH_CIGAM_64 = 0xcffaedfe;
/** Universal ("fat") headers are big-endian. FAT_MAGIC_64 headers have 64-bit offsets. */
const FAT_MAGIC = 0xcafebabe;
const FAT_MAGIC_64 = 0xcafebabf;
/** Java class files start with FAT_MAGIC too, followed by a class file version of at least 45, while a fat header lists few architectures. */
const MAX_FAT_ARCHITECTURES = 30;

const HEADER_64_SIZE = 32;
const LC_SEGMENT_64 = 0x19;
export const LC_CODE_SIGNATURE = 0x1d;
const SEGMENT_64_COMMAND_SIZE = 72;
const SECTION_64_SIZE = 80;
export const LINKEDIT_DATA_COMMAND_SIZE = 16;
export const MH_EXECUTE = 0x2;

const CPU_TYPE_X86_64 = 0x01000007;
const CPU_TYPE_ARM64 = 0x0100000c;
const CPU_NAMES = new Map<number, string>([
  [CPU_TYPE_X86_64, 'x86_64'],
  [CPU_TYPE_ARM64, 'arm64'],
  [7, 'i386'],
  [12, 'arm'],
  [18, 'ppc'],
  [0x01000012, 'ppc64'],
]);

/** VM page size of the CPU: 16 KiB on Apple silicon, 4 KiB on Intel Macs. */
const VM_PAGE_SIZES = new Map<number, number>([
  [CPU_TYPE_X86_64, 0x1000],
  [CPU_TYPE_ARM64, 0x4000],
]);

export interface MachOLoadCommand {
  command: number;
  /** File offset of the command. */
  offset: number;
  sizeBytes: number;
}

export interface MachOSegment {
  name: string;
  /** File offset of the LC_SEGMENT_64 command. */
  commandOffset: number;
  vmAddress: number;
  vmSizeBytes: number;
  fileOffset: number;
  fileSizeBytes: number;
}

export interface MachOCodeSignatureCommand {
  /** File offset of the LC_CODE_SIGNATURE command. */
  commandOffset: number;
  /** File offset of the signature's SuperBlob. */
  dataOffset: number;
  dataSizeBytes: number;
}

export interface MachOFile {
  cpuType: number;
  /** Architecture name as Apple's tools print it, such as `arm64`. */
  cpuName: string;
  fileType: number;
  /** VM page size of the CPU, which segment sizes in memory are rounded to. */
  vmPageSizeBytes: number;
  loadCommands: MachOLoadCommand[];
  /** File offset just past the last load command. */
  loadCommandsEnd: number;
  /** Lowest file offset of section or segment data after the header: the load commands must end before it. */
  loadCommandsLimit: number;
  segments: MachOSegment[];
  codeSignature?: MachOCodeSignatureCommand;
}

function cpuName(cpuType: number): string {
  return CPU_NAMES.get(cpuType) ?? `cputype 0x${cpuType.toString(16)}`;
}

function readSafeUInt64(image: Buffer, offset: number, field: string): number {
  const value = image.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${field} at offset ${offset} is too large: ${value}`);
  return Number(value);
}

/** Throws a clear error for a universal binary, a 32-bit or big-endian Mach-O, or a file that is not Mach-O. */
function checkMagic(image: Buffer): void {
  if (image.length < HEADER_64_SIZE) throw new Error(`not a Mach-O file: it has only ${image.length} bytes`);
  const bigEndianMagic = image.readUInt32BE(0);
  if (bigEndianMagic === FAT_MAGIC || bigEndianMagic === FAT_MAGIC_64) {
    const count = image.readUInt32BE(4);
    if (count > 0 && count < MAX_FAT_ARCHITECTURES) {
      const entrySize = bigEndianMagic === FAT_MAGIC ? 20 : 32;
      const names = [];
      for (let index = 0; index < count && 8 + (index + 1) * entrySize <= image.length; index++) {
        names.push(cpuName(image.readUInt32BE(8 + index * entrySize)));
      }
      throw new Error(`a universal (fat) Mach-O file with ${count} architectures (${names.join(', ')}): a thin file of one architecture is needed (lipo -thin ARCH)`);
    }
  }
  const magic = image.readUInt32LE(0);
  if (magic === MH_MAGIC_64) return;
  if (magic === MH_MAGIC) throw new Error('a 32-bit Mach-O file: only 64-bit Mach-O files are supported');
  if (magic === MH_CIGAM_64 || bigEndianMagic === MH_MAGIC) throw new Error('a big-endian Mach-O file: only little-endian (x86_64, arm64) files are supported');
  throw new Error(`not a Mach-O file: magic 0x${bigEndianMagic.toString(16).padStart(8, '0')}`);
}

function readSegment(image: Buffer, offset: number, sizeBytes: number, limits: number[]): MachOSegment {
  if (sizeBytes < SEGMENT_64_COMMAND_SIZE) throw new Error(`LC_SEGMENT_64 at offset ${offset} is ${sizeBytes} bytes, shorter than ${SEGMENT_64_COMMAND_SIZE}`);
  const segment: MachOSegment = {
    name: image.toString('latin1', offset + 8, offset + 24).replace(/\0.*$/s, ''),
    commandOffset: offset,
    vmAddress: readSafeUInt64(image, offset + 24, 'vmaddr'),
    vmSizeBytes: readSafeUInt64(image, offset + 32, 'vmsize'),
    fileOffset: readSafeUInt64(image, offset + 40, 'fileoff'),
    fileSizeBytes: readSafeUInt64(image, offset + 48, 'filesize'),
  };
  const sectionCount = image.readUInt32LE(offset + 64);
  if (SEGMENT_64_COMMAND_SIZE + sectionCount * SECTION_64_SIZE > sizeBytes) {
    throw new Error(`segment ${segment.name} lists ${sectionCount} sections, more than its ${sizeBytes}-byte command contains`);
  }
  // Zero-fill sections have file offset 0, and the segment that maps the header starts at 0 too.
  if (segment.fileOffset > 0 && segment.fileSizeBytes > 0) limits.push(segment.fileOffset);
  for (let index = 0; index < sectionCount; index++) {
    const sectionOffset = image.readUInt32LE(offset + SEGMENT_64_COMMAND_SIZE + index * SECTION_64_SIZE + 48);
    if (sectionOffset > 0) limits.push(sectionOffset);
  }
  return segment;
}

/** Reads the header, load commands and segments of a thin 64-bit Mach-O file, or throws a clear error. */
export function readMachO(image: Buffer): MachOFile {
  checkMagic(image);
  const cpuType = image.readInt32LE(4);
  const commandCount = image.readUInt32LE(16);
  const commandsSizeBytes = image.readUInt32LE(20);
  const loadCommandsEnd = HEADER_64_SIZE + commandsSizeBytes;
  if (loadCommandsEnd > image.length) throw new Error(`the load commands (${commandsSizeBytes} bytes) run past the end of the file`);

  const loadCommands: MachOLoadCommand[] = [];
  const segments: MachOSegment[] = [];
  const limits: number[] = [];
  let codeSignature: MachOCodeSignatureCommand | undefined;
  let offset = HEADER_64_SIZE;
  for (let index = 0; index < commandCount; index++) {
    if (offset + 8 > loadCommandsEnd) throw new Error(`load command ${index} starts past sizeofcmds (${commandsSizeBytes} bytes)`);
    const command = image.readUInt32LE(offset);
    const sizeBytes = image.readUInt32LE(offset + 4);
    if (sizeBytes < 8 || sizeBytes % 8 !== 0 || offset + sizeBytes > loadCommandsEnd) {
      throw new Error(`load command ${index} (0x${command.toString(16)}) at offset ${offset} has an invalid size of ${sizeBytes} bytes`);
    }
    loadCommands.push({ command, offset, sizeBytes });
    if (command === LC_SEGMENT_64) segments.push(readSegment(image, offset, sizeBytes, limits));
    if (command === LC_CODE_SIGNATURE) {
      if (codeSignature) throw new Error('the file has two LC_CODE_SIGNATURE commands');
      codeSignature = { commandOffset: offset, dataOffset: image.readUInt32LE(offset + 8), dataSizeBytes: image.readUInt32LE(offset + 12) };
    }
    offset += sizeBytes;
  }
  if (offset !== loadCommandsEnd) throw new Error(`the load commands take ${offset - HEADER_64_SIZE} bytes, but sizeofcmds is ${commandsSizeBytes}`);

  return {
    cpuType,
    cpuName: cpuName(cpuType),
    fileType: image.readUInt32LE(12),
    vmPageSizeBytes: VM_PAGE_SIZES.get(cpuType) ?? 0x4000,
    loadCommands,
    loadCommandsEnd,
    loadCommandsLimit: Math.min(image.length, ...limits),
    segments,
    codeSignature,
  };
}

/** Returns the segment with this name, or throws. */
export function findSegment(file: MachOFile, name: string): MachOSegment {
  const segment = file.segments.find((candidate) => candidate.name === name);
  if (!segment) throw new Error(`the file has no ${name} segment`);
  return segment;
}

/**
 * Returns __LINKEDIT after checking that it is the last segment in the file
 * and that nothing follows it: the signature must be the last data in the
 * file, and only then can it grow without moving other data.
 */
export function lastLinkeditSegment(file: MachOFile, fileSizeBytes: number): MachOSegment {
  const linkedit = findSegment(file, '__LINKEDIT');
  const linkeditEnd = linkedit.fileOffset + linkedit.fileSizeBytes;
  for (const segment of file.segments) {
    if (segment !== linkedit && segment.fileSizeBytes > 0 && segment.fileOffset + segment.fileSizeBytes > linkedit.fileOffset) {
      throw new Error(`segment ${segment.name} ends at ${segment.fileOffset + segment.fileSizeBytes}, after __LINKEDIT starts at ${linkedit.fileOffset}`);
    }
  }
  if (linkeditEnd !== fileSizeBytes) {
    throw new Error(`__LINKEDIT ends at ${linkeditEnd}, but the file has ${fileSizeBytes} bytes`);
  }
  return linkedit;
}

export function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

/** Writes a segment's file size, and its size in memory rounded up to `vmPageSizeBytes`, into the image in place. */
export function setSegmentSize(image: Buffer, segment: MachOSegment, fileSizeBytes: number, vmPageSizeBytes: number): void {
  image.writeBigUInt64LE(BigInt(roundUp(fileSizeBytes, vmPageSizeBytes)), segment.commandOffset + 32);
  image.writeBigUInt64LE(BigInt(fileSizeBytes), segment.commandOffset + 48);
}

/**
 * Returns the image without its code signature: LC_CODE_SIGNATURE is taken
 * out of the load commands (the later commands move up and the freed bytes
 * are zeroed), the file is cut at the signature, and __LINKEDIT shrinks to
 * end there. Returns the same buffer when there is no signature.
 */
export function removeCodeSignature(image: Buffer): Buffer {
  const file = readMachO(image);
  const signature = file.codeSignature;
  if (!signature) return image;

  const linkedit = lastLinkeditSegment(file, image.length);
  const signatureEnd = signature.dataOffset + signature.dataSizeBytes;
  if (signature.dataOffset < linkedit.fileOffset || signatureEnd !== image.length) {
    throw new Error(
      `the code signature (offset ${signature.dataOffset}, ${signature.dataSizeBytes} bytes) is not at the end of __LINKEDIT and the file (${image.length} bytes)`,
    );
  }

  const result = Buffer.from(image.subarray(0, signature.dataOffset));
  const commandEnd = signature.commandOffset + LINKEDIT_DATA_COMMAND_SIZE;
  result.copy(result, signature.commandOffset, commandEnd, file.loadCommandsEnd);
  result.fill(0, file.loadCommandsEnd - LINKEDIT_DATA_COMMAND_SIZE, file.loadCommandsEnd);
  result.writeUInt32LE(file.loadCommands.length - 1, 16);
  result.writeUInt32LE(file.loadCommandsEnd - HEADER_64_SIZE - LINKEDIT_DATA_COMMAND_SIZE, 20);

  // A segment command after LC_CODE_SIGNATURE moved up, so read __LINKEDIT's command offset again.
  const moved = readMachO(result);
  setSegmentSize(result, findSegment(moved, '__LINKEDIT'), signature.dataOffset - linkedit.fileOffset, file.vmPageSizeBytes);
  return result;
}

/**
 * Appends an LC_CODE_SIGNATURE command to the image in place, or throws
 * when the load commands have no room for it before the first section.
 */
export function addCodeSignatureCommand(image: Buffer, file: MachOFile, dataOffset: number, dataSizeBytes: number): void {
  if (file.codeSignature) throw new Error('the file already has an LC_CODE_SIGNATURE command');
  const offset = file.loadCommandsEnd;
  if (offset + LINKEDIT_DATA_COMMAND_SIZE > file.loadCommandsLimit) {
    throw new Error(
      `no room for LC_CODE_SIGNATURE: the load commands end at ${offset} and the first section starts at ${file.loadCommandsLimit}, ` +
        `${file.loadCommandsLimit - offset} bytes free, ${LINKEDIT_DATA_COMMAND_SIZE} needed`,
    );
  }
  for (let index = offset; index < offset + LINKEDIT_DATA_COMMAND_SIZE; index++) {
    if (image[index] !== 0) throw new Error(`the ${LINKEDIT_DATA_COMMAND_SIZE} bytes after the load commands, at offset ${offset}, are not zero`);
  }
  image.writeUInt32LE(LC_CODE_SIGNATURE, offset);
  image.writeUInt32LE(LINKEDIT_DATA_COMMAND_SIZE, offset + 4);
  image.writeUInt32LE(dataOffset, offset + 8);
  image.writeUInt32LE(dataSizeBytes, offset + 12);
  image.writeUInt32LE(file.loadCommands.length + 1, 16);
  image.writeUInt32LE(file.loadCommandsEnd - HEADER_64_SIZE + LINKEDIT_DATA_COMMAND_SIZE, 20);
}
