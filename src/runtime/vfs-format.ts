/**
 * The payload format shared by the build (which writes it) and the runtime
 * inside the executable (which reads it). Both assets go into the SEA blob.
 */

/** SEA asset key of the JSON index. */
export const VFS_INDEX_ASSET = 'duo-sea/index.json';

/** SEA asset key of the file contents, concatenated in index order. */
export const VFS_DATA_ASSET = 'duo-sea/data.bin';

/**
 * SEA asset key of the program: a function expression that takes
 * PROGRAM_PARAMETERS, made by wrapProgram. The runtime compiles it with
 * Node's default ES module loader, because code in a single executable's own
 * main script, and code it evaluates, may only import built-in modules.
 */
export const PROGRAM_ASSET = 'duo-sea/program.js';

/**
 * SEA asset key of the V8 code cache of PROGRAM_ASSET, present when the build
 * could run the target's own Node binary to make it.
 */
export const PROGRAM_CACHE_ASSET = 'duo-sea/program.cache';

/** Names of the values the runtime passes to the program function, in order. */
export const PROGRAM_PARAMETERS = [
  'require',
  'module',
  'exports',
  '__filename',
  '__dirname',
  '__duoSeaModuleUrl',
  '__duoSeaModulePath',
  '__duoSeaModuleDir',
  '__duoSeaRequire',
  '__duoSeaImport',
];

/** Line offset to compile the wrapped program with, so that line numbers in stack traces are the bundle's own. */
export const PROGRAM_LINE_OFFSET = -1;

/**
 * Wraps the bundled program in a function expression on a line of its own.
 * The code cache is made from this exact text, and V8 checks a cache only
 * against the length of the source, so the build and the runtime must both
 * compile the asset's bytes as they are.
 */
export function wrapProgram(code: string): string {
  return `(function (${PROGRAM_PARAMETERS.join(', ')}) {\n${code}\n})`;
}

/** Prefix of module ids that the build leaves for the runtime to resolve inside the payload. */
export const VFS_SPECIFIER_PREFIX = 'duo-sea-vfs:';

/** Environment variable that makes the executable print its payload id and exit, for the build's own check. */
export const SELF_CHECK_ENV = 'DUO_SEA_SELF_CHECK';

export interface VfsFileEntry {
  /** Byte offset of the content in the data asset. */
  offset: number;
  sizeBytes: number;
  /** Unix permission bits, such as 0o644 or 0o755. */
  mode: number;
  /** Set on files that the operating system must see as real files: native addons and programs that get spawned. */
  extract?: boolean;
  /** SHA-256 of the content, set on extracted files, which are verified after they are written. */
  sha256?: string;
}

export interface VfsIndex {
  formatVersion: 1;
  /** Hash of the index and data; names the folder that extracted files go into. */
  payloadId: string;
  /** Path of the program's `bin` script, relative to the payload root, with `/` separators. */
  entry: string;
  /** Every packaged file, by its path relative to the payload root, with `/` separators. */
  files: Record<string, VfsFileEntry>;
}
