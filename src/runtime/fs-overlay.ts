import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Vfs, VfsNode } from './vfs.js';

type AnyFunction = (...args: any[]) => any;

const { S_IFREG, S_IFDIR, UV_DIRENT_FILE, UV_DIRENT_DIR } = fs.constants as typeof fs.constants & {
  UV_DIRENT_FILE: number;
  UV_DIRENT_DIR: number;
};

/** Turns the path forms that fs accepts (string, Buffer, file: URL) into an absolute path, or undefined for a file descriptor. */
function toAbsolutePath(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (value.startsWith('file:')) return fileURLToPath(value);
    return path.resolve(value);
  }
  if (Buffer.isBuffer(value)) return path.resolve(value.toString());
  if (value instanceof URL) return value.protocol === 'file:' ? fileURLToPath(value) : undefined;
  return undefined;
}

function errnoError(code: 'ENOENT' | 'EISDIR' | 'ENOTDIR' | 'EROFS', syscall: string, filePath: string): NodeJS.ErrnoException {
  const descriptions = {
    ENOENT: 'no such file or directory',
    EISDIR: 'illegal operation on a directory',
    ENOTDIR: 'not a directory',
    EROFS: 'read-only file system',
  };
  const numbers = { ENOENT: -2, EISDIR: -21, ENOTDIR: -20, EROFS: -30 };
  const error = new Error(`${code}: ${descriptions[code]}, ${syscall} '${filePath}'`) as NodeJS.ErrnoException;
  error.code = code;
  error.errno = numbers[code];
  error.syscall = syscall;
  error.path = filePath;
  return error;
}

/** Converts stats to the BigInt form that `{ bigint: true }` requests. Its `is*` methods read the bigint mode. */
function toBigIntStats(stats: fs.Stats): fs.BigIntStats {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stats)) {
    result[key] = typeof value === 'number' ? BigInt(Math.trunc(value)) : value;
  }
  for (const unit of ['atime', 'mtime', 'ctime', 'birthtime']) {
    result[`${unit}Ns`] = BigInt(Math.trunc(stats[`${unit}Ms` as 'mtimeMs'])) * 1_000_000n;
  }
  const type = Number(stats.mode) & fs.constants.S_IFMT;
  Object.assign(result, {
    isFile: () => type === S_IFREG,
    isDirectory: () => type === S_IFDIR,
    isSymbolicLink: () => false,
    isBlockDevice: () => false,
    isCharacterDevice: () => false,
    isFIFO: () => false,
    isSocket: () => false,
  });
  return result as unknown as fs.BigIntStats;
}

function statsFor(node: VfsNode, timesMs: number, options: unknown): fs.Stats | fs.BigIntStats {
  const stats = makeStats(node, timesMs);
  const bigint = typeof options === 'object' && options !== null && (options as { bigint?: boolean }).bigint;
  return bigint ? toBigIntStats(stats) : stats;
}

/** Builds an fs.Stats for a packaged file or folder, with the executable's own times. */
function makeStats(node: VfsNode, timesMs: number): fs.Stats {
  const stats = Object.create(fs.Stats.prototype) as fs.Stats;
  const isFile = node.kind === 'file';
  const sizeBytes = isFile ? node.entry.sizeBytes : 4096;
  Object.assign(stats, {
    dev: 0,
    ino: 0,
    mode: isFile ? S_IFREG | node.entry.mode : S_IFDIR | 0o755,
    nlink: 1,
    uid: typeof process.getuid === 'function' ? process.getuid() : 0,
    gid: typeof process.getgid === 'function' ? process.getgid() : 0,
    rdev: 0,
    size: sizeBytes,
    blksize: 4096,
    blocks: Math.ceil(sizeBytes / 512),
    atimeMs: timesMs,
    mtimeMs: timesMs,
    ctimeMs: timesMs,
    birthtimeMs: timesMs,
    atime: new Date(timesMs),
    mtime: new Date(timesMs),
    ctime: new Date(timesMs),
    birthtime: new Date(timesMs),
  });
  return stats;
}

function decode(content: Buffer, options: unknown): string | Buffer {
  const encoding = (typeof options === 'string' ? options : (options as { encoding?: string } | null)?.encoding) as
    | BufferEncoding
    | undefined;
  // A copy, because the payload view points into the executable's read-only mapping.
  return encoding ? content.toString(encoding) : Buffer.from(content);
}

function listDirectory(vfs: Vfs, node: VfsNode & { kind: 'directory' }, options: unknown): (string | fs.Dirent)[] {
  const flags = (typeof options === 'object' && options !== null ? options : {}) as { withFileTypes?: boolean; recursive?: boolean };
  const DirentClass = fs.Dirent as unknown as new (name: string, type: number, parentPath: string) => fs.Dirent;
  const listed: (string | fs.Dirent)[] = [];
  const visit = (folder: VfsNode & { kind: 'directory' }, prefix: string): void => {
    for (const name of [...folder.children].sort()) {
      const childPath = folder.relativePath === '' ? name : `${folder.relativePath}/${name}`;
      const isFile = vfs.index.files[childPath] !== undefined;
      if (flags.withFileTypes) listed.push(new DirentClass(name, isFile ? UV_DIRENT_FILE : UV_DIRENT_DIR, vfs.absolute(folder.relativePath)));
      else listed.push(prefix + name);
      if (flags.recursive && !isFile) {
        const child = vfs.lookup(vfs.absolute(childPath));
        if (child?.kind === 'directory') visit(child, prefix + name + path.sep);
      }
    }
  };
  visit(node, '');
  return listed;
}

/**
 * Serves the packaged files through the `fs` module: every read-only call
 * on a path under the payload root returns data from the payload, and every other
 * call goes to the real file system unchanged. The common calls that would
 * write under the root fail with EROFS, as on a read-only mount.
 */
export function installFsOverlay(vfs: Vfs, timesMs: number): void {
  /**
   * Returns the payload node for a path, or undefined when the real file
   * system must handle the call. Under a root that is no real folder, a path
   * the payload does not have is reported missing here.
   */
  const virtual = (value: unknown): { node: VfsNode; filePath: string } | undefined => {
    // While the runtime removes a temporary root, every call must see the real folder.
    if (vfs.writesAllowed) return undefined;
    const filePath = toAbsolutePath(value);
    if (filePath === undefined) return undefined;
    const node = vfs.virtualNode(filePath);
    if (node) return { node, filePath };
    if (!vfs.rootIsReal && vfs.relative(filePath) !== undefined) throw errnoError('ENOENT', 'open', filePath);
    return undefined;
  };

  const readFileSyncVirtual = (node: VfsNode, filePath: string, options: unknown): string | Buffer => {
    if (node.kind === 'directory') throw errnoError('EISDIR', 'read', filePath);
    return decode(vfs.content(node.entry), options);
  };

  const syncCalls: Record<string, (found: { node: VfsNode; filePath: string }, args: unknown[]) => unknown> = {
    readFileSync: ({ node, filePath }, args) => readFileSyncVirtual(node, filePath, args[1]),
    existsSync: () => true,
    statSync: ({ node }, args) => statsFor(node, timesMs, args[1]),
    lstatSync: ({ node }, args) => statsFor(node, timesMs, args[1]),
    accessSync: ({ filePath }, args) => {
      const mode = typeof args[1] === 'number' ? args[1] : fs.constants.F_OK;
      if (mode & fs.constants.W_OK) throw errnoError('EROFS', 'access', filePath);
    },
    realpathSync: ({ filePath }) => filePath,
    readdirSync: ({ node, filePath }, args) => {
      if (node.kind !== 'directory') throw errnoError('ENOTDIR', 'scandir', filePath);
      return listDirectory(vfs, node, args[1]);
    },
  };

  const patched = fs as unknown as Record<string, AnyFunction>;
  for (const [name, serve] of Object.entries(syncCalls)) {
    const original = patched[name];
    const replacement = function (this: unknown, ...args: unknown[]): unknown {
      let found;
      try {
        found = virtual(args[0]);
      } catch (error) {
        if (name === 'existsSync') return false;
        throw error;
      }
      return found ? serve(found, args) : original.apply(this, args);
    };
    if (name === 'realpathSync') (replacement as AnyFunction & { native?: AnyFunction }).native = replacement;
    patched[name] = replacement;
  }

  const promiseCalls: Record<string, string> = {
    readFile: 'readFileSync',
    stat: 'statSync',
    lstat: 'lstatSync',
    access: 'accessSync',
    realpath: 'realpathSync',
    readdir: 'readdirSync',
  };
  const promises = fs.promises as unknown as Record<string, AnyFunction>;
  for (const [name, syncName] of Object.entries(promiseCalls)) {
    const originalCallback = patched[name];
    const originalPromise = promises[name];
    const serve = syncCalls[syncName];
    const callbackReplacement = function (this: unknown, ...args: unknown[]): unknown {
      const callback = args[args.length - 1] as AnyFunction;
      try {
        const found = virtual(args[0]);
        if (!found) return originalCallback.apply(this, args);
        const result = serve(found, args.slice(0, -1));
        process.nextTick(callback, null, result);
      } catch (error) {
        process.nextTick(callback, error);
      }
      return undefined;
    };
    if (name === 'realpath') (callbackReplacement as AnyFunction & { native?: AnyFunction }).native = callbackReplacement;
    patched[name] = callbackReplacement;
    promises[name] = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const found = virtual(args[0]);
      return found ? serve(found, args) : originalPromise.apply(this, args);
    };
  }

  const originalExists = patched.exists;
  patched.exists = function (this: unknown, ...args: unknown[]): unknown {
    let found;
    try {
      found = virtual(args[0]);
    } catch {
      // A path the payload does not have, under a root that is no real folder: it does not exist.
      process.nextTick(args[1] as AnyFunction, false);
      return undefined;
    }
    if (found) {
      process.nextTick(args[1] as AnyFunction, true);
      return undefined;
    }
    return originalExists.apply(this, args);
  };

  const originalCreateReadStream = patched.createReadStream;
  patched.createReadStream = function (this: unknown, ...args: unknown[]): unknown {
    const found = virtual(args[0]);
    if (!found) return originalCreateReadStream.apply(this, args);
    const options = (
      typeof args[1] === 'string' ? { encoding: args[1] } : typeof args[1] === 'object' && args[1] !== null ? args[1] : {}
    ) as { start?: number; end?: number; encoding?: BufferEncoding };
    const content = readFileSyncVirtual(found.node, found.filePath, undefined) as Buffer;
    const slice = content.subarray(options.start ?? 0, options.end === undefined ? undefined : options.end + 1);
    const stream = Readable.from([slice], { objectMode: false });
    if (options.encoding) stream.setEncoding(options.encoding);
    return Object.assign(stream, { path: found.filePath });
  };

  installDescriptorCalls({ vfs, virtual, patched, timesMs });
  rejectWritesUnderRoot(vfs, patched);
}

/** Calls that change the file system, with the positions of their path arguments. */
const WRITING_CALLS: Record<string, number[]> = {
  writeFile: [0],
  appendFile: [0],
  mkdir: [0],
  unlink: [0],
  rm: [0],
  rmdir: [0],
  rename: [0, 1],
  copyFile: [1],
  symlink: [1],
  chmod: [0],
  truncate: [0],
  utimes: [0],
};

/**
 * Makes every call that would change a path under the payload root fail
 * with EROFS, as on a read-only mount: the payload never changes, and the
 * folder of extracted files stays as it was verified.
 */
function rejectWritesUnderRoot(vfs: Vfs, patched: Record<string, AnyFunction>): void {
  const promises = fs.promises as unknown as Record<string, AnyFunction>;
  const underRoot = (args: unknown[], positions: number[]): string | undefined => {
    if (vfs.writesAllowed) return undefined;
    for (const position of positions) {
      const filePath = toAbsolutePath(args[position]);
      if (filePath !== undefined && vfs.relative(filePath) !== undefined) return filePath;
    }
    return undefined;
  };
  for (const [name, positions] of Object.entries(WRITING_CALLS)) {
    const originalSync = patched[`${name}Sync`];
    const originalCallback = patched[name];
    const originalPromise = promises[name];
    patched[`${name}Sync`] = function (this: unknown, ...args: unknown[]): unknown {
      const filePath = underRoot(args, positions);
      if (filePath) throw errnoError('EROFS', name, filePath);
      return originalSync.apply(this, args);
    };
    patched[name] = function (this: unknown, ...args: unknown[]): unknown {
      const filePath = underRoot(args, positions);
      if (!filePath) return originalCallback.apply(this, args);
      process.nextTick(args[args.length - 1] as AnyFunction, errnoError('EROFS', name, filePath));
      return undefined;
    };
    if (originalPromise) {
      promises[name] = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
        const filePath = underRoot(args, positions);
        if (filePath) throw errnoError('EROFS', name, filePath);
        return originalPromise.apply(this, args);
      };
    }
  }
}

/**
 * Serves openSync/readSync/fstatSync/closeSync on packaged files with
 * descriptors from a private range, because some libraries read files
 * through a descriptor instead of readFileSync.
 */
function installDescriptorCalls({
  vfs,
  virtual,
  patched,
  timesMs,
}: {
  vfs: Vfs;
  virtual: (value: unknown) => { node: VfsNode; filePath: string } | undefined;
  patched: Record<string, AnyFunction>;
  timesMs: number;
}): void {
  const openFiles = new Map<number, { node: VfsNode & { kind: 'file' }; position: number }>();
  // Descriptors far above what the process can open, so they never collide with real ones.
  let nextDescriptor = 0x40000000;
  const original = {
    openSync: patched.openSync,
    readSync: patched.readSync,
    fstatSync: patched.fstatSync,
    closeSync: patched.closeSync,
  };

  patched.openSync = function (this: unknown, ...args: unknown[]): unknown {
    const found = virtual(args[0]);
    if (!found) return original.openSync.apply(this, args);
    const flags = args[1] ?? 'r';
    if (flags !== 'r' && flags !== fs.constants.O_RDONLY) throw errnoError('EROFS', 'open', found.filePath);
    if (found.node.kind !== 'file') throw errnoError('EISDIR', 'open', found.filePath);
    const descriptor = nextDescriptor++;
    openFiles.set(descriptor, { node: found.node, position: 0 });
    return descriptor;
  };

  patched.readSync = function (this: unknown, ...args: unknown[]): unknown {
    const open = openFiles.get(args[0] as number);
    if (!open) return original.readSync.apply(this, args);
    const buffer = args[1] as Uint8Array;
    let offset = 0;
    let length = buffer.byteLength;
    let position: number | null = null;
    if (typeof args[2] === 'object' && args[2] !== null) {
      const options = args[2] as { offset?: number; length?: number; position?: number | null };
      offset = options.offset ?? 0;
      length = options.length ?? buffer.byteLength - offset;
      position = options.position ?? null;
    } else {
      offset = (args[2] as number | undefined) ?? 0;
      length = (args[3] as number | undefined) ?? buffer.byteLength - offset;
      position = (args[4] as number | null | undefined) ?? null;
    }
    const content = vfs.content(open.node.entry);
    const start = position ?? open.position;
    const bytesRead = Math.max(0, Math.min(length, content.length - start));
    buffer.set(content.subarray(start, start + bytesRead), offset);
    if (position === null) open.position += bytesRead;
    return bytesRead;
  };

  patched.fstatSync = function (this: unknown, ...args: unknown[]): unknown {
    const open = openFiles.get(args[0] as number);
    return open ? makeStats(open.node, timesMs) : original.fstatSync.apply(this, args);
  };

  patched.closeSync = function (this: unknown, ...args: unknown[]): unknown {
    if (openFiles.delete(args[0] as number)) return undefined;
    return original.closeSync.apply(this, args);
  };
}
