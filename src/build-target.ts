import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ContentCache } from './cache.js';
import { timeStage, type Reporter } from './events.js';
import { sha256File } from './hash.js';
import { writeArchives, type ArchiveResult } from './stages/archive.js';
import type { BaseSources } from './base-sources/choose.js';
import { fetchBaseBinary, type BaseBinary } from './stages/base-binary.js';
import { makeBlob, writeProgramAsset } from './stages/blob.js';
import { makeProgramCodeCache } from './stages/code-cache.js';
import type { CodeCacheState } from './stages/manifest.js';
import { writeInjectedExecutable } from './stages/executable.js';
import { findUnsetSeaFuse } from './stages/inject.js';
import { buildPayload, type Payload } from './stages/payload.js';
import type { ManifestPayload } from './stages/manifest.js';
import { describeTrimmed } from './stages/payload-trim.js';
import type { BinChoice, ResolvedPackage } from './stages/resolve.js';
import { findLauncher, runSelfCheck, type Host } from './stages/self-check.js';
import { checkCodesignAvailable, type MachOSignature } from './stages/sign-macho.js';
import { signWindowsExecutable, type WindowsSigner } from './stages/sign-windows.js';
import { stripBaseBinary } from './stages/strip.js';
import { trimIcuData, type IcuTrimResult } from './stages/icu-trim.js';
import type { OutputCache } from './stages/output-cache.js';
import type { SharedBundles } from './stages/shared-bundle.js';
import type { SharedInstalls } from './stages/shared-install.js';
import type { ContentReader } from './stages/payload-trim.js';
import { executableName, type ArchiveType, type Target } from './targets.js';
import { detectHostLibc, muslSelfCheckSkipReason } from './host-libc.js';
import { DuoSeaError } from './errors.js';
import { readInstalledPackages, type SbomPackage } from './sbom.js';
import { kitLockfile, type OpenedKit } from './kit/open.js';

export interface TargetBuild {
  target: Target;
  executableFile: string;
  executablePath: string;
  sizeBytes: number;
  sha256: string;
  archives: ArchiveResult[];
  base: BaseBinary;
  strippedSizeBytes: number;
  selfCheck: 'passed' | { skipped: string };
  codeCache: CodeCacheState;
  /** The code signature of a macOS executable. */
  signature?: MachOSignature;
  /** npm packages inside the executable, for the SBOM. */
  packages: SbomPackage[];
  /** The payload's files and the installed files it left out. */
  payload: ManifestPayload;
}

export interface TargetBuildContext {
  pkg: ResolvedPackage;
  bin: BinChoice;
  nodeVersion: string;
  withSpecs: string[];
  nodeOptions: string[];
  builderNode: BaseBinary;
  host: Host;
  cache: ContentCache;
  checksumsDir: string;
  /** The source of each target's base binary. */
  baseSources: BaseSources;
  workDir: string;
  stagingDir: string;
  mtime: Date;
  archiveTypes?: ArchiveType[];
  cwd: string;
  report: Reporter;
  signal?: AbortSignal;
  /** Keychain identity that codesign signs macOS executables with. Without it they are signed ad-hoc. */
  macosSignIdentity?: string;
  /** Authenticode signer for Windows executables. Without it they stay unsigned. */
  windowsSigner?: WindowsSigner;
  /** The offline kit that each target's dependency tree is installed from. */
  kit?: OpenedKit;
  /** True when npm may use its cache only. */
  offline: boolean;
  /** True to keep `.map` files in the payload. */
  keepSourceMaps?: boolean;
  /** Globs of payload paths that the trim rules keep. */
  keepPatterns?: string[];
  /** True to minify the program's bundle. */
  minify?: boolean;
  /** False to leave V8 code cache out of every executable (--no-code-cache). */
  codeCache?: boolean;
  /** Languages whose ICU locale data stays in the executables; undefined keeps Node's full ICU data. */
  icuLanguages?: string[];
  /** Archives and injected executables of earlier builds. */
  outputCache: OutputCache;
  /** The bundles of this build, shared by targets with the same installed files. */
  bundles: SharedBundles;
  /** The installs of this build, shared by all targets when the tree does not depend on the target. */
  installs: SharedInstalls;
  /** Reads the installed files once for every target that shares them. */
  readContent?: ContentReader;
}

/** Returns the archive types to write for a target: the requested types that it offers, or all it offers. */
export function archiveTypesFor(target: Target, requested: readonly ArchiveType[] | undefined): ArchiveType[] {
  return requested ? target.archives.filter((type) => requested.includes(type)) : [...target.archives];
}

/**
 * Throws for a target that offers none of the requested archive types, so
 * that the build fails before any target is built. `--archive` means "these
 * types where the target offers them", so a target offering some of them
 * gets only those.
 */
export function checkArchiveTypes(targets: readonly Target[], requested: readonly ArchiveType[] | undefined): void {
  if (!requested) return;
  const unserved = targets.filter((target) => archiveTypesFor(target, requested).length === 0);
  if (unserved.length === 0) return;
  const offers = unserved.map((target) => `${target.id} offers only ${target.archives.join(', ')}`).join('; ');
  const missingTypes = [...new Set(unserved.map((target) => target.archives[0]))];
  throw new DuoSeaError({
    code: 'E_INVALID_OPTION',
    stage: 'options',
    target: unserved[0].id,
    input: requested.map((type) => `--archive ${type}`).join(' '),
    message: `None of the requested archive types (${requested.join(', ')}) is offered by ${unserved.map((target) => target.id).join(', ')}: ${offers}.`,
    hint: `Add ${missingTypes.map((type) => `--archive ${type}`).join(' ')}, or leave out --archive to write every archive.`,
  });
}

/**
 * Builds one target: install its dependency tree, pack the payload, bundle,
 * make the blob, strip the base binary, inject, check that the executable
 * starts where this host can run it, and archive it.
 */
export async function buildTarget(target: Target, context: TargetBuildContext): Promise<TargetBuild> {
  const { report, pkg, bin } = context;
  const stage = <T>(name: string, work: () => Promise<T>): Promise<T> => {
    context.signal?.throwIfAborted();
    return timeStage(report, name, target.id, work);
  };
  if (target.format === 'macho' && context.macosSignIdentity !== undefined) await checkCodesignAvailable(target, context.macosSignIdentity);

  const lockfile = context.kit ? await kitLockfile(context.kit, target) : undefined;
  const tree = await stage('install', () =>
    context.installs.install({ pkg, extraSpecs: context.withSpecs, target, workDir: context.workDir, cwd: context.cwd, offline: context.offline, lockfile }),
  );
  const packages = await readInstalledPackages(tree.rootDir, target.id);
  const packageRelative = path.relative(tree.rootDir, tree.packageDir).split(path.sep).join('/');
  const entry = `${packageRelative}/${bin.scriptPath}`;
  const payload = await stage('payload', () =>
    buildPayload({
      rootDir: tree.rootDir,
      entry,
      target,
      outDir: context.workDir,
      keepSourceMaps: context.keepSourceMaps,
      keepPatterns: context.keepPatterns,
      readContent: context.readContent,
    }),
  );
  for (const dropped of payload.droppedBinaries) {
    report({ kind: 'info', target: target.id, message: `left out ${dropped.relativePath}: ${dropped.reason}` });
  }
  if (payload.trimmed.length > 0) report({ kind: 'info', target: target.id, message: describeTrimmed(payload.trimmed) });
  for (const pattern of payload.unusedKeepPatterns) report({ kind: 'warning', target: target.id, message: `--keep ${pattern} matches no file that the payload leaves out` });

  const bundle = await stage('bundle', () =>
    context.bundles.bundle({
      rootDir: tree.rootDir,
      entryPath: path.join(tree.packageDir, ...bin.scriptPath.split('/')),
      nodeVersion: context.nodeVersion,
      targetId: target.id,
      minify: context.minify,
    }),
  );
  for (const warning of bundle.warnings) report({ kind: 'warning', target: target.id, message: `bundle: ${warning}` });

  const base = await stage('base-binary', () =>
    fetchBaseBinary({ target, nodeVersion: context.nodeVersion, cache: context.cache, checksumsDir: context.checksumsDir, report, cwd: context.cwd, sources: context.baseSources }),
  );
  const programPath = await writeProgramAsset({ workDir: context.workDir, targetId: target.id, programCode: bundle.programCode });
  // V8 code cache is made only by the target's own Node, run here natively or through an emulator, never by another
  // platform's. A musl binary needs musl's loader, so it is not run on a glibc host.
  const muslSkipReason = muslSelfCheckSkipReason(target, detectHostLibc());
  const launcher = muslSkipReason ? { skipReason: muslSkipReason } : await findLauncher(target, context.host);
  const codeCache =
    context.codeCache === false
      ? { skipped: 'turned off with --no-code-cache' }
      : await stage('code-cache', () =>
          makeProgramCodeCache({ target, launcher, nodePath: base.path, programPath, nodeOptions: context.nodeOptions, workDir: context.workDir }).catch(async (error: unknown) => {
            // A base binary that is not Node fails here first; the injector's check names that fault better.
            findUnsetSeaFuse(await readFile(base.path), target, base.path);
            throw error;
          }),
        );
  if ('skipped' in codeCache) report({ kind: 'info', target: target.id, message: `no V8 code cache: ${codeCache.skipped}` });
  // When the target's binary runs here, natively or emulated, it makes the blob too, and with it the SEA code cache of
  // the runtime script. Node options go to that run as well, since V8 takes a cache only under the flags that made it.
  const ownBuilder = 'skipReason' in launcher || 'skipped' in codeCache ? undefined : launcher;
  const blob = await stage('blob', () =>
    makeBlob({
      builderNodePath: ownBuilder ? base.path : context.builderNode.path,
      builderEmulator: ownBuilder?.command || undefined,
      mainCode: bundle.mainCode,
      programPath,
      programCachePath: 'skipped' in codeCache ? undefined : codeCache.cachePath,
      payload,
      workDir: context.workDir,
      targetId: target.id,
      useCodeCache: ownBuilder !== undefined,
      execArgv: context.nodeOptions,
    }),
  );
  const stripped = await stage('strip', () => stripBaseBinary({ basePath: base.path, baseSha256: base.sha256, target, cache: context.cache }));
  if (stripped.skippedReason && target.strip.tool !== 'none') report({ kind: 'warning', target: target.id, message: stripped.skippedReason });
  const icuLanguages = context.icuLanguages;
  let trimmed: IcuTrimResult | undefined;
  if (icuLanguages) {
    trimmed = await stage('icu', () => trimIcuData({ inputPath: stripped.path, inputSha256: stripped.sha256, target, languages: icuLanguages, cache: context.cache, baseSource: base.source }));
    report({ kind: 'info', target: target.id, message: `ICU data: kept the locales of ${icuLanguages.join(', ')}, left out ${trimmed.removedItems} items (${trimmed.zeroedBytes} bytes, now zeros)` });
  }

  const executableFile = executableName(bin.name, target);
  const executablePath = path.join(context.stagingDir, executableFile);
  const written = await writeInjectedExecutable({
    target,
    strippedPath: trimmed?.path ?? stripped.path,
    strippedSha256: trimmed?.sha256 ?? stripped.sha256,
    blob,
    executablePath,
    identifier: bin.name,
    macosSignIdentity: context.macosSignIdentity,
    windowsSigned: context.windowsSigner !== undefined,
    outputs: context.outputCache,
    stage,
    report,
  });
  const windowsSigner = context.windowsSigner;
  if (target.format === 'pe' && windowsSigner) {
    const signed = await stage('sign', () => signWindowsExecutable({ target, filePath: executablePath, signer: windowsSigner, description: bin.name, workDir: context.workDir }));
    const timestamp = windowsSigner.timestampUrl ? `timestamp from ${windowsSigner.timestampUrl}` : 'no timestamp';
    report({ kind: 'info', target: target.id, message: `signed with Authenticode (${signed.certificateTableSizeBytes}-byte certificate table, ${timestamp})` });
    if (signed.checksumRewritten) report({ kind: 'info', target: target.id, message: 'osslsigncode left a stale PE checksum, so duo-sea rewrote it' });
  }
  // An Authenticode signature changes the bytes that the executable stage hashed.
  const executableSha256 = target.format === 'pe' && windowsSigner ? await sha256File(executablePath) : written.sha256;
  const signature = written.signature;

  const checked = await stage('self-check', async (): Promise<Pick<TargetBuild, 'selfCheck' | 'codeCache'>> => {
    if ('skipReason' in launcher) {
      report({ kind: 'info', target: target.id, message: `not started here: ${launcher.skipReason}` });
      return { selfCheck: { skipped: launcher.skipReason }, codeCache: 'none' };
    }
    const { codeCache: codeCacheState } = await runSelfCheck({ executablePath, payloadId: payload.index.payloadId, target, launcher });
    if (codeCacheState === 'rejected') {
      report({ kind: 'warning', target: target.id, message: 'V8 rejected the code cache that the build made, so the executable compiles the program at every start' });
    }
    return { selfCheck: 'passed', codeCache: codeCacheState };
  });

  const archiveTypes = archiveTypesFor(target, context.archiveTypes);
  const archived = await stage('archive', () =>
    writeArchives({
      executablePath,
      entryName: `${bin.name}${target.executableSuffix}`,
      baseName: executableName(bin.name, target).slice(0, executableFile.length - target.executableSuffix.length),
      types: archiveTypes,
      outDir: context.stagingDir,
      mtime: context.mtime,
      target,
      cache: { outputs: context.outputCache },
      executableSha256,
    }),
  );
  for (const skipped of archived.skipped) report({ kind: 'warning', target: target.id, message: `no .${skipped.type}: ${skipped.reason}` });

  return {
    target,
    executableFile,
    executablePath,
    sizeBytes: (await stat(executablePath)).size,
    sha256: executableSha256,
    archives: archived.archives,
    base,
    strippedSizeBytes: stripped.sizeBytes,
    selfCheck: checked.selfCheck,
    codeCache: checked.codeCache,
    signature,
    packages,
    payload: describePayload(payload),
  };
}

function describePayload(payload: Payload): ManifestPayload {
  const leftOut = [...payload.trimmed, ...payload.droppedBinaries];
  return {
    files: Object.keys(payload.index.files).length,
    sizeBytes: payload.dataSizeBytes,
    leftOutFiles: leftOut.length,
    leftOutBytes: leftOut.reduce((sum, file) => sum + file.sizeBytes, 0),
  };
}
