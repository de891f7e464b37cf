import { readFileSync } from 'node:fs';

/**
 * Reads the single-executable blob out of a built executable, independently
 * of duo-sea's code, so that tests can check what the build put in it. The
 * layout below was read from blobs that `node --experimental-sea-config`
 * of Node 26.10.0 and 22.23.3 wrote. It starts with a uint32 magic, uint32
 * flags and one byte (Node 22) or two (Node 26). Strings follow, each after
 * its length as a little-endian uint64: the main script's name, its code,
 * the code cache when that flag is set, and the assets as a count and
 * key/value pairs.
 * postject copies the blob into the executable unchanged (an ELF note, a
 * Mach-O section or a PE resource), so it is found by searching the bytes.
 */

const SEA_MAGIC = Buffer.from([0x20, 0xda, 0x43, 0x01]);
/** Flag bits of the blob header. */
const FLAG_USE_CODE_CACHE = 1 << 2;
const FLAG_INCLUDE_ASSETS = 1 << 3;
/** The name duo-sea gives the SEA main script in every blob. */
const MAIN_SCRIPT_NAME = 'duo-sea-main.cjs';
const INDEX_ASSET = 'duo-sea/index.json';
const DATA_ASSET = 'duo-sea/data.bin';
/** The asset with the bundled program, or with the import of its entry when it is not bundled. */
export const PROGRAM_ASSET = 'duo-sea/program.js';

export interface SeaBlob {
  flags: number;
  hasCodeCache: boolean;
  mainCode: string;
  assets: Map<string, Buffer>;
}

export interface PayloadEntry {
  path: string;
  mode: number;
  extract: boolean;
  content: Buffer;
}

class BlobReader {
  private readonly bytes: Buffer;
  private offset: number;

  constructor(bytes: Buffer, offset: number) {
    this.bytes = bytes;
    this.offset = offset;
  }

  size(): number {
    const value = this.bytes.readBigUInt64LE(this.offset);
    this.offset += 8;
    if (value > BigInt(this.bytes.length)) throw new Error(`implausible length ${value} at offset ${this.offset - 8}`);
    return Number(value);
  }

  bytesOf(length: number): Buffer {
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  sized(): Buffer {
    return this.bytesOf(this.size());
  }
}

/** Returns the offset of the main script's name after the header at `start`, or -1 when `start` is no blob of duo-sea. */
function mainScriptNameOffset(bytes: Buffer, start: number): number {
  const name = Buffer.from(MAIN_SCRIPT_NAME);
  for (let padding = 0; padding <= 4; padding++) {
    const at = start + 8 + padding;
    if (at + 8 + name.length > bytes.length) return -1;
    if (bytes.readBigUInt64LE(at) === BigInt(name.length) && bytes.subarray(at + 8, at + 8 + name.length).equals(name)) return at;
  }
  return -1;
}

/** Finds and parses the SEA blob of an executable; the magic also occurs in Node's code, so each match is checked. */
export function readSeaBlob(executablePath: string): SeaBlob {
  const bytes = readFileSync(executablePath);
  for (let start = bytes.indexOf(SEA_MAGIC); start !== -1; start = bytes.indexOf(SEA_MAGIC, start + 1)) {
    const nameAt = mainScriptNameOffset(bytes, start);
    if (nameAt === -1) continue;
    const flags = bytes.readUInt32LE(start + 4);
    const reader = new BlobReader(bytes, nameAt);
    reader.sized();
    const mainCode = reader.sized().toString('utf8');
    if (flags & FLAG_USE_CODE_CACHE) reader.sized();
    const assets = new Map<string, Buffer>();
    if (flags & FLAG_INCLUDE_ASSETS) {
      const count = reader.size();
      for (let i = 0; i < count; i++) {
        const key = reader.sized().toString('utf8');
        assets.set(key, reader.sized());
      }
    }
    return { flags, hasCodeCache: (flags & FLAG_USE_CODE_CACHE) !== 0, mainCode, assets };
  }
  throw new Error(`${executablePath} has no SEA blob with the main script ${MAIN_SCRIPT_NAME}`);
}

/** Lists the payload files of an executable, with their content. */
export function readPayload(executablePath: string): { payloadId: string; entry: string; files: PayloadEntry[] } {
  const blob = readSeaBlob(executablePath);
  const indexBytes = blob.assets.get(INDEX_ASSET);
  const data = blob.assets.get(DATA_ASSET);
  if (!indexBytes || !data) throw new Error(`${executablePath} has no ${INDEX_ASSET} or ${DATA_ASSET} asset`);
  const index = JSON.parse(indexBytes.toString('utf8')) as {
    payloadId: string;
    entry: string;
    files: Record<string, { offset: number; sizeBytes: number; mode: number; extract?: boolean }>;
  };
  const files = Object.entries(index.files).map(([filePath, entry]) => ({
    path: filePath,
    mode: entry.mode,
    extract: entry.extract === true,
    content: data.subarray(entry.offset, entry.offset + entry.sizeBytes),
  }));
  return { payloadId: index.payloadId, entry: index.entry, files };
}

export interface NativeKind {
  format: 'elf' | 'macho' | 'pe';
  /** The CPU field as the format names it: ELF e_machine, Mach-O cputype or PE Machine. */
  machine: number;
}

/** ELF e_machine values. */
export const ELF_X86_64 = 0x3e;
export const ELF_AARCH64 = 0xb7;
/** Mach-O cputype values. */
export const MACHO_X86_64 = 0x01000007;
export const MACHO_ARM64 = 0x0100000c;
/** PE COFF Machine values. */
export const PE_AMD64 = 0x8664;
export const PE_ARM64 = 0xaa64;

/** Returns the format and CPU of an ELF, thin Mach-O or PE file, or undefined for other content. */
export function nativeKind(content: Buffer): NativeKind | undefined {
  if (content.length < 64) return undefined;
  if (content.readUInt32BE(0) === 0x7f454c46) {
    const littleEndian = content[5] === 1;
    return { format: 'elf', machine: littleEndian ? content.readUInt16LE(18) : content.readUInt16BE(18) };
  }
  const machMagic = content.readUInt32LE(0);
  if (machMagic === 0xfeedfacf || machMagic === 0xfeedface) return { format: 'macho', machine: content.readUInt32LE(4) };
  // A fat Mach-O (0xcafebabe, big-endian) has code for several CPUs, so it counts as native with no single machine.
  if (content.readUInt32BE(0) === 0xcafebabe && content.readUInt32BE(4) < 20) return { format: 'macho', machine: -1 };
  if (content[0] === 0x4d && content[1] === 0x5a) {
    const peOffset = content.readUInt32LE(0x3c);
    if (peOffset + 6 <= content.length && content.readUInt32BE(peOffset) === 0x50450000) {
      return { format: 'pe', machine: content.readUInt16LE(peOffset + 4) };
    }
  }
  return undefined;
}

/** Returns the section names of a 64-bit little-endian ELF file. */
export function elfSectionNames(filePath: string): string[] {
  const bytes = readFileSync(filePath);
  const sectionHeaderOffset = Number(bytes.readBigUInt64LE(0x28));
  const entrySize = bytes.readUInt16LE(0x3a);
  const count = bytes.readUInt16LE(0x3c);
  const namesIndex = bytes.readUInt16LE(0x3e);
  const header = (i: number): number => sectionHeaderOffset + i * entrySize;
  const namesOffset = Number(bytes.readBigUInt64LE(header(namesIndex) + 0x18));
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const nameStart = namesOffset + bytes.readUInt32LE(header(i));
    names.push(bytes.toString('latin1', nameStart, bytes.indexOf(0, nameStart)));
  }
  return names;
}

/** Returns the module ids that the bundled program requires by a string literal, without duplicates. */
export function literalRequires(executablePath: string): string[] {
  const program = readSeaBlob(executablePath).assets.get(PROGRAM_ASSET);
  if (!program) throw new Error(`${executablePath} has no ${PROGRAM_ASSET} asset`);
  const ids = [...program.toString('utf8').matchAll(/\brequire\(\s*(["'])([^"']+)\1\s*\)/g)].map((match) => match[2]);
  return [...new Set(ids)];
}
