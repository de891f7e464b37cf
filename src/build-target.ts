import { chmod, copyFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ContentCache } from './cache.js';
import { timeStage, type Reporter } from './events.js';
import { sha256File } from './hash.js';
import { writeArchives, type ArchiveResult } from './stages/archive.js';
import type { BaseSources } from './base-sources/choose.js';
import { fetchBaseBinary, type BaseBinary } from './stages/base-binary.js';
import { makeBlob } from './stages/blob.js';
import { bundleProgram } from './stages/bundle.js';
import { injectBlob } from './stages/inject.js';
import { installForTarget } from './stages/install.js';
import { buildPayload } from './stages/payload.js';
import type { BinChoice, ResolvedPackage } from './stages/resolve.js';
import { findLauncher, runSelfCheck, type Host } from './stages/self-check.js';
import { finishAfterInjection, prepareForInjection } from './stages/sign.js';
import { checkCodesignAvailable, type MachOSignature } from './stages/sign-macho.js';
import { signWindowsExecutable, type WindowsSigner } from './stages/sign-windows.js';
import { stripBaseBinary } from './stages/strip.js';
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
  /** The code signature of a macOS executable. */
  signature?: MachOSignature;
  /** npm packages inside the executable, for the SBOM. */
  packages: SbomPackage[];
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
    installForTarget({ pkg, extraSpecs: context.withSpecs, target, workDir: context.workDir, cwd: context.cwd, offline: context.offline, lockfile }),
  );
  const packages = await readInstalledPackages(tree.rootDir, target.id);
  const packageRelative = path.relative(tree.rootDir, tree.packageDir).split(path.sep).join('/');
  const entry = `${packageRelative}/${bin.scriptPath}`;
  const payload = await stage('payload', () => buildPayload({ rootDir: tree.rootDir, entry, target, outDir: context.workDir }));
  for (const dropped of payload.droppedBinaries) {
    report({ kind: 'info', target: target.id, message: `left out ${dropped.relativePath}: ${dropped.reason}` });
  }

  const bundle = await stage('bundle', () =>
    bundleProgram({ rootDir: tree.rootDir, entryPath: path.join(tree.packageDir, ...bin.scriptPath.split('/')), nodeVersion: context.nodeVersion, targetId: target.id }),
  );
  for (const warning of bundle.warnings) report({ kind: 'warning', target: target.id, message: `bundle: ${warning}` });

  // V8 code cache stays off. Its bytes depend on the hash seed that V8 picks at random in each process, so two builds
  // would differ, and it would cover only the runtime script: srt --version measured no faster with it (255 ms without,
  // 291 ms with, 20 runs each on a loaded 2-core VM). A cache made with a fixed --hash-seed is rejected at run time.
  const useCodeCache = false;
  const blob = await stage('blob', () =>
    makeBlob({
      builderNodePath: context.builderNode.path,
      mainCode: bundle.mainCode,
      programCode: bundle.programCode,
      payload,
      workDir: context.workDir,
      targetId: target.id,
      useCodeCache,
      execArgv: context.nodeOptions,
    }),
  );
  const base = await stage('base-binary', () =>
    fetchBaseBinary({ target, nodeVersion: context.nodeVersion, cache: context.cache, checksumsDir: context.checksumsDir, report, cwd: context.cwd, sources: context.baseSources }),
  );
  const stripped = await stage('strip', () => stripBaseBinary({ basePath: base.path, baseSha256: base.sha256, target, cache: context.cache }));
  if (stripped.skippedReason && target.strip.tool !== 'none') report({ kind: 'warning', target: target.id, message: stripped.skippedReason });

  const executableFile = executableName(bin.name, target);
  const executablePath = path.join(context.stagingDir, executableFile);
  await copyFile(stripped.path, executablePath);
  await chmod(executablePath, 0o755);
  const notes = await stage('unsign', () => prepareForInjection(target, executablePath));
  for (const note of notes) report({ kind: note.level, target: target.id, message: note.message });
  const injected = await stage('inject', () => injectBlob({ basePath: stripped.path, blobPath: blob.blobPath, blob: blob.blob, outputPath: executablePath, target }));
  for (const warning of injected.warnings) report({ kind: 'warning', target: target.id, message: `postject: ${warning}` });
  const signature = await stage(target.format === 'macho' ? 'sign' : 'checksum', () =>
    finishAfterInjection(target, executablePath, { identifier: bin.name, signIdentity: context.macosSignIdentity }),
  );
  const windowsSigner = context.windowsSigner;
  if (target.format === 'pe' && windowsSigner) {
    const signed = await stage('sign', () => signWindowsExecutable({ target, filePath: executablePath, signer: windowsSigner, description: bin.name, workDir: context.workDir }));
    const timestamp = windowsSigner.timestampUrl ? `timestamp from ${windowsSigner.timestampUrl}` : 'no timestamp';
    report({ kind: 'info', target: target.id, message: `signed with Authenticode (${signed.certificateTableSizeBytes}-byte certificate table, ${timestamp})` });
    if (signed.checksumRewritten) report({ kind: 'info', target: target.id, message: 'osslsigncode left a stale PE checksum, so duo-sea rewrote it' });
  }

  const selfCheck = await stage('self-check', async (): Promise<TargetBuild['selfCheck']> => {
    const muslSkipReason = muslSelfCheckSkipReason(target, detectHostLibc());
    const launcher = muslSkipReason ? { skipReason: muslSkipReason } : await findLauncher(target, context.host);
    if ('skipReason' in launcher) {
      report({ kind: 'info', target: target.id, message: `not started here: ${launcher.skipReason}` });
      return { skipped: launcher.skipReason };
    }
    await runSelfCheck({ executablePath, payloadId: payload.index.payloadId, target, launcher });
    return 'passed';
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
    }),
  );
  for (const skipped of archived.skipped) report({ kind: 'warning', target: target.id, message: `no .${skipped.type}: ${skipped.reason}` });

  return {
    target,
    executableFile,
    executablePath,
    sizeBytes: (await stat(executablePath)).size,
    sha256: await sha256File(executablePath),
    archives: archived.archives,
    base,
    strippedSizeBytes: stripped.sizeBytes,
    selfCheck,
    signature,
    packages,
  };
}
