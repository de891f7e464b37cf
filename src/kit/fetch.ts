import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BaseSourceInput } from '../base-sources/options.js';
import { BaseSources } from '../base-sources/choose.js';
import type { BaseBinary } from '../base-sources/source.js';
import { checkEngines, toolIdentity } from '../build.js';
import { ContentCache } from '../cache.js';
import { registerCacheUser } from '../cache/users.js';
import { DuoSeaError, messageOf } from '../errors.js';
import { timeStage, type Reporter } from '../events.js';
import { normalizeOptions } from '../options.js';
import { removeAbandonedFolders } from '../output.js';
import { installForTarget } from '../stages/install.js';
import { resolvePackage, type ResolvedPackage } from '../stages/resolve.js';
import type { Host } from '../stages/self-check.js';
import { selectTargets } from '../target-selection.js';
import { findTarget, hostTargetId, type Target } from '../targets.js';
import { digestFile, writeKitChecksumList } from './files.js';
import { lockedPackages, packageKey, pointLockfileAt, type PackageLock } from './lockfile.js';
import { KIT_FILE, KIT_FORMAT_VERSION, KIT_LOCKFILES_DIR, KIT_NODE_DIR, type KitBaseBinary, type KitManifest, type KitPackage, type KitTarget } from './manifest.js';
import { addPackagesToKit, requiredPackage, type RequiredPackage } from './packages.js';

/** Prefix of the per-fetch work folder in the temporary folder; the process id follows it. */
const WORK_DIR_PREFIX = 'duo-sea-fetch-';

/** Options of `duo-sea fetch`: the inputs of a build, and the kit folder to write. */
export interface FetchKitOptions extends BaseSourceInput {
  spec: string;
  /** Folder to create; it must not exist or be empty. */
  kitDir: string;
  targets?: string[];
  nodeVersion?: string;
  withSpecs?: string[];
  cacheDir?: string;
  checksumsDir?: string;
  ignoreEngines?: boolean;
  cwd?: string;
  env?: Record<string, string | undefined>;
  host?: Host;
  report?: Reporter;
}

export interface FetchKitResult {
  kitDir: string;
  manifest: KitManifest;
  skippedTargets: { target: string; reason: string }[];
}

/** The installed tree of one target, as npm's two lockfiles record it. */
interface TargetTree {
  target: Target;
  /** package-lock.json, with the optional packages of every platform. */
  lockfile: PackageLock;
  /** The packages that npm installed for this target. */
  installed: RequiredPackage[];
}

/**
 * Gathers everything that a build of `spec` needs into a kit folder, so that
 * `duo-sea build --kit` can build it with no network. The kit contains the
 * program's tarball, the tarball of each package that npm installs for any
 * requested target, a package-lock.json per target and each Node base
 * binary. kit.json describes them, and SHA256SUMS lists every file.
 */
export async function fetchKit(input: FetchKitOptions): Promise<FetchKitResult> {
  // The kit folder is the fetch's output folder; as kitDir, normalizeOptions would read it as a kit to build from.
  const { kitDir: outDir, ...buildInputs } = input;
  const options = normalizeOptions({ ...buildInputs, outDir });
  const { report } = options;
  const kitDir = options.outDir;
  await checkKitFolderIsEmpty(kitDir);

  const cache = new ContentCache(options.cacheDir, { report });
  const unregister = await registerCacheUser(options.cacheDir, 'fetch');
  await removeAbandonedFolders(os.tmpdir(), WORK_DIR_PREFIX);
  const workDir = await mkdtemp(path.join(os.tmpdir(), `${WORK_DIR_PREFIX}${process.pid}-`));
  let stagingDir: string | undefined;
  try {
    const sources = new BaseSources(options.baseSources, { nodeVersion: options.nodeVersion, cache, report, cwd: options.cwd, checksumsDir: options.checksumsDir });
    const selection = await timeStage(report, 'targets', undefined, () => selectTargets({ requested: options.requestedTargets, nodeVersion: options.nodeVersion, sources }));
    for (const skipped of selection.skipped) report({ kind: 'target-skipped', ...skipped });
    const pkg = await timeStage(report, 'resolve', undefined, () => resolvePackage({ spec: options.spec, workDir, cwd: options.cwd }));
    checkEngines(pkg, options);

    const trees: TargetTree[] = [];
    for (const target of selection.targets) {
      trees.push(await timeStage(report, 'install', target.id, () => installTree({ pkg, target, withSpecs: options.withSpecs, workDir, cwd: options.cwd })));
    }

    stagingDir = await createStaging(kitDir);
    const staging = stagingDir;
    const packages = await timeStage(report, 'packages', undefined, () => addPackagesToKit({ kitDir: staging, required: unionOfPackages(trees), cwd: options.cwd }));
    const program = programPackage(pkg, packages);
    const targets = await writeLockfiles(staging, trees, packages);

    const baseTargets = [...selection.targets];
    const hostId = hostTargetId(options.host.platform, options.host.arch);
    if (hostId && !baseTargets.some((target) => target.id === hostId)) baseTargets.push(findTarget(hostId));
    const baseBinaries: Record<string, KitBaseBinary> = {};
    for (const target of baseTargets) {
      const binary = await timeStage(report, 'base-binary', target.id, () => sources.forTarget(target).fetch(target));
      baseBinaries[target.id] = await addBaseBinary({ kitDir: staging, target, binary, nodeVersion: options.nodeVersion });
    }

    const manifest: KitManifest = {
      kitVersion: KIT_FORMAT_VERSION,
      tool: await toolIdentity(),
      spec: options.spec,
      package: program,
      withSpecs: [...options.withSpecs],
      node: { version: options.nodeVersion },
      targets,
      baseBinaries,
      packages: packages.filter((item) => item.file !== program.file),
    };
    await writeFile(path.join(staging, KIT_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await timeStage(report, 'checksums', undefined, () => writeKitChecksumList(staging));
    await publishStaging(staging, kitDir);
    stagingDir = undefined;
    return { kitDir, manifest, skippedTargets: selection.skipped };
  } finally {
    if (stagingDir) await rm(stagingDir, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
    await unregister();
  }
}

/** Rejects a kit folder that has files, so that a fetch never mixes two kits or deletes a user's files. */
async function checkKitFolderIsEmpty(kitDir: string): Promise<void> {
  const names = await readdir(kitDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw kitFolderError(kitDir, `The kit folder ${kitDir} cannot be read: ${messageOf(error)}.`, error);
  });
  if (names.length > 0) {
    throw new DuoSeaError({
      code: 'E_INVALID_OPTION',
      stage: 'options',
      input: `--kit ${kitDir}`,
      message: `The kit folder ${kitDir} already contains files (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}).`,
      hint: 'Pass --kit with a new or empty folder, or remove the old kit first.',
    });
  }
}

function kitFolderError(kitDir: string, message: string, cause: unknown): DuoSeaError {
  return new DuoSeaError({ code: 'E_OUTPUT_FAILED', stage: 'output', input: kitDir, message, hint: 'Pass --kit with a folder that you can write.', cause });
}

/** Runs the build's install for one target, keeping npm's package-lock.json, and reads what it installed. */
async function installTree(options: { pkg: ResolvedPackage; target: Target; withSpecs: string[]; workDir: string; cwd: string }): Promise<TargetTree> {
  const { target } = options;
  const tree = await installForTarget({ pkg: options.pkg, extraSpecs: options.withSpecs, target, workDir: options.workDir, cwd: options.cwd, keepLockfile: true });
  const lockfile = JSON.parse(await readFile(path.join(tree.rootDir, 'package-lock.json'), 'utf8')) as PackageLock;
  const hidden = JSON.parse(await readFile(path.join(tree.rootDir, 'node_modules', '.package-lock.json'), 'utf8')) as PackageLock;
  const installed = lockedPackages(hidden).map((item) => requiredPackage(item, tree.rootDir));
  return { target, lockfile, installed };
}

/** Returns each package that any target installs, once. */
function unionOfPackages(trees: TargetTree[]): RequiredPackage[] {
  const byKey = new Map<string, RequiredPackage>();
  for (const tree of trees) {
    for (const item of tree.installed) byKey.set(packageKey(item.name, item.version), byKey.get(packageKey(item.name, item.version)) ?? item);
  }
  return [...byKey.values()];
}

/** Returns the kit record of the program's own tarball, which must be the one that npm pack reported. */
function programPackage(pkg: ResolvedPackage, packages: KitPackage[]): KitPackage {
  const program = packages.find((item) => item.name === pkg.name && item.version === pkg.version);
  if (program?.integrity === pkg.integrity) return program;
  throw new DuoSeaError({
    code: 'E_CHECKSUM_MISMATCH',
    stage: 'fetch',
    input: `${pkg.name}@${pkg.version}`,
    expected: pkg.integrity,
    found: program?.integrity ?? 'no tarball in the installed tree',
    message: `The installed ${pkg.name}@${pkg.version} is not the tarball that npm pack fetched.`,
    hint: 'Run the fetch again; report it if it fails the same way.',
  });
}

/** Writes each target's package-lock.json into the kit, pointed at the kit's tarballs, and returns the target records. */
async function writeLockfiles(kitDir: string, trees: TargetTree[], packages: KitPackage[]): Promise<Record<string, KitTarget>> {
  const files = new Map(packages.map((item) => [packageKey(item.name, item.version), item.file]));
  await mkdir(path.join(kitDir, KIT_LOCKFILES_DIR), { recursive: true });
  const targets: Record<string, KitTarget> = {};
  for (const tree of trees) {
    const file = `${KIT_LOCKFILES_DIR}/${tree.target.id}.json`;
    const filePath = path.join(kitDir, ...file.split('/'));
    await writeFile(filePath, `${JSON.stringify(pointLockfileAt(tree.lockfile, files, ''), null, 2)}\n`);
    const { sha256, sizeBytes } = await digestFile(filePath);
    const installed = tree.installed.map((item) => files.get(packageKey(item.name, item.version)) as string);
    targets[tree.target.id] = { lockfile: { file, sha256, sizeBytes }, packages: [...new Set(installed)].sort() };
  }
  return targets;
}

/** Copies a verified base binary from the cache into the kit's node/ folder and describes it. */
async function addBaseBinary(options: { kitDir: string; target: Target; binary: BaseBinary; nodeVersion: string }): Promise<KitBaseBinary> {
  const { kitDir, target, binary } = options;
  const file = `${KIT_NODE_DIR}/node-v${options.nodeVersion}-${target.id}${target.executableSuffix}`;
  const filePath = path.join(kitDir, ...file.split('/'));
  await mkdir(path.dirname(filePath), { recursive: true });
  await copyFile(binary.path, filePath);
  const { sha256, sizeBytes } = await digestFile(filePath);
  if (sha256 !== binary.sha256) {
    throw new DuoSeaError({
      code: 'E_CHECKSUM_MISMATCH',
      stage: 'base-binary',
      target: target.id,
      input: binary.path,
      expected: binary.sha256,
      found: sha256,
      message: `The copy of the ${target.id} base binary in the kit does not have the SHA-256 of the verified binary.`,
      hint: 'Run the fetch again; if it fails the same way, check the disk.',
    });
  }
  return { file, sha256, sizeBytes, source: binary.source, ...(binary.checksumList ? { checksumList: binary.checksumList } : {}) };
}

const STAGING_INFIX = '.duo-sea-staging-';

/** Creates a hidden folder beside the kit folder, on the same file system, so that the finished kit is moved into place by one rename. */
async function createStaging(kitDir: string): Promise<string> {
  const parent = path.dirname(kitDir);
  const prefix = `.${path.basename(kitDir)}${STAGING_INFIX}`;
  try {
    await mkdir(parent, { recursive: true });
    await removeAbandonedFolders(parent, prefix);
    return await mkdtemp(path.join(parent, `${prefix}${process.pid}-`));
  } catch (error) {
    throw kitFolderError(kitDir, `The kit folder ${kitDir} cannot be written: ${messageOf(error)}.`, error);
  }
}

/** Moves the finished kit into place; an empty kit folder is replaced. */
async function publishStaging(stagingDir: string, kitDir: string): Promise<void> {
  await checkKitFolderIsEmpty(kitDir);
  try {
    await rmdir(kitDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw kitFolderError(kitDir, `The empty kit folder ${kitDir} cannot be replaced: ${messageOf(error)}.`, error);
  }
  await rename(stagingDir, kitDir);
}
