import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as esbuild from 'esbuild';
import semver from 'semver';
import { DuoSeaError } from '../errors.js';
import { VFS_SPECIFIER_PREFIX } from '../runtime/vfs-format.js';
import { transformModuleSource, type ComputedPathCall, type ModuleFormat } from './source-transform.js';

/** The runtime's entry, compiled next to this file. */
const RUNTIME_ENTRY = fileURLToPath(new URL('../runtime/main.js', import.meta.url));
/** The folder of duo-sea's compiled code, `lib`. */
const LIB_ROOT = fileURLToPath(new URL('..', import.meta.url));


export interface BundleResult {
  /** The SEA main script: the runtime, which then runs the program. */
  mainCode: string;
  /** The body of the program function, for the program asset. */
  programCode: string;
  /**
   * `bundle` when the program is one esbuild bundle. `modules` when esbuild
   * cannot bundle it, because CommonJS output has no top-level await, so the
   * runtime loads its modules one by one from the payload instead.
   */
  mode: 'bundle' | 'modules';
  /** Files that esbuild read, relative to the payload root. */
  inputs: string[];
  warnings: string[];
}

/** Returns the module format Node gives a file: by extension, else by the nearest package.json `type`. */
function createFormatLookup(): (filePath: string) => ModuleFormat {
  const typeByFolder = new Map<string, ModuleFormat>();
  const folderFormat = (folder: string): ModuleFormat => {
    const known = typeByFolder.get(folder);
    if (known) return known;
    let format: ModuleFormat = 'commonjs';
    const manifestPath = path.join(folder, 'package.json');
    if (existsSync(manifestPath)) {
      try {
        format = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { type?: string }).type === 'module' ? 'module' : 'commonjs';
      } catch {
        // Node treats an unreadable package.json scope as CommonJS too.
      }
    } else {
      const parent = path.dirname(folder);
      if (parent !== folder) format = folderFormat(parent);
    }
    typeByFolder.set(folder, format);
    return format;
  };
  return (filePath) => {
    if (filePath.endsWith('.mjs')) return 'module';
    if (filePath.endsWith('.cjs')) return 'commonjs';
    return folderFormat(path.dirname(filePath));
  };
}

function toPayloadPath(rootDir: string, filePath: string): string {
  return path.relative(rootDir, filePath).split(path.sep).join('/');
}

/** Computed-path calls of each bundled module, by path in the payload. */
type ComputedPathsByFile = Map<string, ComputedPathCall[]>;

/** Most computed-path calls listed one by one in the build log; the rest are counted. */
const MAX_LISTED_COMPUTED_PATHS = 20;

/**
 * Returns one warning per `require()` or `import()` of a fully computed
 * path, up to MAX_LISTED_COMPUTED_PATHS, then a count of the rest. Such a
 * call still works when the file it names is installed, because the payload
 * holds every installed file; the warning tells the user which calls to
 * check when a file comes from somewhere else.
 */
export function computedPathWarnings(byFile: ComputedPathsByFile): string[] {
  const all = [...byFile.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([file, calls]) => calls.map((call) => `${file}:${call.line}:${call.column}: ${call.kind}() of a computed path: it resolves at run time, so the file it names must be in the installed packages`));
  if (all.length <= MAX_LISTED_COMPUTED_PATHS) return all;
  return [...all.slice(0, MAX_LISTED_COMPUTED_PATHS), `${all.length - MAX_LISTED_COMPUTED_PATHS} more require() or import() calls of a computed path are not listed`];
}

/** Returns an esbuild plugin that rewrites module paths and leaves native addons for the runtime to load from the payload. */
function payloadPathsPlugin(rootDir: string, entryPath: string, computedPaths: ComputedPathsByFile): esbuild.Plugin {
  const formatOf = createFormatLookup();
  return {
    name: 'duo-sea-payload-paths',
    setup(build) {
      build.onResolve({ filter: /\.node$/ }, (args) => {
        if (args.path.startsWith(VFS_SPECIFIER_PREFIX)) return { path: args.path, external: true };
        const absolute = path.resolve(args.resolveDir, args.path);
        return { path: VFS_SPECIFIER_PREFIX + toPayloadPath(rootDir, absolute), external: true };
      });
      // A native addon reached through a package name (napi-rs packages point `main` at a .node file) is loaded at run time too.
      build.onLoad({ filter: /\.node$/ }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(VFS_SPECIFIER_PREFIX + toPayloadPath(rootDir, args.path))});`,
        loader: 'js',
      }));
      build.onLoad({ filter: /\.[mc]?js$/ }, async (args) => {
        if (!args.path.startsWith(rootDir + path.sep)) return undefined;
        const source = await readFile(args.path, 'utf8');
        const payloadPath = toPayloadPath(rootDir, args.path);
        const transformed = transformModuleSource(source, payloadPath, formatOf(args.path), { isEntry: args.path === entryPath });
        const { code, changed, warning } = transformed;
        if (transformed.computedPaths.length > 0) computedPaths.set(payloadPath, transformed.computedPaths);
        if (warning) return { contents: source, loader: 'js', warnings: [{ text: warning }] };
        return changed ? { contents: code, loader: 'js' } : undefined;
      });
    },
  };
}

function formatMessages(messages: esbuild.Message[]): string[] {
  return messages.map((message) => {
    const where = message.location ? `${message.location.file}:${message.location.line}:${message.location.column}: ` : '';
    return `${where}${message.text}`;
  });
}

/**
 * Moves the runtime's "use strict" from the top of the script into its own
 * function. At the top it would make the whole main script strict, and with
 * it every module of the program, which breaks sloppy-mode code such as an
 * assignment to an undeclared variable.
 */
function confineStrictMode(runtime: string): string {
  const withoutDirective = runtime.replace(/^"use strict";\n/, '');
  return withoutDirective.replace('(() => {\n', '(() => {\n  "use strict";\n');
}

let runtimeCode: Promise<string> | undefined;

/** Returns the SEA main script: the runtime, then the call that mounts the payload and runs the program. */
async function runtimeMain(nodeMajor: number): Promise<string> {
  return `${await bundleRuntime(nodeMajor)}\n__duoSeaRuntime.runMain();\n`;
}

/** Bundles the runtime once per process; it does not depend on the program or the target. */
function bundleRuntime(nodeMajor: number): Promise<string> {
  runtimeCode ??= esbuild
    .build({
      entryPoints: [RUNTIME_ENTRY],
      // esbuild names each input in a comment, relative to this folder: the compiled code's root, so that the comments,
      // and the executables, are the same wherever duo-sea is installed and whatever folder it runs in.
      absWorkingDir: LIB_ROOT,
      bundle: true,
      write: false,
      platform: 'node',
      format: 'iife',
      globalName: '__duoSeaRuntime',
      target: `node${nodeMajor}`,
      logLevel: 'silent',
    })
    .then((result) => confineStrictMode(result.outputFiles[0].text));
  return runtimeCode;
}

/**
 * Bundles the program's bin script and everything it imports into one
 * CommonJS script, then wraps it so the runtime can mount the payload first.
 */
export async function bundleProgram(options: {
  rootDir: string;
  entryPath: string;
  nodeVersion: string;
  targetId: string;
  /** True to minify whitespace and syntax; the comment of runEsbuild explains why it is off by default. */
  minify?: boolean;
}): Promise<BundleResult> {
  const nodeMajor = Number(options.nodeVersion.split('.')[0]);
  const external: string[] = [];
  let result: esbuild.BuildResult<{ write: false; metafile: true }> | undefined;
  const warnings: string[] = [];
  const computedPaths: ComputedPathsByFile = new Map();
  while (!result) {
    try {
      computedPaths.clear();
      result = await runEsbuild(options, nodeMajor, external, computedPaths);
    } catch (error) {
      const details = formatMessages((error as esbuild.BuildFailure).errors ?? []);
      if (details.length > 0 && details.every((line) => /top-level await/i.test(line))) {
        if (!hasModuleHooks(options.nodeVersion)) throw topLevelAwaitError(options, details, error);
        return moduleLoaderMain(options, nodeMajor, details);
      }
      const missing = unresolvedPackages(error as esbuild.BuildFailure).filter((name) => !external.includes(name));
      if (missing.length === 0) throw bundleError(options, details, error);
      // Node fails on a missing package only when the code reaches it, often inside a try block; so does the executable.
      external.push(...missing);
      warnings.push(`left to resolve at run time, because the install does not have them: ${missing.join(', ')}`);
    }
  }

  // esbuild keeps the entry's hashbang on the first line, where it is a syntax error inside the wrapper.
  const appCode = result.outputFiles[0].text.replace(/^#!/, '//#!');
  return {
    mainCode: await runtimeMain(nodeMajor),
    programCode: appCode,
    mode: 'bundle',
    inputs: Object.keys(result.metafile.inputs).sort(),
    warnings: [...warnings, ...formatMessages(result.warnings), ...computedPathWarnings(computedPaths)],
  };
}

/**
 * Minifying is opt-in (`--minify`) because it changes what a program can
 * observe: stack traces point at other lines and columns, and
 * `Function.prototype.toString()` returns the minified text. It saves little: measured with esbuild 0.28.2 on the bundle of
 * @anthropic-ai/sandbox-runtime 0.0.78, whitespace and syntax minifying take
 * it from 1,278,666 to 839,679 bytes, but after `xz -9` only from 210,756 to
 * 174,176 bytes (after `gzip -9`, 53,443 bytes less: 0.12% of that
 * program's 44,830,229-byte linux-x64 .tar.gz). Identifiers are never
 * renamed and keepNames stays on, so `name` properties keep the source's
 * values.
 */
function runEsbuild(
  options: { rootDir: string; entryPath: string; minify?: boolean },
  nodeMajor: number,
  external: string[],
  computedPaths: ComputedPathsByFile,
): Promise<esbuild.BuildResult<{ write: false; metafile: true }>> {
  return esbuild.build({
    entryPoints: [options.entryPath],
    absWorkingDir: options.rootDir,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'cjs',
    target: `node${nodeMajor}`,
    // Kept so that class and function names, which programs print and compare, are those of the source.
    keepNames: true,
    minifyWhitespace: options.minify === true,
    minifySyntax: options.minify === true,
    external,
    logLevel: 'silent',
    plugins: [payloadPathsPlugin(options.rootDir, options.entryPath, computedPaths)],
  });
}

/** Returns the bare package names that esbuild could not resolve; relative paths are real errors. */
function unresolvedPackages(failure: esbuild.BuildFailure): string[] {
  const names = new Set<string>();
  for (const message of failure.errors ?? []) {
    const specifier = /^Could not resolve "([^"]+)"/.exec(message.text)?.[1];
    if (!specifier || specifier.startsWith('.') || specifier.startsWith('/')) return [];
    names.add(specifier);
  }
  return [...names];
}

/**
 * Returns whether a Node version has `module.registerHooks` (added in
 * 22.15.0 and 23.5.0). Without it the executable cannot load ES modules from
 * its payload, which an unbundled program needs.
 */
function hasModuleHooks(nodeVersion: string): boolean {
  return semver.gte(nodeVersion, '23.5.0') || (semver.major(nodeVersion) === 22 && semver.gte(nodeVersion, '22.15.0'));
}

function topLevelAwaitError(options: { entryPath: string; targetId: string; nodeVersion: string }, details: string[], cause: unknown): DuoSeaError {
  return new DuoSeaError({
    code: 'E_BUNDLE_FAILED',
    stage: 'bundle',
    target: options.targetId,
    input: details[0],
    message: `The program uses top-level await, so it cannot be bundled, and Node ${options.nodeVersion} has no module.registerHooks (added in 22.15.0), through which the executable would load its ES modules instead:\n${details.join('\n')}`,
    hint: 'Build with --node 22.15.0 or later, such as the default Node version.',
    cause,
  });
}

function bundleError(options: { entryPath: string; targetId: string }, details: string[], cause: unknown): DuoSeaError {
  return new DuoSeaError({
    code: 'E_BUNDLE_FAILED',
    stage: 'bundle',
    target: options.targetId,
    input: details[0] ?? options.entryPath,
    message: `esbuild could not bundle the program:\n${details.join('\n') || String(cause)}`,
    hint: 'Fix the file named above, or report the case with the package name and version.',
    cause,
  });
}

/**
 * Returns a main script that imports the program's entry from the payload,
 * for a program that esbuild cannot turn into CommonJS because it uses
 * top-level await. Node's own loader then runs each module with its real
 * semantics, at the cost of the bundle's faster start.
 */
async function moduleLoaderMain(
  options: { rootDir: string; entryPath: string },
  nodeMajor: number,
  reasons: string[],
): Promise<BundleResult> {
  const entry = JSON.stringify(toPayloadPath(options.rootDir, options.entryPath));
  return {
    mainCode: await runtimeMain(nodeMajor),
    programCode: `return __duoSeaImport(${entry})(__duoSeaModuleUrl(${entry}));\n`,
    mode: 'modules',
    inputs: [],
    warnings: [`not bundled, modules load from the payload at run time, because of top-level await: ${reasons[0]}`],
  };
}
