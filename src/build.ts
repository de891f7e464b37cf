import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { ContentCache } from './cache.js';
import { buildTarget, checkArchiveTypes, type TargetBuild, type TargetBuildContext } from './build-target.js';
import { DuoSeaError } from './errors.js';
import { timeStage } from './events.js';
import { sha256File } from './hash.js';
import { normalizeOptions, type BuildOptions, type NormalizedOptions } from './options.js';
import { OutputStaging, removeAbandonedFolders } from './output.js';
import { BaseSources } from './base-sources/choose.js';
import { fetchBaseBinary, type BaseBinary } from './stages/base-binary.js';
import { SBOM_FILE, buildSbom, mergePackages, writeSbom } from './sbom.js';
import { CHECKSUM_LIST_FILE, writeChecksumList } from './stages/checksum-list.js';
import { writeInstallScripts } from './stages/install-scripts.js';
import { MANIFEST_FILE, buildManifest, writeManifest, type Manifest, type ManifestBuildInputs } from './stages/manifest.js';
import { chooseBin, resolvePackage, type ResolvedPackage } from './stages/resolve.js';
import { SIZE_REPORT_JSON_FILE, SIZE_REPORT_MARKDOWN_FILE, buildSizeReport, writeSizeReport, type SizeReport } from './stages/size-report.js';
import { checkNodeOptions } from './stages/self-check.js';
import { OutputCache } from './stages/output-cache.js';
import { SharedBundles } from './stages/shared-bundle.js';
import { compareCodeUnits } from './compare.js';
import { SharedInstalls } from './stages/shared-install.js';
import { createContentReader } from './stages/payload.js';
import { selectTargets } from './target-selection.js';
import { findTarget, hostTargetId, type Target } from './targets.js';
import { registerCacheUser } from './cache/users.js';
import { KitBaseSource } from './kit/base-source.js';
import { kitPackage, openKit, type OpenedKit } from './kit/open.js';

/** Prefix of the per-build work folder in the temporary folder; the process id follows it. */
const WORK_DIR_PREFIX = 'duo-sea-build-';

export interface BuildResult {
  outDir: string;
  manifest: Manifest;
  sizeReport: SizeReport;
  targets: TargetBuild[];
  skippedTargets: { target: string; reason: string }[];
  /** Every file written into the output folder, by name. */
  files: string[];
}

/** Returns duo-sea's own name and version, for the manifest. */
export async function toolIdentity(): Promise<{ name: string; version: string }> {
  const manifestPath = fileURLToPath(new URL('../package.json', import.meta.url));
  const { name, version } = JSON.parse(await readFile(manifestPath, 'utf8')) as { name: string; version: string };
  return { name, version };
}

/**
 * Returns the SHA-256 of duo-sea's own compiled code (every file below
 * lib/), so that the output cache keys change with any change to the code
 * that makes executables and archives, not only at a new version.
 */
export async function toolCodeHash(libDir: string = fileURLToPath(new URL('.', import.meta.url))): Promise<string> {
  const files = (await readdir(libDir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort(compareCodeUnits);
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${path.relative(libDir, file)}\0`).update(await readFile(file));
  return hash.digest('hex');
}

/** Rejects a Node version outside the program's `engines.node`, unless engines are ignored. */
export function checkEngines(pkg: ResolvedPackage, options: Pick<NormalizedOptions, 'nodeVersion' | 'ignoreEngines'>): void {
  const range = pkg.manifest.engines?.node;
  if (!range || options.ignoreEngines) return;
  if (semver.satisfies(options.nodeVersion, range, { includePrerelease: true })) return;
  throw new DuoSeaError({
    code: 'E_ENGINES',
    stage: 'resolve',
    input: `--node ${options.nodeVersion}`,
    expected: range,
    found: options.nodeVersion,
    message: `${pkg.name}@${pkg.version} requires Node ${range} (engines.node), and the base binaries are Node ${options.nodeVersion}.`,
    hint: 'Pass a --node version in that range, or --ignore-engines to build anyway.',
  });
}

/**
 * Returns how many targets build at once: one per CPU that this process may
 * use, at least 1 and at most one per target.
 * NOTE: each running target keeps two or three copies of its executable in
 * memory while it injects and checks it (about 120 MiB each for Node 26 on
 * linux-x64). xz with its 64 MiB dictionary needs about 675 MiB more. A host
 * with many CPUs and little memory may therefore need fewer, and there is
 * no option to lower it yet.
 */
export function targetConcurrency(targetCount: number, availableParallelism: number = os.availableParallelism()): number {
  return Math.max(1, Math.min(availableParallelism, targetCount));
}

/** Returns the options besides --with and --node-option that change the executables, as the flags that set them. */
export function buildFlags(options: Pick<NormalizedOptions, 'keepPatterns' | 'keepSourceMaps' | 'minify' | 'codeCache' | 'nodeOptions' | 'icuLanguages'>): string[] {
  // Sorted and without repeats: the order of --keep patterns does not change what they keep.
  const flags = [...new Set(options.keepPatterns)].sort(compareCodeUnits).map((pattern) => `--keep ${pattern}`);
  // --enable-source-maps keeps the maps too, and the manifest records it among the node options.
  if (options.keepSourceMaps && !options.nodeOptions.includes('--enable-source-maps')) flags.push('--keep-source-maps');
  if (options.minify) flags.push('--minify');
  if (!options.codeCache) flags.push('--no-code-cache');
  if (options.icuLanguages) flags.push(`--icu-locales ${options.icuLanguages.join(',')}`);
  return flags;
}

/** Runs the per-target builds, as many at a time as targetConcurrency allows. */
async function buildTargets(context: TargetBuildContext, targets: readonly Target[]): Promise<TargetBuild[]> {
  const results: TargetBuild[] = new Array(targets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const position = next++;
      results[position] = await buildTarget(targets[position], context);
    }
  };
  const workers = Array.from({ length: targetConcurrency(targets.length) }, () => worker());
  await Promise.all(workers);
  return results;
}

async function writeReports(options: {
  staging: OutputStaging;
  builds: TargetBuild[];
  pkg: ResolvedPackage;
  binName: string;
  nodeVersion: string;
  buildInputs: ManifestBuildInputs;
  mtime: Date;
}): Promise<{ manifest: Manifest; sizeReport: SizeReport; files: string[] }> {
  const { staging, builds, pkg } = options;
  const tool = await toolIdentity();
  const manifest = buildManifest({
    tool,
    app: { package: pkg.name, version: pkg.version, bin: options.binName, integrity: pkg.integrity },
    node: { version: options.nodeVersion },
    build: options.buildInputs,
    targets: builds.map((build) => ({
      id: build.target.id,
      os: build.target.os,
      arch: build.target.arch,
      file: build.executableFile,
      sizeBytes: build.sizeBytes,
      sha256: build.sha256,
      archives: build.archives,
      base: { source: build.base.source, sha256: build.base.sha256, sizeBytes: build.base.sizeBytes, strippedSizeBytes: build.strippedSizeBytes, checksumList: build.base.checksumList },
      payload: build.payload,
      codeCache: build.codeCache,
      signature: build.signature,
    })),
  });
  await writeManifest(staging.stagingDir, manifest);

  const sizeReport = buildSizeReport(
    builds.map((build) => ({
      id: build.target.id,
      baseRawBytes: build.base.sizeBytes,
      baseStrippedBytes: build.strippedSizeBytes,
      executableBytes: build.sizeBytes,
      archives: build.archives,
      leftOut: { files: build.payload.leftOutFiles, sizeBytes: build.payload.leftOutBytes },
    })),
  );
  await writeSizeReport(staging.stagingDir, sizeReport);

  const sbom = buildSbom({
    app: { package: pkg.name, version: pkg.version, integrity: pkg.integrity },
    node: { version: options.nodeVersion },
    tool,
    targetIds: manifest.targets.map((target) => target.id),
    packages: mergePackages(builds.map((build) => build.packages)),
    timestamp: options.mtime,
  });
  await writeSbom(staging.stagingDir, sbom);

  const listed = [];
  for (const build of builds) {
    listed.push({ file: build.executableFile, sha256: build.sha256 });
    for (const archive of build.archives) listed.push({ file: archive.file, sha256: archive.sha256 });
  }
  for (const file of [MANIFEST_FILE, SIZE_REPORT_JSON_FILE, SIZE_REPORT_MARKDOWN_FILE, SBOM_FILE]) {
    listed.push({ file, sha256: await sha256File(staging.path(file)) });
  }
  listed.push(...(await writeInstallScripts(staging.stagingDir, builds.map((build) => build.target))));
  await writeChecksumList(staging.stagingDir, listed);
  return { manifest, sizeReport, files: [...listed.map((entry) => entry.file), CHECKSUM_LIST_FILE].sort() };
}

/**
 * Builds one executable per target from a published Node program, with
 * archives, SHA256SUMS, manifest.json and a size report. Nothing appears in
 * the output folder unless every target succeeds.
 */
export async function build(input: BuildOptions): Promise<BuildResult> {
  const options = normalizeOptions(input);
  const { report } = options;
  const kit = options.kitDir ? await timeStage(report, 'kit', undefined, () => openBuildKit(options, options.kitDir as string)) : undefined;
  // An offline build without a kit has nowhere to fetch a corrupt cache entry from, so it names the entry instead.
  const cache = new ContentCache(options.cacheDir, { report, corruptEntries: options.offline && !kit ? 'fail' : 'remove' });
  const unregister = await registerCacheUser(options.cacheDir, 'build');
  await removeAbandonedFolders(os.tmpdir(), WORK_DIR_PREFIX);
  const workDir = await mkdtemp(path.join(os.tmpdir(), `${WORK_DIR_PREFIX}${process.pid}-`));
  let staging: OutputStaging | undefined;
  try {
    const sourceContext = { nodeVersion: options.nodeVersion, cache, report, cwd: options.cwd, offline: options.offline };
    const sources = new BaseSources(options.baseSources, { ...sourceContext, checksumsDir: options.checksumsDir, kit: kit && new KitBaseSource(kit, sourceContext) });
    const requested = kit?.targets ?? options.requestedTargets;
    const selection = await timeStage(report, 'targets', undefined, () => selectTargets({ requested, nodeVersion: options.nodeVersion, sources }));
    for (const skipped of selection.skipped) report({ kind: 'target-skipped', ...skipped });
    checkArchiveTypes(selection.targets, options.archiveTypes);
    for (const unused of sources.unusedFiles(selection.targets, hostTargetId(options.host.platform, options.host.arch))) {
      report({ kind: 'warning', message: `the --node-binary file for ${unused} is not used, because ${unused} is not built` });
    }

    const pkg = await timeStage(report, 'resolve', undefined, () =>
      kit ? kitPackage(kit) : resolvePackage({ spec: options.spec, workDir, cwd: options.cwd, offline: options.offline }),
    );
    const bin = chooseBin(pkg.manifest, options.bin);
    checkEngines(pkg, options);

    const builderNode = await timeStage(report, 'builder-node', undefined, () => fetchBuilderNode(options, cache, sources));
    await checkNodeOptions({ nodePath: builderNode.path, nodeVersion: options.nodeVersion, nodeOptions: options.nodeOptions });
    staging = await OutputStaging.create(options.outDir);
    const activeStaging = staging;
    options.signal?.addEventListener('abort', () => activeStaging.discardSync(), { once: true });

    const context: TargetBuildContext = {
      pkg,
      bin,
      nodeVersion: options.nodeVersion,
      withSpecs: options.withSpecs,
      nodeOptions: options.nodeOptions,
      builderNode,
      host: options.host,
      cache,
      checksumsDir: options.checksumsDir,
      baseSources: sources,
      workDir,
      stagingDir: staging.stagingDir,
      mtime: options.mtime,
      archiveTypes: options.archiveTypes,
      cwd: options.cwd,
      report,
      signal: options.signal,
      macosSignIdentity: options.macosSignIdentity,
      windowsSigner: options.windowsSigner,
      kit,
      offline: options.offline,
      keepSourceMaps: options.keepSourceMaps,
      keepPatterns: options.keepPatterns,
      minify: options.minify,
      codeCache: options.codeCache,
      icuLanguages: options.icuLanguages,
      outputCache: new OutputCache(cache, { toolVersion: `${(await toolIdentity()).version}+${(await toolCodeHash()).slice(0, 16)}`, report, reuse: options.reuse }),
      bundles: new SharedBundles(report),
      installs: new SharedInstalls(report),
      readContent: createContentReader(),
    };
    const builds = await buildTargets(context, selection.targets);
    const buildInputs = { with: options.withSpecs, nodeOptions: options.nodeOptions, flags: buildFlags(options) };
    const reports = await writeReports({ staging, builds, pkg, binName: bin.name, nodeVersion: options.nodeVersion, buildInputs, mtime: options.mtime });
    options.signal?.throwIfAborted();
    await staging.publish(reports.files);
    return { outDir: options.outDir, ...reports, targets: builds, skippedTargets: selection.skipped };
  } finally {
    await staging?.discard();
    await rm(workDir, { recursive: true, force: true });
    await unregister();
  }
}

/** Opens the kit of a `--kit` build, checking it against the build's options before anything else runs. */
function openBuildKit(options: NormalizedOptions, kitDir: string): Promise<OpenedKit> {
  return openKit({
    dir: kitDir,
    spec: options.spec,
    nodeVersion: options.nodeVersion,
    requestedTargets: options.requestedTargets,
    withSpecs: options.withSpecs,
    hostTargetId: hostTargetId(options.host.platform, options.host.arch),
    checksumsDir: options.checksumsDir,
    cwd: options.cwd,
  });
}

/** Fetches the Node binary that makes the blobs: the host's own build of the target Node version. */
async function fetchBuilderNode(options: NormalizedOptions, cache: ContentCache, sources: BaseSources): Promise<BaseBinary> {
  const hostId = hostTargetId(options.host.platform, options.host.arch);
  if (!hostId) {
    throw new DuoSeaError({
      code: 'E_NO_BASE_BINARY',
      stage: 'builder-node',
      input: `${options.host.platform}-${options.host.arch}`,
      message: `duo-sea has no Node binary for this ${options.host.platform}-${options.host.arch} host, and it needs one of Node ${options.nodeVersion} to make the SEA blobs.`,
      hint: 'Run the build on linux-x64, linux-arm64, darwin-x64, darwin-arm64 or win-x64.',
    });
  }
  return fetchBaseBinary({
    target: findTarget(hostId),
    nodeVersion: options.nodeVersion,
    cache,
    checksumsDir: options.checksumsDir,
    report: options.report,
    cwd: options.cwd,
    sources,
  });
}
