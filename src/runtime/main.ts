import fs from 'node:fs';
import Module from 'node:module';
import sea from 'node:sea';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { preparePayloadRoot, privateCacheDir } from './extract.js';
import { createImporter, formatOfPayloadFile, installEsmHooks, silenceLoaderWarningOnce } from './esm-hooks.js';
import { lateV8Flags, parseEvalRelaunch, parseRelaunch, type EvalRelaunch, type Relaunch } from './relaunch.js';
import v8 from 'node:v8';
import { installFsOverlay } from './fs-overlay.js';
import { installModuleOverlay } from './module-overlay.js';
import { Vfs } from './vfs.js';
import { PROGRAM_ASSET, PROGRAM_CACHE_ASSET, PROGRAM_LINE_OFFSET, SELF_CHECK_ENV, VFS_DATA_ASSET, VFS_INDEX_ASSET, type VfsIndex } from './vfs-format.js';
import vm from 'node:vm';

/** Environment variable with the payload id of the executable that started this process. */
const PARENT_PAYLOAD_ENV = 'DUO_SEA_PARENT_PAYLOAD';

/**
 * The bundled program, compiled as a function so that its free `require`,
 * `module`, `__filename` and `__dirname` are the ones the runtime passes,
 * and so that the per-module path helpers the build inserted are in scope.
 */
export type ProgramFunction = (
  require: NodeJS.Require,
  module: { exports: unknown },
  exports: unknown,
  filename: string,
  dirname: string,
  moduleUrl: (relativePath: string) => string,
  modulePath: (relativePath: string) => string,
  moduleDir: (relativePath: string) => string,
  moduleRequire: (relativePath: string) => NodeJS.Require,
  moduleImport: (relativePath: string) => (specifier: string) => Promise<unknown>,
) => void;

function executableTimeMs(): number {
  try {
    return fs.statSync(process.execPath).mtimeMs;
  } catch {
    // The executable may have been deleted while it runs; any fixed time will do for the packaged files.
    return 0;
  }
}

/** The compiled program, and whether V8 took the code cache the build made for it. */
interface CompiledProgram {
  run: ProgramFunction;
  cache: 'accepted' | 'rejected' | 'none';
}

/**
 * Compiles the program with Node's default ES module loader for its
 * `import()` calls, including those in code it evaluates, such as
 * `new Function('m', 'return import(m)')`. The file name is the bin
 * script's, which stack traces show and relative imports start from. V8
 * checks the code cache against the source and its own flags, and compiles
 * without it when they differ.
 */
function compileProgram(entryPath: string): CompiledProgram {
  silenceLoaderWarningOnce();
  const source = sea.getAsset(PROGRAM_ASSET, 'utf8') as string;
  let cachedData: Buffer | undefined;
  try {
    cachedData = Buffer.from(sea.getRawAsset(PROGRAM_CACHE_ASSET) as ArrayBuffer);
  } catch {
    // Builds for a platform that the build host could not run have no code cache.
    cachedData = undefined;
  }
  const script = new vm.Script(source, {
    filename: entryPath,
    lineOffset: PROGRAM_LINE_OFFSET,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  } as vm.ScriptOptions);
  let cache: CompiledProgram['cache'] = 'none';
  if (cachedData !== undefined) cache = script.cachedDataRejected ? 'rejected' : 'accepted';
  return { run: script.runInThisContext() as ProgramFunction, cache };
}

/** Makes this process look as node would with the relaunch's options, script and arguments. */
function applyRelaunch(relaunch: Relaunch, scriptPath: string): void {
  process.execArgv.push(...relaunch.nodeOptions);
  for (const flag of lateV8Flags(relaunch.nodeOptions)) v8.setFlagsFromString(flag);
  process.argv.splice(1, process.argv.length - 1, scriptPath, ...relaunch.args);
}

/**
 * Turns on Node's compile cache for the modules the program loads from the
 * payload outside its bundle, such as the ES modules of a program with
 * top-level await. The first run writes V8's code cache of each module to
 * this user's duo-sea cache folder, and later runs compile from it. Node
 * keys each entry by the module's path and content and by the V8 flags, so
 * a relaunch with other heap flags keeps entries of its own. As with node,
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
function enableCompileCache(): void {
  const enable = (Module as { enableCompileCache?: (directory: string) => unknown }).enableCompileCache;
  if (typeof enable !== 'function' || process.env.NODE_DISABLE_COMPILE_CACHE) return;
  const directory = privateCacheDir('compile-cache');
  if (directory) enable(directory);
}

/**
 * Evaluates code as `node -e` or `node -p` would: in the global scope, with
 * `require` from the current folder and `process.argv` of the executable and
 * the arguments after the code. Programs run it through shims that put a
 * `node` on PATH which executes `process.execPath`.
 */
function runEval(relaunch: EvalRelaunch): void {
  process.argv.splice(1, process.argv.length - 1, ...relaunch.args);
  process.execArgv.push(...relaunch.nodeOptions);
  const filename = path.join(process.cwd(), '[eval]');
  const evalModule = new Module(filename);
  evalModule.filename = filename;
  evalModule.paths = (Module as unknown as { _nodeModulePaths: (from: string) => string[] })._nodeModulePaths(process.cwd());
  const globals = globalThis as Record<string, unknown>;
  Object.assign(globals, { require: Module.createRequire(filename), module: evalModule, exports: evalModule.exports, __filename: '[eval]', __dirname: '.' });
  silenceLoaderWarningOnce();
  const script = new vm.Script(relaunch.code, {
    filename: '[eval]',
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  } as vm.ScriptOptions);
  const result = script.runInThisContext();
  if (relaunch.print) console.log(result);
}

/** Runs a payload script other than the entry, as `node <script>` would: ES modules by import, others by require. */
function runScript(
  relativePath: string,
  format: string,
  helpers: {
    moduleImport: (relativePath: string) => (specifier: string) => Promise<unknown>;
    moduleRequire: (relativePath: string) => NodeJS.Require;
    moduleUrl: (relativePath: string) => string;
  },
): void {
  if (format === 'module') {
    void helpers.moduleImport(relativePath)(helpers.moduleUrl(relativePath));
    return;
  }
  helpers.moduleRequire(relativePath)(`./${path.posix.basename(relativePath)}`);
}

/**
 * Returns the module object of the bin script, shaped like the one Node
 * makes for `node <bin>`. The bundle makes it `require.main`, and programs
 * read its `filename`: yargs finds the program's package.json from there.
 */
function createMainModule(entryPath: string): Module {
  const mainModule = new Module('.', undefined);
  mainModule.filename = entryPath;
  mainModule.path = path.dirname(entryPath);
  mainModule.paths = (Module as unknown as { _nodeModulePaths: (from: string) => string[] })._nodeModulePaths(path.dirname(entryPath));
  return mainModule;
}

/**
 * Mounts the payload and runs the program as `node <bin>` would: `argv[1]`
 * is the bin script's path inside the payload, and every module gets its
 * own path there.
 */
export function runMain(): void {
  const index = JSON.parse(sea.getAsset(VFS_INDEX_ASSET, 'utf8')) as VfsIndex;
  if (process.env[SELF_CHECK_ENV] === index.payloadId) {
    // Compiling the program proves its asset is there and parses, without running it.
    const compiled = compileProgram(index.entry);
    process.stdout.write(`duo-sea self-check ${index.payloadId} ${Object.keys(index.files).length} code-cache=${compiled.cache}\n`);
    return;
  }

  const data = new Uint8Array(sea.getRawAsset(VFS_DATA_ASSET) as ArrayBuffer);
  const placement = preparePayloadRoot(index, data);
  const vfs = new Vfs(placement.root, index, data, placement.extracted, placement.rootIsReal);
  installFsOverlay(vfs, executableTimeMs());
  installModuleOverlay(vfs, placement.extractionError);
  installEsmHooks(vfs);
  if (placement.isTemporary) {
    process.once('exit', () => {
      vfs.writesAllowed = true;
      fs.rmSync(placement.root, { recursive: true, force: true });
    });
  }

  const requireCache = new Map<string, NodeJS.Require>();
  const moduleRequire = (relativePath: string): NodeJS.Require => {
    let moduleScopedRequire = requireCache.get(relativePath);
    if (!moduleScopedRequire) {
      moduleScopedRequire = Module.createRequire(vfs.absolute(relativePath));
      requireCache.set(relativePath, moduleScopedRequire);
    }
    return moduleScopedRequire;
  };
  const importers = new Map<string, (specifier: string) => Promise<unknown>>();
  const moduleImport = (relativePath: string): ((specifier: string) => Promise<unknown>) => {
    let importer = importers.get(relativePath);
    if (!importer) {
      importer = createImporter(vfs.absolute(relativePath));
      importers.set(relativePath, importer);
    }
    return importer;
  };
  const modulePath = (relativePath: string): string => vfs.absolute(relativePath);
  const moduleDir = (relativePath: string): string => path.dirname(vfs.absolute(relativePath));
  const moduleUrl = (relativePath: string): string => pathToFileURL(vfs.absolute(relativePath)).href;

  const entryPath = vfs.absolute(index.entry);
  // Set for every process this one starts. `-e` and `-p` are node's only in a process that the program started through
  // process.execPath, such as through the `node` shim Yarn puts on PATH. From a shell they are the program's own flags, as in `tsc -p .`.
  const startedByProgram = process.env[PARENT_PAYLOAD_ENV] === index.payloadId;
  process.env[PARENT_PAYLOAD_ENV] = index.payloadId;
  const evalRelaunch = startedByProgram ? parseEvalRelaunch(process.argv.slice(2)) : undefined;
  if (evalRelaunch) {
    runEval(evalRelaunch);
    return;
  }
  const relaunch = parseRelaunch(process.argv.slice(2), (candidate) => vfs.lookup(path.resolve(candidate))?.kind === 'file');
  const scriptPath = relaunch ? path.resolve(relaunch.script) : entryPath;
  if (relaunch && scriptPath !== entryPath) {
    applyRelaunch(relaunch, scriptPath);
    enableCompileCache();
    runScript(vfs.relative(scriptPath) ?? index.entry, formatOfPayloadFile(vfs, scriptPath), { moduleImport, moduleRequire, moduleUrl });
    return;
  }

  // Compiled before a relaunch's V8 flags are set: V8 takes the code cache only under the flags that made it.
  const program = compileProgram(entryPath);
  if (relaunch) applyRelaunch(relaunch, scriptPath);
  else process.argv[1] = entryPath;
  // After a relaunch's V8 flags, which Node's compile cache keys its entries by.
  enableCompileCache();
  const programModule = createMainModule(entryPath);
  program.run(
    moduleRequire(index.entry),
    programModule,
    programModule.exports,
    entryPath,
    path.dirname(entryPath),
    moduleUrl,
    modulePath,
    moduleDir,
    moduleRequire,
    moduleImport,
  );
}
