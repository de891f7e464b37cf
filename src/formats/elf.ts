/**
 * Reads 64-bit little-endian ELF executables (linux-x64, linux-arm64) and
 * adds a note segment to them without rewriting any existing byte other
 * than the ELF header and the program header table entry for PT_PHDR.
 * Layout: ELF-64 Object File Format, version 1.5, and the System V ABI.
 */

const PT_LOAD = 1;
const PT_NOTE = 4;
const PT_PHDR = 6;
const PF_R = 4;
const ET_EXEC = 2;
const ET_DYN = 3;
const ELF_HEADER_SIZE = 64;
const PROGRAM_HEADER_SIZE = 56;
const NOTE_HEADER_SIZE = 12;
/** e_phnum values from 0xffff up mean "see section 0", which this code does not write. */
const PN_XNUM = 0xffff;

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfLayout {
  type: number;
  machine: number;
  programHeaderOffset: number;
  programHeaders: ProgramHeader[];
}

export class ElfFormatError extends Error {}

function readU64(image: Buffer, offset: number): number {
  const value = image.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfFormatError(`a 64-bit field at offset ${offset} is too large (${value})`);
  return Number(value);
}

/** Parses the ELF header and program headers; throws ElfFormatError for anything but a 64-bit little-endian executable. */
export function readElfLayout(image: Buffer): ElfLayout {
  if (image.length < ELF_HEADER_SIZE || image.readUInt32BE(0) !== 0x7f454c46) throw new ElfFormatError('the file is not an ELF file');
  if (image[4] !== 2) throw new ElfFormatError('the ELF file is 32-bit; only 64-bit executables are supported');
  if (image[5] !== 1) throw new ElfFormatError('the ELF file is big-endian; only little-endian executables are supported');
  const type = image.readUInt16LE(16);
  if (type !== ET_EXEC && type !== ET_DYN) throw new ElfFormatError(`the ELF file has type ${type}, not an executable (2) or a position-independent executable (3)`);

  const programHeaderOffset = readU64(image, 32);
  const entrySize = image.readUInt16LE(54);
  const count = image.readUInt16LE(56);
  if (entrySize !== PROGRAM_HEADER_SIZE) throw new ElfFormatError(`the program header entry size is ${entrySize}, expected ${PROGRAM_HEADER_SIZE}`);
  if (count === PN_XNUM) throw new ElfFormatError('the ELF file has 65535 or more program headers');
  if (programHeaderOffset + count * PROGRAM_HEADER_SIZE > image.length) throw new ElfFormatError('the program header table ends past the end of the file');

  const programHeaders: ProgramHeader[] = [];
  for (let index = 0; index < count; index++) {
    const at = programHeaderOffset + index * PROGRAM_HEADER_SIZE;
    programHeaders.push({
      type: image.readUInt32LE(at),
      flags: image.readUInt32LE(at + 4),
      offset: readU64(image, at + 8),
      vaddr: readU64(image, at + 16),
      paddr: readU64(image, at + 24),
      filesz: readU64(image, at + 32),
      memsz: readU64(image, at + 40),
      align: readU64(image, at + 48),
    });
  }
  return { type, machine: image.readUInt16LE(18), programHeaderOffset, programHeaders };
}

function writeProgramHeader(target: Buffer, at: number, header: ProgramHeader): void {
  target.writeUInt32LE(header.type, at);
  target.writeUInt32LE(header.flags, at + 4);
  target.writeBigUInt64LE(BigInt(header.offset), at + 8);
  target.writeBigUInt64LE(BigInt(header.vaddr), at + 16);
  target.writeBigUInt64LE(BigInt(header.paddr), at + 24);
  target.writeBigUInt64LE(BigInt(header.filesz), at + 32);
  target.writeBigUInt64LE(BigInt(header.memsz), at + 40);
  target.writeBigUInt64LE(BigInt(header.align), at + 48);
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** Encodes one ELF note: header, NUL-terminated name and description, each padded to 4 bytes. */
export function encodeNote(name: string, type: number, description: Buffer): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const note = Buffer.alloc(NOTE_HEADER_SIZE + alignUp(nameBytes.length, 4) + alignUp(description.length, 4));
  note.writeUInt32LE(nameBytes.length, 0);
  note.writeUInt32LE(description.length, 4);
  note.writeUInt32LE(type, 8);
  nameBytes.copy(note, NOTE_HEADER_SIZE);
  description.copy(note, NOTE_HEADER_SIZE + alignUp(nameBytes.length, 4));
  return note;
}

/**
 * Returns a copy of `image` with a note appended in a new loadable segment.
 *
 * The new segment holds a new program header table (the old entries, a
 * PT_LOAD for the segment and a PT_NOTE for the note) followed by the note.
 * Its file offset and address differ by the same amount as the first
 * PT_LOAD's, because kernels before Linux 5.18 compute AT_PHDR as that
 * difference plus e_phoff. Zero bytes pad the file up to that offset. The
 * old program header table stays in place unused, and every section keeps
 * its bytes and address, so `.dynsym` and `.gnu.hash` equal the input's.
 */
export function appendNoteSegment(image: Buffer, name: string, description: Buffer): Buffer {
  const layout = readElfLayout(image);
  const loads = layout.programHeaders.filter((header) => header.type === PT_LOAD);
  if (loads.length === 0) throw new ElfFormatError('the ELF file has no loadable segment');
  const firstLoad = loads.reduce((lowest, header) => (header.vaddr < lowest.vaddr ? header : lowest));
  if (firstLoad.vaddr < firstLoad.offset) throw new ElfFormatError('the first loadable segment has an address below its file offset');

  const pageSize = Math.max(...loads.map((header) => header.align), 0x1000);
  const addressDelta = firstLoad.vaddr - firstLoad.offset;
  const memoryEnd = Math.max(...loads.map((header) => header.vaddr + header.memsz));
  let segmentAddress = alignUp(memoryEnd, pageSize);
  if (segmentAddress - addressDelta < image.length) segmentAddress = alignUp(image.length + addressDelta, pageSize);
  const segmentOffset = segmentAddress - addressDelta;

  const headerCount = layout.programHeaders.length + 2;
  if (headerCount >= PN_XNUM) throw new ElfFormatError('the ELF file has too many program headers to add two');
  const tableSize = headerCount * PROGRAM_HEADER_SIZE;
  const noteOffsetInSegment = alignUp(tableSize, 8);
  const note = encodeNote(name, 0, description);
  const segmentSize = noteOffsetInSegment + note.length;

  const newLoad: ProgramHeader = { type: PT_LOAD, flags: PF_R, offset: segmentOffset, vaddr: segmentAddress, paddr: segmentAddress, filesz: segmentSize, memsz: segmentSize, align: pageSize };
  const newNote: ProgramHeader = {
    type: PT_NOTE,
    flags: PF_R,
    offset: segmentOffset + noteOffsetInSegment,
    vaddr: segmentAddress + noteOffsetInSegment,
    paddr: segmentAddress + noteOffsetInSegment,
    filesz: note.length,
    memsz: note.length,
    align: 4,
  };

  // The loader requires PT_LOAD entries in ascending address order, so the new one goes right after the last PT_LOAD.
  const lastLoadIndex = layout.programHeaders.reduce((last, header, index) => (header.type === PT_LOAD ? index : last), -1);
  const headers = [...layout.programHeaders.slice(0, lastLoadIndex + 1), newLoad, ...layout.programHeaders.slice(lastLoadIndex + 1), newNote].map((header) =>
    header.type === PT_PHDR ? { ...header, offset: segmentOffset, vaddr: segmentAddress, paddr: segmentAddress, filesz: tableSize, memsz: tableSize } : header,
  );

  const output = Buffer.alloc(segmentOffset + segmentSize);
  image.copy(output, 0);
  headers.forEach((header, index) => writeProgramHeader(output, segmentOffset + index * PROGRAM_HEADER_SIZE, header));
  note.copy(output, segmentOffset + noteOffsetInSegment);
  output.writeBigUInt64LE(BigInt(segmentOffset), 32);
  output.writeUInt16LE(headerCount, 56);
  return output;
}

/** Returns the description of the first note named `name` in a PT_NOTE segment, as Node's SEA code finds it at startup. */
export function findNote(image: Buffer, name: string): Buffer | undefined {
  const layout = readElfLayout(image);
  const wanted = Buffer.from(`${name}\0`, 'utf8');
  for (const header of layout.programHeaders) {
    if (header.type !== PT_NOTE) continue;
    let at = header.offset;
    const end = Math.min(header.offset + header.filesz, image.length);
    while (at + NOTE_HEADER_SIZE <= end) {
      const nameSize = image.readUInt32LE(at);
      const descriptionSize = image.readUInt32LE(at + 4);
      const nameStart = at + NOTE_HEADER_SIZE;
      const descriptionStart = nameStart + alignUp(nameSize, 4);
      if (image.subarray(nameStart, nameStart + nameSize).equals(wanted)) return image.subarray(descriptionStart, descriptionStart + descriptionSize);
      at = descriptionStart + alignUp(descriptionSize, 4);
    }
  }
  return undefined;
}
