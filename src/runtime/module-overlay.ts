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

/** The resolution rules of a request: `require()` (CommonJS) or `import` (ES modules). */
export type ResolveMode = 'require' | 'import';

/** Conditions that each mode matches in a package's `exports` and `imports`. */
const CONDITIONS: Record<ResolveMode, string[]> = {
  require: ['node', 'require', 'default'],
  import: ['node', 'import', 'default'],
};

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

/** Picks the target of one `exports` entry: a string, a list, or a conditions object. */
function exportTarget(entry: unknown, conditions: string[]): string | undefined {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) {
    for (const item of entry) {
      const target = exportTarget(item, conditions);
      if (target) return target;
    }
    return undefined;
  }
  if (entry && typeof entry === 'object') {
    for (const [condition, value] of Object.entries(entry)) {
      if (conditions.includes(condition)) {
        const target = exportTarget(value, conditions);
        if (target) return target;
      }
    }
  }
  return undefined;
}

/** Resolves a subpath ('.', './x' or, for `imports`, '#x') through an `exports` or `imports` map, with `*` patterns. */
function resolveExports(exportsField: unknown, subpath: string, conditions: string[]): string | undefined {
  const isSubpathMap =
    exportsField !== null &&
    typeof exportsField === 'object' &&
    !Array.isArray(exportsField) &&
    Object.keys(exportsField).some((key) => key.startsWith('.') || key.startsWith('#'));
  if (!isSubpathMap) return subpath === '.' ? exportTarget(exportsField, conditions) : undefined;

  const map = exportsField as Record<string, unknown>;
  if (subpath in map) return exportTarget(map[subpath], conditions);
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
  if (best) return exportTarget(best.value, conditions)?.replaceAll('*', best.match);
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

  readJson(filePath: string): Record<string, unknown> | undefined {
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

  /** Resolves an exact file for `import`, or a file with Node's extension and index search for `require()`. */
  private resolveTarget(candidate: string, mode: ResolveMode): string | undefined {
    if (mode === 'require') return this.resolveFileOrDirectory(candidate);
    return this.isFile(candidate) ? candidate : undefined;
  }

  private resolvePackage(packageDir: string, subpath: string, mode: ResolveMode): string | undefined {
    const manifest = this.readJson(path.join(packageDir, 'package.json'));
    if (manifest && manifest.exports !== undefined) {
      const target = resolveExports(manifest.exports, subpath, CONDITIONS[mode]);
      return target ? this.resolveTarget(path.resolve(packageDir, target), mode) : undefined;
    }
    // Without `exports`, `import` of the package itself still follows `main` and `index.js`, as Node's legacy main lookup does.
    if (subpath === '.') return this.resolveFileOrDirectory(packageDir);
    return this.resolveTarget(path.resolve(packageDir, subpath), mode);
  }

  /** Resolves a bare request in one node_modules folder: a package folder, or a file such as `name.js`. */
  private resolveInNodeModules(nodeModules: string, request: string, mode: ResolveMode): string | undefined {
    const { name, subpath } = splitPackageRequest(request);
    const packageDir = path.join(nodeModules, name);
    const manifest = this.readJson(path.join(packageDir, 'package.json'));
    // A package with `exports` exposes only what they list; anything else is not found, as in Node.
    if (manifest && manifest.exports !== undefined) return this.resolvePackage(packageDir, subpath, mode);
    if (mode === 'import') return this.vfs.lookup(packageDir) ? this.resolvePackage(packageDir, subpath, mode) : undefined;
    return this.resolveFileOrDirectory(path.join(nodeModules, ...request.split('/')));
  }

  /** Returns the folder of the nearest package.json at or above `fromDir` inside the payload. */
  packageScope(fromDir: string): string | undefined {
    let folder = fromDir;
    while (this.vfs.relative(folder) !== undefined) {
      if (this.isFile(path.join(folder, 'package.json'))) return folder;
      const parent = path.dirname(folder);
      if (parent === folder) break;
      folder = parent;
    }
    return undefined;
  }

  /** Resolves a `#name` request through the `imports` field of the requesting package. */
  private resolvePackageImport(request: string, fromDir: string, mode: ResolveMode): string | undefined {
    const scope = this.packageScope(fromDir);
    if (!scope) return undefined;
    const target = resolveExports(this.readJson(path.join(scope, 'package.json'))?.imports, request, CONDITIONS[mode]);
    if (!target) return undefined;
    return target.startsWith('./') ? this.resolveTarget(path.resolve(scope, target), mode) : this.resolve(target, scope, mode);
  }

  /** Returns the payload path of a request made from `fromDir`, or undefined when the payload does not have it. */
  resolve(request: string, fromDir: string, mode: ResolveMode = 'require'): string | undefined {
    if (request.startsWith(VFS_SPECIFIER_PREFIX)) {
      const candidate = this.vfs.absolute(request.slice(VFS_SPECIFIER_PREFIX.length));
      return this.vfs.lookup(candidate) ? candidate : undefined;
    }
    if (request.startsWith('#')) return this.resolvePackageImport(request, fromDir, mode);
    if (isPathRequest(request)) {
      const candidate = path.resolve(fromDir, request);
      return this.vfs.relative(candidate) === undefined ? undefined : this.resolveTarget(candidate, mode);
    }
    if (this.vfs.relative(fromDir) === undefined) return undefined;

    let folder = fromDir;
    while (this.vfs.relative(folder) !== undefined) {
      if (path.basename(folder) !== 'node_modules') {
        const found = this.resolveInNodeModules(path.join(folder, 'node_modules'), request, mode);
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
