import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUNDLED_CHECKSUMS_DIR } from './checksums.js';
import { DEFAULT_NODE_VERSION, DEFAULT_OUT_DIR, defaultBuildCacheDir } from './defaults.js';
import { normalizeBaseSourceOptions, type BaseSourceInput, type BaseSourceOptions } from './base-sources/options.js';
import { DuoSeaError } from './errors.js';
import { silentReporter, type Reporter } from './events.js';
import type { Host } from './stages/self-check.js';
import { prepareWindowsSigning, type WindowsSigner, type WindowsSignOptions } from './stages/sign-windows.js';
import { findTarget, type ArchiveType, type Target } from './targets.js';
import { checkOfflineSources, kitNodeVersion } from './kit/options.js';
import { globMatcher } from './stages/payload-trim.js';
import { parseIcuLocales } from './stages/icu-trim.js';

/** Options of one build, as a release pipeline passes them to the library. */
export interface BuildOptions extends BaseSourceInput {
  /** An npm spec (`name@version`), a `.tgz` made by `npm pack`, or a package folder. */
  spec: string;
  /** The `bin` entry to package. chooseBin documents the default. */
  bin?: string;
  /** Target ids; empty or absent means every target that has a base binary for the Node version. */
  targets?: string[];
  /** Node version of the base binaries, such as `26.10.0`. */
  nodeVersion?: string;
  outDir?: string;
  cacheDir?: string;
  /** Folder with the pinned base binary checksums; the one shipped with duo-sea by default. */
  checksumsDir?: string;
  /** Build even when the Node version does not satisfy the program's `engines.node`. */
  ignoreEngines?: boolean;
  /** False to leave V8 code cache out of the executables. */
  codeCache?: boolean;
  /** False to make every executable and archive again instead of copying them from the cache. */
  reuse?: boolean;
  /** Packages installed beside the program, such as a peer dependency it loads at run time. */
  withSpecs?: string[];
  /** Folder that relative paths and the project `.npmrc` are taken from. */
  cwd?: string;
  env?: Record<string, string | undefined>;
  host?: Host;
  report?: Reporter;
  signal?: AbortSignal;
  /** Fixed time for archive entries; `SOURCE_DATE_EPOCH` when set. */
  sourceDateEpochSeconds?: number;
  /** Archive types to write, out of those each target offers; all of them by default. */
  archiveTypes?: ArchiveType[];
  /** Node options every start of the executable gets, such as `--max-old-space-size=4096`. */
  nodeOptions?: string[];
  /** Keychain identity that codesign signs macOS executables with, on macOS hosts only. Without it they are signed ad-hoc. */
  macosSignIdentity?: string;
  /** Authenticode signing of Windows executables with osslsigncode. Without it they stay unsigned. */
  windowsSign?: WindowsSignOptions;
  /** Offline kit folder written by `duo-sea fetch`: the build takes the package, its dependencies and the base binaries from it, with no network. */
  kitDir?: string;
  /** True to use no network: npm takes packages from its cache, and base binaries must be in the duo-sea cache. */
  offline?: boolean;
  /** True to keep the `.map` files of the installed packages in the payload; also implied by the node option `--enable-source-maps`. */
  keepSourceMaps?: boolean;
  /** Globs of payload paths, such as `node_modules/zod/**`, that stay in the payload even when a trim rule would leave them out. */
  keepPatterns?: string[];
  /** True to minify the program's bundle (whitespace and syntax). Off by default because it changes stack traces and `Function.prototype.toString()`. */
  minify?: boolean;
  /**
   * Languages whose ICU locale data stays in the executables, such as `['en', 'de']`; English is always kept.
   * Without it the executables keep Node's full ICU data.
   */
  icuLocales?: string[];
}

export interface NormalizedOptions {
  spec: string;
  bin?: string;
  requestedTargets?: Target[];
  nodeVersion: string;
  outDir: string;
  cacheDir: string;
  checksumsDir: string;
  /** Sources of base binaries besides the npm registry. */
  baseSources: BaseSourceOptions;
  ignoreEngines: boolean;
  codeCache: boolean;
  reuse: boolean;
  withSpecs: string[];
  cwd: string;
  host: Host;
  report: Reporter;
  signal?: AbortSignal;
  mtime: Date;
  archiveTypes?: ArchiveType[];
  nodeOptions: string[];
  macosSignIdentity?: string;
  windowsSigner?: WindowsSigner;
  /** Absolute path of the offline kit. */
  kitDir?: string;
  /** True with --offline, and with --kit, whose builds use no network either. */
  offline: boolean;
  keepSourceMaps: boolean;
  keepPatterns: string[];
  minify: boolean;
  /** Sorted languages whose ICU locale data stays, English included; undefined keeps all. */
  icuLanguages?: string[];
}

/** Entry time used when SOURCE_DATE_EPOCH is not set: 1985-10-26, the time npm gives files in package tarballs. */
const DEFAULT_ARCHIVE_EPOCH_SECONDS = 499_162_500;

function invalidOption(option: string, value: string, message: string, hint: string): DuoSeaError {
  return new DuoSeaError({ code: 'E_INVALID_OPTION', stage: 'options', input: `${option} ${value}`, message, hint });
}

/**
 * Rejects an output folder inside the package folder given as the spec: the
 * next build would pack the files of the previous one into the program,
 * because npm pack takes every file that package.json "files" allows.
 */
function checkOutOutsidePackage(spec: string, outDir: string, cwd: string): void {
  // resolvePackage takes a spec that starts with `.`, `/` or a drive letter as a path, and any other spec as an npm spec.
  if (!/^(\.|\/|[A-Za-z]:[\\/])/.test(spec)) return;
  const packageDir = path.resolve(cwd, spec);
  if (!existsSync(packageDir) || !statSync(packageDir).isDirectory()) return;
  const relative = path.relative(packageDir, outDir);
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return;
  throw invalidOption(
    '--out',
    outDir,
    `The output folder ${outDir} is inside the package folder ${packageDir}, so the next build would pack this build's files into the executable.`,
    `Pass --out with a folder outside ${packageDir}, such as --out ${path.join(path.dirname(packageDir), `${path.basename(packageDir)}-dist`)}.`,
  );
}

/** Applies the defaults and checks every option, without changing the caller's object. */
export function normalizeOptions(options: BuildOptions): NormalizedOptions {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const host = options.host ?? { platform: process.platform, arch: process.arch };

  if (!options.spec || options.spec.trim() === '') {
    throw invalidOption('<package>', '""', 'No package was given.', 'Pass an npm spec such as name@version, a .tgz or a package folder.');
  }
  const kitDir = options.kitDir === undefined ? undefined : path.resolve(cwd, options.kitDir);
  const nodeVersion = (options.nodeVersion ?? (kitDir && kitNodeVersion(kitDir)) ?? DEFAULT_NODE_VERSION).replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+$/.test(nodeVersion)) {
    throw invalidOption('--node', nodeVersion, `"${nodeVersion}" is not a Node version.`, 'Pass an exact version such as 26.10.0.');
  }
  if (Number(nodeVersion.split('.')[0]) < 22) {
    throw invalidOption('--node', nodeVersion, `Node ${nodeVersion} is too old: duo-sea supports Node 22 and later.`, 'Pass --node 22.23.3 or newer.');
  }

  const knownArchiveTypes: ArchiveType[] = ['tar.gz', 'tar.xz', 'zip'];
  for (const type of options.archiveTypes ?? []) {
    if (!knownArchiveTypes.includes(type)) {
      throw invalidOption('--archive', type, `Unknown archive type "${type}".`, `Use one of: ${knownArchiveTypes.join(', ')}.`);
    }
  }
  for (const option of options.nodeOptions ?? []) {
    if (!option.startsWith('-')) {
      throw invalidOption('--node-option', option, `"${option}" is not a Node option.`, 'Pass options in their command-line form, such as --node-option=--max-old-space-size=4096.');
    }
  }
  if (options.checksumsDir !== undefined && !existsSync(path.resolve(cwd, options.checksumsDir))) {
    throw invalidOption('--checksums', options.checksumsDir, `The checksums folder ${path.resolve(cwd, options.checksumsDir)} does not exist.`, 'Pass the folder that contains node-v<version>.sha256 files, or leave out --checksums.');
  }
  for (const pattern of options.keepPatterns ?? []) globMatcher(pattern);
  if (options.macosSignIdentity !== undefined && options.macosSignIdentity.trim() === '') {
    throw invalidOption('--macos-sign-identity', '""', 'The signing identity is empty.', 'Pass the name or SHA-1 hash of a codesigning identity, as security find-identity -v -p codesigning lists them.');
  }
  const requested = options.targets && options.targets.length > 0 ? [...new Set(options.targets)] : undefined;
  const epochText = env.SOURCE_DATE_EPOCH;
  if (options.sourceDateEpochSeconds === undefined && epochText !== undefined && epochText !== '' && !/^\d+$/.test(epochText)) {
    // The reproducible-builds specification requires tools to fail on a malformed value rather than ignore it.
    throw invalidOption('SOURCE_DATE_EPOCH', epochText, `SOURCE_DATE_EPOCH="${epochText}" is not a whole number of seconds.`, 'Set it to a Unix time such as 1700000000, or unset it.');
  }
  const epochSeconds = options.sourceDateEpochSeconds ?? (epochText ? Number(epochText) : DEFAULT_ARCHIVE_EPOCH_SECONDS);
  const outDir = path.resolve(cwd, options.outDir ?? DEFAULT_OUT_DIR);
  checkOutOutsidePackage(options.spec, outDir, cwd);
  // A kit build ignores NODEJS_ORG_MIRROR, since the kit brings the base binaries.
  const baseSources = normalizeBaseSourceOptions(options, kitDir ? {} : env, cwd);
  const offline = options.offline === true || kitDir !== undefined;
  checkOfflineSources({ kitDir, offline, baseSources });

  return {
    spec: options.spec,
    bin: options.bin,
    requestedTargets: requested?.map(findTarget),
    nodeVersion,
    outDir,
    cacheDir: path.resolve(cwd, options.cacheDir ?? defaultBuildCacheDir({ env, platform: process.platform, homeDir: os.homedir() })),
    checksumsDir: options.checksumsDir ? path.resolve(cwd, options.checksumsDir) : BUNDLED_CHECKSUMS_DIR,
    baseSources,
    ignoreEngines: options.ignoreEngines ?? false,
    codeCache: options.codeCache ?? true,
    reuse: options.reuse ?? true,
    withSpecs: options.withSpecs ?? [],
    cwd,
    host,
    report: options.report ?? silentReporter,
    signal: options.signal,
    mtime: new Date(epochSeconds * 1000),
    archiveTypes: options.archiveTypes && options.archiveTypes.length > 0 ? [...options.archiveTypes] : undefined,
    nodeOptions: [...(options.nodeOptions ?? [])],
    macosSignIdentity: options.macosSignIdentity,
    windowsSigner: options.windowsSign ? prepareWindowsSigning(options.windowsSign, { env, cwd }) : undefined,
    kitDir,
    offline,
    keepSourceMaps: options.keepSourceMaps === true || (options.nodeOptions ?? []).includes('--enable-source-maps'),
    keepPatterns: [...(options.keepPatterns ?? [])],
    minify: options.minify === true,
    icuLanguages: options.icuLocales === undefined ? undefined : parseIcuLocales(options.icuLocales.join(',')),
  };
}
