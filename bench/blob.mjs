import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const RT_RCDATA = 10;
const PE_RESOURCE_DIRECTORY_INDEX = 2;
const BLOB_NAME = 'NODE_SEA_BLOB';

/**
 * Returns the SEA blob inside an executable: the ELF note that duo-sea
 * writes, the first section of the Mach-O `NODE_SEA` segment, or the PE
 * RT_RCDATA resource, where postject puts it. Uses duo-sea's own ELF and
 * Mach-O readers from `lib/`.
 */
export async function extractSeaBlob(repoDir, executablePath) {
  const image = await readFile(executablePath);
  const magic = image.readUInt32BE(0);
  if (magic === 0x7f454c46) {
    const { findNote } = await import(pathToFileURL(path.join(repoDir, 'lib', 'formats', 'elf.js')).href);
    const note = findNote(image, BLOB_NAME);
    if (!note) throw new Error(`${executablePath} has no ${BLOB_NAME} note`);
    return Buffer.from(note);
  }
  if (image.readUInt16BE(0) === 0x4d5a) return peResource(image, executablePath);
  const { readMachO, findSegment } = await import(pathToFileURL(path.join(repoDir, 'lib', 'formats', 'macho.js')).href);
  return machOSection(image, findSegment(readMachO(image), 'NODE_SEA'));
}

/** Reads the first section_64 after an LC_SEGMENT_64 command: size at byte 40 and file offset at byte 48 of the section header. */
function machOSection(image, segment) {
  const sectionHeader = segment.commandOffset + 72;
  const sizeBytes = Number(image.readBigUInt64LE(sectionHeader + 40));
  const offset = image.readUInt32LE(sectionHeader + 48);
  return image.subarray(offset, offset + sizeBytes);
}

/** Walks the PE resource tree (type, name, language) to the blob's data entry; layout from the Microsoft PE format specification. */
function peResource(image, executablePath) {
  const peHeader = image.readUInt32LE(0x3c);
  const sectionCount = image.readUInt16LE(peHeader + 6);
  const optionalHeaderSize = image.readUInt16LE(peHeader + 20);
  const optionalHeader = peHeader + 24;
  const directories = optionalHeader + (image.readUInt16LE(optionalHeader) === 0x20b ? 112 : 96);
  const resourceRva = image.readUInt32LE(directories + PE_RESOURCE_DIRECTORY_INDEX * 8);
  const sections = [];
  for (let index = 0; index < sectionCount; index++) {
    const at = optionalHeader + optionalHeaderSize + index * 40;
    sections.push({ rva: image.readUInt32LE(at + 12), sizeBytes: image.readUInt32LE(at + 16), offset: image.readUInt32LE(at + 20) });
  }
  const toOffset = (rva) => {
    const section = sections.find((candidate) => rva >= candidate.rva && rva < candidate.rva + candidate.sizeBytes);
    if (!section) throw new Error(`${executablePath}: RVA ${rva} is in no section`);
    return section.offset + rva - section.rva;
  };
  const root = toOffset(resourceRva);
  const entryOf = (directory, matches) => {
    const count = image.readUInt16LE(directory + 12) + image.readUInt16LE(directory + 14);
    for (let index = 0; index < count; index++) {
      const at = directory + 16 + index * 8;
      const name = image.readUInt32LE(at);
      const label = name & 0x80000000 ? readResourceName(image, root + (name & 0x7fffffff)) : name;
      if (matches(label)) return image.readUInt32LE(at + 4);
    }
    throw new Error(`${executablePath} has no ${BLOB_NAME} resource`);
  };
  const typeDirectory = root + (entryOf(root, (label) => label === RT_RCDATA) & 0x7fffffff);
  const nameDirectory = root + (entryOf(typeDirectory, (label) => label === BLOB_NAME) & 0x7fffffff);
  const dataEntry = root + entryOf(nameDirectory, () => true);
  const offset = toOffset(image.readUInt32LE(dataEntry));
  return image.subarray(offset, offset + image.readUInt32LE(dataEntry + 4));
}

function readResourceName(image, at) {
  const length = image.readUInt16LE(at);
  return image.subarray(at + 2, at + 2 + length * 2).toString('utf16le');
}
