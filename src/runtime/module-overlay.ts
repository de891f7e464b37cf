import Module, { isBuiltin } from 'node:module';
import path from 'node:path';
import type { Vfs } from './vfs.js';
import { VFS_SPECIFIER_PREFIX } from './vfs-format.js';

type ResolveFilename = (request: string, parent: { filename?: string | null } | undefined, ...rest: unknown[]) => string;
type ExtensionLoader = (module: unknown, filename: string) => void;

interface ModuleInternals {
  _resolveFilename: ResolveFilename;
  _extensions: Record<string, ExtensionLoader>;
}

/** Extensions that `require()` tries, in Node's order. */
const REQUIRE_EXTENSIONS = ['.js', '.json', '.node'];

/** Conditions that `require()` matches in a package's `exports`, in Node's order of preference. */
const REQUIRE_CONDITIONS = ['node', 'require', 'default'];

function isPathRequest(request: string): boolean {
  return request === '.' || request === '..' || /^\.\.?[\\/]/.test(request) || path.isAbsolute(request);
}

function splitPackageRequest(request: string): { name: string; subpath: string } {
  const parts = request.split('/');
  const nameLength = request.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, nameLength).join('/');
  const rest = parts.slice(nameLength).join('/');
  return { name, subpath: rest === '' ? '.' : `./${rest}` };
}

/** Picks the target of one `exports` entry for `require()`: a string, a list, or a conditions object. */
function exportTarget(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) {
    for (const item of entry) {
      const target = exportTarget(item);
      if (target) return target;
    }
    return undefined;
  }
  if (entry && typeof entry === 'object') {
    for (const [condition, value] of Object.entries(entry)) {
      if (REQUIRE_CONDITIONS.includes(condition)) {
        const target = exportTarget(value);
        if (target) return target;
      }
    }
  }
  return undefined;
}

/** Resolves a subpath ('.' or './x') through a package's `exports`, with `*` patterns. */
function resolveExports(exportsField: unknown, subpath: string): string | undefined {
  const isSubpathMap =
    exportsField !== null && typeof exportsField === 'object' && !Array.isArray(exportsField) && Object.keys(exportsField).some((key) => key.startsWith('.'));
  if (!isSubpathMap) return subpath === '.' ? exportTarget(exportsField) : undefined;

  const map = exportsField as Record<string, unknown>;
  if (subpath in map) return exportTarget(map[subpath]);
  // Node picks the pattern with the longest prefix before `*`, and `*` must match at least one character.
  let best: { prefix: string; match: string; value: unknown } | undefined;
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf('*');
    if (star === -1) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    const matches = subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length > prefix.length + suffix.length;
    if (matches && (!best || prefix.length > best.prefix.length)) {
      best = { prefix, match: subpath.slice(prefix.length, subpath.length - suffix.length), value };
    }
  }
  if (best) return exportTarget(best.value)?.replaceAll('*', best.match);
  return undefined;
}

/**
 * Resolves `require()` requests inside the payload the way Node's CommonJS
 * resolver does on disk: files with the default extensions, folders through
 * `package.json` `main` or `index`, packages through `node_modules` folders
 * up to the payload root and their `exports`.
 */
export class VfsResolver {
  constructor(private readonly vfs: Vfs) {}

  private isFile(filePath: string): boolean {
    return this.vfs.lookup(filePath)?.kind === 'file';
  }

  private readJson(filePath: string): Record<string, unknown> | undefined {
    const node = this.vfs.lookup(filePath);
    if (node?.kind !== 'file') return undefined;
    try {
      return JSON.parse(this.vfs.content(node.entry).toString('utf8')) as Record<string, unknown>;
    } catch {
      // Node also ignores a package.json it cannot parse when it only looks for `main`.
      return undefined;
    }
  }

  resolveFileOrDirectory(candidate: string): string | undefined {
    if (this.isFile(candidate)) return candidate;
    for (const extension of REQUIRE_EXTENSIONS) {
      if (this.isFile(candidate + extension)) return candidate + extension;
    }
    if (this.vfs.lookup(candidate)?.kind !== 'directory') return undefined;
    const manifest = this.readJson(path.join(candidate, 'package.json'));
    if (typeof manifest?.main === 'string') {
      const main = path.resolve(candidate, manifest.main);
      const found = this.resolveFileOrDirectory(main) ?? this.resolveIndex(main);
      if (found) return found;
    }
    return this.resolveIndex(candidate);
  }

  private resolveIndex(folder: string): string | undefined {
    for (const extension of REQUIRE_EXTENSIONS) {
      const candidate = path.join(folder, `index${extension}`);
      if (this.isFile(candidate)) return candidate;
    }
    return undefined;
  }

  private resolvePackage(packageDir: string, subpath: string): string | undefined {
    const manifest = this.readJson(path.join(packageDir, 'package.json'));
    if (manifest && manifest.exports !== undefined) {
      const target = resolveExports(manifest.exports, subpath);
      return target ? this.resolveFileOrDirectory(path.resolve(packageDir, target)) : undefined;
    }
    return this.resolveFileOrDirectory(path.resolve(packageDir, subpath));
  }

  /** Resolves a bare request in one node_modules folder: a package folder, or a file such as `name.js`. */
  private resolveInNodeModules(nodeModules: string, name: string, subpath: string, request: string): string | undefined {
    const packageDir = path.join(nodeModules, name);
    const manifest = this.readJson(path.join(packageDir, 'package.json'));
    // A package with `exports` exposes only what they list; anything else is not found, as in Node.
    if (manifest && manifest.exports !== undefined) return this.resolvePackage(packageDir, subpath);
    return this.resolveFileOrDirectory(path.join(nodeModules, ...request.split('/')));
  }

  /** Returns the payload path of a request made from `fromDir`, or undefined when the payload does not have it. */
  resolve(request: string, fromDir: string): string | undefined {
    if (request.startsWith(VFS_SPECIFIER_PREFIX)) {
      const candidate = this.vfs.absolute(request.slice(VFS_SPECIFIER_PREFIX.length));
      return this.vfs.lookup(candidate) ? candidate : undefined;
    }
    if (isPathRequest(request)) {
      const candidate = path.resolve(fromDir, request);
      return this.vfs.relative(candidate) === undefined ? undefined : this.resolveFileOrDirectory(candidate);
    }
    if (this.vfs.relative(fromDir) === undefined) return undefined;

    const { name, subpath } = splitPackageRequest(request);
    let folder = fromDir;
    while (this.vfs.relative(folder) !== undefined) {
      if (path.basename(folder) !== 'node_modules') {
        const found = this.resolveInNodeModules(path.join(folder, 'node_modules'), name, subpath, request);
        if (found) return found;
      }
      const parent = path.dirname(folder);
      if (parent === folder) break;
      folder = parent;
    }
    return undefined;
  }
}

/**
 * Makes `require()` find modules in the payload, and gives a clear error
 * for a native addon that could not be extracted to a real file.
 */
export function installModuleOverlay(vfs: Vfs, extractionError: string | undefined): void {
  const internals = Module as unknown as ModuleInternals;
  const resolver = new VfsResolver(vfs);
  const originalResolve = internals._resolveFilename;
  internals._resolveFilename = function (this: unknown, request, parent, ...rest) {
    if (typeof request === 'string' && !isBuiltin(request)) {
      const fromDir = parent?.filename ? path.dirname(parent.filename) : process.cwd();
      const resolved = resolver.resolve(request, fromDir);
      if (resolved) return resolved;
    }
    return originalResolve.call(this, request, parent, ...rest);
  };

  const originalNodeLoader = internals._extensions['.node'];
  internals._extensions['.node'] = function (this: unknown, module, filename) {
    if (vfs.virtualNode(filename)) {
      throw new Error(
        `Cannot load the native addon ${filename}: it must be written to a real file first, but ${extractionError ?? 'extraction failed'}.\n` +
          'Set XDG_CACHE_HOME (LOCALAPPDATA on Windows) to a folder that only this user can write, then run the program again.',
      );
    }
    return originalNodeLoader.call(this, module, filename);
  };
}
