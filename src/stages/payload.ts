import { open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { detectBinaryKind } from '../binary-kind.js';
import { sha256Bytes } from '../hash.js';
import type { Target } from '../targets.js';
import type { VfsFileEntry, VfsIndex } from '../runtime/vfs-format.js';
import { packageDirOf, trimPayload, type ContentReader, type TrimmedFile } from './payload-trim.js';

/** npm's own bookkeeping, which no program reads. trimPayload leaves out the other files that programs do not read. */
const DROPPED_NAMES = new Set(['.package-lock.json']);
const DROPPED_DIRS = new Set(['.bin', '.cache']);

/**
 * File names that must be real files to be used: native addons, shared
 * libraries, and files that a program hands to another runtime, such as a
 * JVM agent (`-javaagent:x.jar`) or a shell or Python script.
 */
const REAL_FILE = /\.(node|so(\.\d+)*|dylib|dll|exe|jar|class|py|sh|ps1|bat|cmd)$/;

export interface PayloadFile {
  relativePath: string;
  absolutePath: string;
  sizeBytes: number;
  mode: number;
  extract: boolean;
  /** True for a program that another process runs, as opposed to a library loaded into this one. */
  isProgram: boolean;
}

export interface DroppedBinary {
  relativePath: string;
  sizeBytes: number;
  reason: string;
}

export interface Payload {
  indexPath: string;
  dataPath: string;
  index: VfsIndex;
  dataSizeBytes: number;
  droppedBinaries: DroppedBinary[];
  /** Files that the program does not read, such as type declarations, left out by the trim rules. */
  trimmed: TrimmedFile[];
  /** The keep patterns that matched no left-out file. */
  unusedKeepPatterns: string[];
}

/** Compares names by UTF-16 code units, so the order does not depend on the locale. */
function compareNames(left: string, right: string): number {
  if (left < right) return -1;
  return left > right ? 1 : 0;
}

async function listFiles(folder: string, relativeFolder: string, found: { relativePath: string; absolutePath: string }[]): Promise<void> {
  const entries = await readdir(folder, { withFileTypes: true });
  // Sorted, so that the payload and its id do not depend on the order the file system lists.
  entries.sort((a, b) => compareNames(a.name, b.name));
  for (const entry of entries) {
    const relativePath = relativeFolder === '' ? entry.name : `${relativeFolder}/${entry.name}`;
    const absolutePath = path.join(folder, entry.name);
    if (entry.isDirectory()) {
      if (!DROPPED_DIRS.has(entry.name)) await listFiles(absolutePath, relativePath, found);
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      if (!DROPPED_NAMES.has(entry.name)) found.push({ relativePath, absolutePath });
    }
  }
}

async function readHead(filePath: string): Promise<Uint8Array> {
  const handle = await open(filePath, 'r');
  try {
    const head = new Uint8Array(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Classifies one file: kept in the payload, kept and extracted at run time,
 * or dropped because it is an executable or library for another platform.
 */
async function classify(
  file: { relativePath: string; absolutePath: string },
  target: Target,
): Promise<PayloadFile | DroppedBinary> {
  const info = await stat(file.absolutePath);
  const mode = info.mode & 0o777;
  const kind = detectBinaryKind(await readHead(file.absolutePath));
  if (kind && (kind.format !== target.format || kind.arch !== target.arch)) {
    return {
      relativePath: file.relativePath,
      sizeBytes: info.size,
      reason: `${kind.format} ${kind.arch ?? 'unknown CPU'} binary, target is ${target.format} ${target.arch}`,
    };
  }
  const isProgram = (mode & 0o111) !== 0 && !/\.[mc]?js$/.test(file.relativePath) && (kind !== undefined || !/\.\w+$/.test(file.relativePath));
  const extract = kind !== undefined || REAL_FILE.test(file.relativePath) || isProgram;
  return { ...file, sizeBytes: info.size, mode, extract, isProgram: isProgram && !REAL_FILE.test(file.relativePath) };
}

/**
 * Marks every file of a package that ships a program as extracted too. A
 * program that another process runs reads its own package's files from the
 * disk, as the TypeScript 7 compiler reads its lib .d.ts files beside it.
 */
function extractPackagesOfPrograms(files: PayloadFile[]): void {
  const packageDirs = new Set(files.filter((file) => file.relativePath.endsWith('/package.json')).map((file) => path.posix.dirname(file.relativePath)));
  const packageOf = (relativePath: string): string | undefined => {
    for (let folder = path.posix.dirname(relativePath); folder !== '.' && folder !== 'node_modules'; folder = path.posix.dirname(folder)) {
      if (packageDirs.has(folder)) return folder;
    }
    return undefined;
  };
  const programPackages = new Set(files.filter((file) => file.isProgram).map((file) => packageOf(file.relativePath)));
  programPackages.delete(undefined);
  for (const file of files) {
    if (!file.extract && programPackages.has(packageOf(file.relativePath))) file.extract = true;
  }
}

/**
 * Writes the payload of one target: every file of the installed tree that a
 * program may read or run, as one data file plus an index. Executables and
 * libraries for other platforms are left out, and so are the files that
 * trimPayload finds the program does not read.
 */
export async function buildPayload(options: {
  rootDir: string;
  entry: string;
  target: Target;
  outDir: string;
  /** True to keep `.map` files. */
  keepSourceMaps?: boolean;
  /** Globs of payload paths that stay even when a trim rule would leave them out. */
  keepPatterns?: readonly string[];
  /** Reads file contents. Default: readFile. */
  readContent?: ContentReader;
}): Promise<Payload> {
  const readContent = options.readContent ?? ((filePath: string) => readFile(filePath));
  const listed: { relativePath: string; absolutePath: string }[] = [];
  await listFiles(path.join(options.rootDir, 'node_modules'), 'node_modules', listed);

  const classifiedFiles: PayloadFile[] = [];
  const droppedBinaries: DroppedBinary[] = [];
  for (const file of listed) {
    const classified = await classify(file, options.target);
    if ('absolutePath' in classified) classifiedFiles.push(classified);
    else droppedBinaries.push(classified);
  }
  const trim = await trimPayload(classifiedFiles, {
    programPackageDir: packageDirOf(options.entry) ?? '',
    keepSourceMaps: options.keepSourceMaps ?? false,
    keepPatterns: options.keepPatterns ?? [],
    readContent,
  });
  const keptFiles = trim.kept;
  extractPackagesOfPrograms(keptFiles);

  const files: Record<string, VfsFileEntry> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const classified of keptFiles) {
    const content = await readContent(classified.absolutePath);
    const entry: VfsFileEntry = { offset, sizeBytes: content.length, mode: classified.mode };
    if (classified.extract) {
      entry.extract = true;
      entry.sha256 = sha256Bytes(content);
    }
    files[classified.relativePath] = entry;
    chunks.push(content);
    offset += content.length;
  }

  const data = Buffer.concat(chunks);
  const payloadId = sha256Bytes(sha256Bytes(data) + JSON.stringify({ entry: options.entry, files })).slice(0, 24);
  const index: VfsIndex = { formatVersion: 1, payloadId, entry: options.entry, files };
  const indexPath = path.join(options.outDir, `payload-${options.target.id}.json`);
  const dataPath = path.join(options.outDir, `payload-${options.target.id}.bin`);
  await writeFile(indexPath, JSON.stringify(index));
  await writeFile(dataPath, data);
  return { indexPath, dataPath, index, dataSizeBytes: data.length, droppedBinaries, trimmed: trim.trimmed, unusedKeepPatterns: trim.unusedKeepPatterns };
}

/**
 * Returns a reader that reads each file once and then returns the same
 * bytes, for the targets of one build that share an installed tree. It
 * keeps every file it read in memory until the build ends.
 */
export function createContentReader(): ContentReader {
  const contents = new Map<string, Promise<Buffer>>();
  return (absolutePath) => {
    let content = contents.get(absolutePath);
    if (!content) {
      content = readFile(absolutePath);
      contents.set(absolutePath, content);
    }
    return content;
  };
}
