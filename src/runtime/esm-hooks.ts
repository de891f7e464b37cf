import Module from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { VfsResolver } from './module-overlay.js';
import type { Vfs } from './vfs.js';

type ModuleFormat = 'module' | 'commonjs' | 'json' | 'wasm';

interface ResolveContext {
  parentURL?: string;
  conditions?: string[];
}

interface ResolveResult {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}

interface LoadResult {
  format: string;
  source?: string | Buffer | null;
  shortCircuit?: boolean;
}

interface SynchronousHooks {
  resolve?: (specifier: string, context: ResolveContext, next: (specifier: string, context?: ResolveContext) => ResolveResult) => ResolveResult;
  load?: (url: string, context: { format?: string | null }, next: (url: string, context?: unknown) => LoadResult) => LoadResult;
}

/** `module.registerHooks`, added in Node 23.5 and 22.15. */
type RegisterHooks = (hooks: SynchronousHooks) => unknown;

/** Returns the format Node gives a payload file: by extension, else by the `type` of its package scope. */
function payloadFormat(resolver: VfsResolver, filePath: string): ModuleFormat {
  const extension = path.extname(filePath);
  if (extension === '.mjs') return 'module';
  if (extension === '.cjs') return 'commonjs';
  if (extension === '.json') return 'json';
  if (extension === '.wasm') return 'wasm';
  const scope = resolver.packageScope(path.dirname(filePath));
  const type = scope ? resolver.readJson(path.join(scope, 'package.json'))?.type : undefined;
  return type === 'module' ? 'module' : 'commonjs';
}

/** Returns the format Node would give a payload file, for a caller without a resolver of its own. */
export function formatOfPayloadFile(vfs: Vfs, filePath: string): ModuleFormat {
  return payloadFormat(new VfsResolver(vfs), filePath);
}

function toPath(url: string | undefined): string | undefined {
  if (!url?.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(url);
  } catch {
    // A malformed file URL cannot name a payload file; Node's own resolver reports it.
    return undefined;
  }
}

/**
 * Lets `import` find and load modules in the payload: specifiers made from
 * payload modules resolve with Node's ES module rules inside the payload,
 * and payload files load from the payload with the format Node would give
 * them. Returns false when this Node has no `module.registerHooks`.
 */
export function installEsmHooks(vfs: Vfs): boolean {
  const registerHooks = (Module as unknown as { registerHooks?: RegisterHooks }).registerHooks;
  if (typeof registerHooks !== 'function') return false;
  const resolver = new VfsResolver(vfs);

  registerHooks({
    resolve(specifier, context, next) {
      const parentPath = toPath(context.parentURL);
      const fromDir = parentPath && vfs.relative(parentPath) !== undefined ? path.dirname(parentPath) : undefined;
      const isRequire = context.conditions?.includes('require') ?? false;
      const requested = toPath(specifier) ?? (fromDir || path.isAbsolute(specifier) ? specifier : undefined);
      if (requested !== undefined && !isRequire) {
        const found = resolver.resolve(requested, fromDir ?? process.cwd(), 'import');
        if (found) return { url: pathToFileURL(found).href, format: payloadFormat(resolver, found), shortCircuit: true };
      }
      return next(specifier, context);
    },
    load(url, context, next) {
      const filePath = toPath(url);
      const node = filePath === undefined ? undefined : vfs.virtualNode(filePath);
      if (!filePath || node?.kind !== 'file') return next(url, context);
      const format = context.format ?? payloadFormat(resolver, filePath);
      // A copy, because the payload view points into the executable's read-only mapping.
      const content = Buffer.from(vfs.content(node.entry));
      return { format, source: format === 'wasm' ? content : content.toString('utf8'), shortCircuit: true };
    },
  });
  return true;
}

/** Drops the one warning Node prints for the loader option below; the program's own warnings pass through. */
function silenceLoaderOptionWarning(): void {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]): void {
    const message = typeof warning === 'string' ? warning : warning.message;
    if (message.includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
}

let warningSilenced = false;

/** Installs the warning filter once, before the first use of the loader option. */
export function silenceLoaderWarningOnce(): void {
  if (warningSilenced) return;
  silenceLoaderOptionWarning();
  warningSilenced = true;
}

/**
 * Returns an `import()` that resolves from `filePath` with Node's default
 * loader. A single executable's own main script may only import built-in
 * modules, so code compiled with this option does the imports instead.
 */
export function createImporter(filePath: string): (specifier: string) => Promise<unknown> {
  silenceLoaderWarningOnce();
  return vm.compileFunction('return import(specifier)', ['specifier'], {
    filename: filePath,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  } as vm.CompileFunctionOptions) as (specifier: string) => Promise<unknown>;
}
