import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError } from '../errors.js';
import { formatBytes } from '../format.js';

/** Reason that a file of the installed tree stays out of the payload. */
/** Reads a file's bytes; a build passes one that reads each file once for every target. */
export type ContentReader = (absolutePath: string) => Promise<Buffer>;

export type TrimReason = 'type-declaration' | 'source-map' | 'readme' | 'test-folder';

/** The fields of a payload file that the trim rules read. */
export interface TrimCandidate {
  /** Path relative to the payload root, such as `node_modules/zod/index.d.ts`. */
  relativePath: string;
  absolutePath: string;
  sizeBytes: number;
  /** True for a program that another process runs, such as a native executable. */
  isProgram: boolean;
}

export interface TrimmedFile {
  relativePath: string;
  sizeBytes: number;
  reason: TrimReason;
}

export interface PayloadTrimOptions {
  /** Payload path of the program's own package folder, whose READMEs and tests stay. */
  programPackageDir: string;
  /** True to keep `.map` files, for `--keep-source-maps` or `--enable-source-maps`. */
  keepSourceMaps: boolean;
  /** Globs of payload paths that stay even when a rule would leave them out. */
  keepPatterns: readonly string[];
  /** Reads file contents. Default: readFile. */
  readContent?: ContentReader;
}

export interface PayloadTrimResult<File extends TrimCandidate> {
  kept: File[];
  trimmed: TrimmedFile[];
  /** The keep patterns that matched no file a rule left out, which usually means a typo. */
  unusedKeepPatterns: string[];
}

const DECLARATION_FILE = /\.d\.[mc]?ts$/;
/** Text that code which reads declaration files at run time contains, as TypeScript's `lib.*.d.ts` loader does. */
const DECLARATION_MENTION = /\.d\.[mc]?ts/;
const SOURCE_MAP = /\.map$/;
/** Documentation that only people read. LICENSE, NOTICE and COPYING files never match. */
const README_FILE = /^(readme|changelog|changes|history)(\.(md|markdown|txt|rst))?$/i;
const TEST_FOLDER_NAMES = new Set(['test', 'tests', '__tests__']);
const CODE_FILE = /\.([mc]?js|node)$/;
/** npm's fields for scripts and development that the installed program never reads. */
const PACKAGE_JSON_FIELDS_NOT_READ = ['scripts', 'devDependencies', 'directories'];

/**
 * Leaves out the installed files that the program does not read: type
 * declarations, source maps, dependencies' READMEs and changelogs, and
 * dependencies' test folders that no kept file refers to. Each rule keeps
 * what a package's own code may read, and the keep patterns win over all
 * rules.
 */
export async function trimPayload<File extends TrimCandidate>(files: readonly File[], options: PayloadTrimOptions): Promise<PayloadTrimResult<File>> {
  const keepMatchers = options.keepPatterns.map((pattern) => ({ pattern, matches: globMatcher(pattern) }));
  const usedPatterns = new Set<string>();
  const reasons = await trimReasons(files, options);

  const kept: File[] = [];
  const trimmed: TrimmedFile[] = [];
  for (const file of files) {
    const reason = reasons.get(file.relativePath);
    const keeper = reason && keepMatchers.find((matcher) => matcher.matches(file.relativePath));
    if (keeper) usedPatterns.add(keeper.pattern);
    if (reason && !keeper) trimmed.push({ relativePath: file.relativePath, sizeBytes: file.sizeBytes, reason });
    else kept.push(file);
  }
  return { kept, trimmed, unusedKeepPatterns: options.keepPatterns.filter((pattern) => !usedPatterns.has(pattern)) };
}

/** Returns the reason each file that a rule leaves out has, by payload path. */
async function trimReasons(files: readonly TrimCandidate[], options: PayloadTrimOptions): Promise<Map<string, TrimReason>> {
  const reasons = new Map<string, TrimReason>();
  const readContent = options.readContent ?? ((filePath: string) => readFile(filePath));
  const packagesReadingDeclarations = await findPackagesReadingDeclarations(files, readContent);
  for (const file of files) {
    const packageDir = packageDirOf(file.relativePath);
    const isDependency = packageDir !== undefined && packageDir !== options.programPackageDir;
    const baseName = path.posix.basename(file.relativePath);
    if (DECLARATION_FILE.test(baseName) && !(packageDir !== undefined && packagesReadingDeclarations.has(packageDir))) {
      reasons.set(file.relativePath, 'type-declaration');
    } else if (SOURCE_MAP.test(baseName) && !options.keepSourceMaps) {
      reasons.set(file.relativePath, 'source-map');
    } else if (isDependency && README_FILE.test(baseName)) {
      reasons.set(file.relativePath, 'readme');
    }
  }

  const testFiles = await unreferencedTestFiles(files.filter((file) => !reasons.has(file.relativePath)), options.programPackageDir, readContent);
  for (const relativePath of testFiles) reasons.set(relativePath, 'test-folder');
  return reasons;
}

/**
 * Returns the package folder (`node_modules/<name>` or
 * `node_modules/@scope/<name>`, possibly nested) that a payload path belongs
 * to, or undefined for a file outside any package.
 */
export function packageDirOf(relativePath: string): string | undefined {
  const segments = relativePath.split('/');
  const last = segments.lastIndexOf('node_modules');
  if (last < 0 || last + 2 >= segments.length) return undefined;
  const nameLength = segments[last + 1].startsWith('@') ? 2 : 1;
  if (last + nameLength + 1 >= segments.length) return undefined;
  return segments.slice(0, last + 1 + nameLength).join('/');
}

/**
 * Returns the packages whose code contains `.d.ts`, `.d.mts` or `.d.cts`.
 * Such code may read declaration files at run time: TypeScript 6 reads its
 * `lib.*.d.ts` from its JavaScript, and the TypeScript 7 compiler, a native
 * executable, reads those beside it.
 */
async function findPackagesReadingDeclarations(files: readonly TrimCandidate[], readContent: ContentReader): Promise<Set<string>> {
  const packages = new Set<string>();
  for (const file of files) {
    const packageDir = packageDirOf(file.relativePath);
    if (packageDir === undefined || packages.has(packageDir)) continue;
    if (!CODE_FILE.test(file.relativePath) && !file.isProgram) continue;
    // latin1 maps every byte to one character, so native executables are searched too.
    if (DECLARATION_MENTION.test((await readContent(file.absolutePath)).toString('latin1'))) packages.add(packageDir);
  }
  return packages;
}

/** Returns the dependency test folder that contains a payload path, such as `node_modules/zod/src/tests`. */
function testFolderOf(relativePath: string, programPackageDir: string): string | undefined {
  const packageDir = packageDirOf(relativePath);
  if (packageDir === undefined || packageDir === programPackageDir) return undefined;
  const inner = relativePath.slice(packageDir.length + 1).split('/').slice(0, -1);
  const index = inner.findIndex((segment) => TEST_FOLDER_NAMES.has(segment));
  return index < 0 ? undefined : `${packageDir}/${inner.slice(0, index + 1).join('/')}`;
}

/**
 * Returns the files of the dependency test folders that no other kept file
 * may refer to. A file may refer to a test folder when it names the folder
 * as a path segment (`./test/`, `/tests'`, `'__tests__'`), and, for a file
 * of another package, also contains the package's name. The check only
 * finds names, not whether code reaches them, so it keeps a folder on any
 * doubt. A folder that only dropped test folders refer to is dropped too.
 */
async function unreferencedTestFiles(files: readonly TrimCandidate[], programPackageDir: string, readContent: ContentReader): Promise<string[]> {
  const folders = new Map<string, string[]>();
  for (const file of files) {
    const folder = testFolderOf(file.relativePath, programPackageDir);
    if (folder !== undefined) folders.set(folder, [...(folders.get(folder) ?? []), file.relativePath]);
  }
  if (folders.size === 0) return [];

  const mentions = await findTestFolderMentions(files, new Set([...folders.keys()].map((folder) => path.posix.basename(folder))), readContent);
  const dropped = new Set(folders.keys());
  let changed = true;
  while (changed) {
    changed = false;
    for (const folder of dropped) {
      if (isReferenced(folder, mentions, dropped, programPackageDir)) {
        dropped.delete(folder);
        changed = true;
      }
    }
  }
  return [...dropped].flatMap((folder) => folders.get(folder) ?? []);
}

/** A kept file that names a test folder: its path, package and text. */
interface TestFolderMention {
  relativePath: string;
  packageDir: string | undefined;
  folderNames: Set<string>;
  text: string;
}

async function findTestFolderMentions(files: readonly TrimCandidate[], folderNames: Set<string>, readContent: ContentReader): Promise<TestFolderMention[]> {
  const mentions: TestFolderMention[] = [];
  for (const file of files) {
    const text = await readReferenceText(file, readContent);
    const named = new Set([...folderNames].filter((name) => pathSegmentPattern(name).test(text)));
    if (named.size > 0) mentions.push({ relativePath: file.relativePath, packageDir: packageDirOf(file.relativePath), folderNames: named, text });
  }
  return mentions;
}

/** Reads a file as text to search for references, without the package.json fields that npm alone reads. */
async function readReferenceText(file: TrimCandidate, readContent: ContentReader): Promise<string> {
  const text = (await readContent(file.absolutePath)).toString('latin1');
  if (path.posix.basename(file.relativePath) !== 'package.json') return text;
  try {
    const manifest = JSON.parse(text) as Record<string, unknown>;
    for (const field of PACKAGE_JSON_FIELDS_NOT_READ) delete manifest[field];
    return JSON.stringify(manifest);
  } catch {
    // A package.json that is not JSON is searched as it is, which can only keep more test folders.
    return text;
  }
}

function isReferenced(folder: string, mentions: readonly TestFolderMention[], dropped: ReadonlySet<string>, programPackageDir: string): boolean {
  const packageDir = packageDirOf(folder);
  const packageName = packageDir?.split('/node_modules/').pop()?.replace(/^node_modules\//, '');
  return mentions.some((mention) => {
    if (!mention.folderNames.has(path.posix.basename(folder))) return false;
    const mentionFolder = testFolderOf(mention.relativePath, programPackageDir);
    if (mentionFolder !== undefined && dropped.has(mentionFolder)) return false;
    return mention.packageDir === packageDir || (packageName !== undefined && mention.text.includes(packageName));
  });
}

const segmentPatterns = new Map<string, RegExp>();

/** Matches a name used as a path segment: followed or preceded by a slash, or quoted on its own. */
function pathSegmentPattern(name: string): RegExp {
  let pattern = segmentPatterns.get(name);
  if (!pattern) {
    pattern = new RegExp(`(?<![\\w$.-])${name}[/\\\\]|[/\\\\]${name}(?![\\w$-])|['"\`]${name}['"\`]`);
    segmentPatterns.set(name, pattern);
  }
  return pattern;
}

/**
 * Returns a matcher for a `--keep` glob. `*` and `?` match within one path
 * segment, `**` matches any number of segments, and a pattern without a
 * slash matches the base name at any depth, as in `.gitignore`.
 */
export function globMatcher(pattern: string): (relativePath: string) => boolean {
  if (pattern.trim() === '') {
    throw new DuoSeaError({
      code: 'E_INVALID_OPTION',
      stage: 'options',
      input: '--keep ""',
      message: 'The --keep pattern is empty.',
      hint: 'Pass a glob of payload paths, such as --keep "node_modules/zod/**/*.d.ts" or --keep "*.map".',
    });
  }
  const baseNameOnly = !pattern.includes('/');
  const expression = new RegExp(`^${globToRegExpSource(pattern.replace(/^\.\//, ''))}$`);
  return (relativePath) => expression.test(baseNameOnly ? path.posix.basename(relativePath) : relativePath);
}

function globToRegExpSource(pattern: string): string {
  let source = '';
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index];
    if (pattern.startsWith('**/', index)) {
      source += '(?:.*/)?';
      index += 2;
    } else if (pattern.startsWith('**', index)) {
      source += '.*';
      index += 1;
    } else if (character === '*') {
      source += '[^/]*';
    } else if (character === '?') {
      source += '[^/]';
    } else {
      source += character.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return source;
}

const REASON_LABELS: Record<TrimReason, string> = {
  'type-declaration': 'type declarations',
  'source-map': 'source maps',
  readme: 'READMEs and changelogs',
  'test-folder': 'test files',
};

/** Describes the trimmed files in one line: the total, then the count and size per reason. */
export function describeTrimmed(trimmed: readonly TrimmedFile[]): string {
  const totalBytes = trimmed.reduce((sum, file) => sum + file.sizeBytes, 0);
  const parts = (Object.keys(REASON_LABELS) as TrimReason[]).flatMap((reason) => {
    const ofReason = trimmed.filter((file) => file.reason === reason);
    if (ofReason.length === 0) return [];
    return [`${ofReason.length} ${REASON_LABELS[reason]} (${formatBytes(ofReason.reduce((sum, file) => sum + file.sizeBytes, 0))})`];
  });
  const detail = parts.length > 0 ? `: ${parts.join(', ')}` : '';
  return `payload: left out ${trimmed.length} ${trimmed.length === 1 ? 'file' : 'files'} (${formatBytes(totalBytes)}) that the program does not read${detail}; --keep GLOB keeps them`;
}
