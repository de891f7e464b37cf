import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { pinnedSha256 } from '../checksums.js';
import { DuoSeaError, messageOf } from '../errors.js';
import { CHECKSUM_LIST_FILE } from '../stages/checksum-list.js';
import { readManifestFromTarball, type ResolvedPackage } from '../stages/resolve.js';
import { allTargets, findTarget, type Target } from '../targets.js';
import { parseChecksumList } from '../verify.js';
import { digestFile } from './files.js';
import { lockfileInKit, type PackageLock } from './lockfile.js';
import { KIT_FILE, kitManifestProblems, type KitFile, type KitManifest } from './manifest.js';

/** The inputs of a build, which the kit must contain. */
export interface KitRequest {
  /** Absolute path of the kit folder. */
  dir: string;
  spec: string;
  nodeVersion: string;
  /** Targets named with --target; absent means every target of the kit. */
  requestedTargets?: Target[];
  withSpecs: string[];
  /** The host's target, whose base binary makes the SEA blobs; undefined on a host that has none. */
  hostTargetId?: string;
  checksumsDir: string;
  cwd: string;
}

/** A kit whose files a build needs have been checked against kit.json and SHA256SUMS. */
export interface OpenedKit {
  dir: string;
  manifest: KitManifest;
  /** The targets to build: those requested, else every target of the kit. */
  targets: Target[];
}

function kitInvalid(details: { input: string; message: string; hint: string; expected?: string; found?: string; cause?: unknown }): DuoSeaError {
  return new DuoSeaError({ code: 'E_KIT_INVALID', stage: 'kit', ...details });
}

function kitMismatch(details: { input: string; message: string; expected?: string; found?: string; hint: string; target?: string }): DuoSeaError {
  return new DuoSeaError({ code: 'E_KIT_MISMATCH', stage: 'kit', ...details });
}

/** Returns the absolute path of a kit file. */
export function kitPath(kitDir: string, file: string): string {
  return path.join(kitDir, ...file.split('/'));
}

/** Reads kit.json and throws, naming the file, when it is missing or not in the kit format. */
export async function readKitManifest(dir: string): Promise<KitManifest> {
  const file = path.join(dir, KIT_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw kitInvalid({
      input: file,
      message: missing ? `${dir} is not a kit: it has no ${KIT_FILE}.` : `${file} cannot be read as JSON: ${messageOf(error)}.`,
      hint: 'Pass --kit with a folder that duo-sea fetch wrote, or fetch the kit again.',
      cause: error,
    });
  }
  const problems = kitManifestProblems(parsed);
  if (problems.length > 0) {
    throw kitInvalid({ input: file, message: `${file} is not a duo-sea kit manifest: ${problems.join('; ')}.`, hint: 'Fetch the kit again with this duo-sea version.' });
  }
  return parsed as KitManifest;
}

/**
 * Opens a kit for a build: checks that it was fetched for this package,
 * Node version, `--with` packages and targets, then checks every file the
 * build will read against its SHA-256 in kit.json and in SHA256SUMS. Every
 * problem is found here, before the build installs anything.
 */
export async function openKit(request: KitRequest): Promise<OpenedKit> {
  const manifest = await readKitManifest(request.dir);
  const sums = await readKitChecksumList(request.dir);
  await checkListedFile(request.dir, sums, KIT_FILE);

  await checkPackageSpec(manifest, request);
  checkNodeVersion(manifest, request);
  checkWithSpecs(manifest, request);
  const targets = chooseTargets(manifest, request);
  const baseTargetIds = [...new Set([...targets.map((target) => target.id), ...(request.hostTargetId ? [request.hostTargetId] : [])])];
  checkHostBinary(manifest, request);

  const integrities = new Map([manifest.package, ...manifest.packages].map((item) => [item.file, item.integrity]));
  const needed = new Map<string, KitFile>([[manifest.package.file, manifest.package]]);
  for (const target of targets) {
    const record = manifest.targets[target.id];
    needed.set(record.lockfile.file, record.lockfile);
    for (const file of record.packages) needed.set(file, packageRecord(manifest, file));
  }
  for (const id of baseTargetIds) needed.set(manifest.baseBinaries[id].file, manifest.baseBinaries[id]);
  for (const file of needed.values()) await checkKitFile({ dir: request.dir, sums, file, integrity: integrities.get(file.file) });
  await checkPinnedBinaries(manifest, request, baseTargetIds);
  return { dir: request.dir, manifest, targets };
}

async function readKitChecksumList(dir: string): Promise<Map<string, string>> {
  const listPath = path.join(dir, CHECKSUM_LIST_FILE);
  let text: string;
  try {
    text = await readFile(listPath, 'utf8');
  } catch (error) {
    throw kitInvalid({ input: listPath, message: `The kit ${dir} has no readable ${CHECKSUM_LIST_FILE}: ${messageOf(error)}.`, hint: 'Copy the whole kit folder again, or fetch the kit again.', cause: error });
  }
  return new Map(parseChecksumList(text, listPath, { subfolders: true }).map((entry) => [entry.file, entry.sha256]));
}

/** Checks a file that kit.json does not describe, such as kit.json itself, against SHA256SUMS alone. */
async function checkListedFile(dir: string, sums: Map<string, string>, file: string): Promise<void> {
  const expected = sums.get(file);
  if (expected === undefined) {
    throw kitInvalid({ input: kitPath(dir, file), message: `${CHECKSUM_LIST_FILE} of the kit ${dir} does not list ${file}.`, hint: 'Fetch the kit again; its SHA256SUMS is not the one duo-sea fetch wrote.' });
  }
  const { sha256 } = await digestFile(kitPath(dir, file));
  if (sha256 !== expected) {
    throw kitInvalid({ input: kitPath(dir, file), expected, found: sha256, message: `The kit file ${file} does not match its SHA-256 in ${CHECKSUM_LIST_FILE}.`, hint: 'Copy the kit again from where it was fetched, or fetch it again.' });
  }
}

/** Checks one kit file: present, listed with the same SHA-256 in kit.json and SHA256SUMS, and with that content. */
async function checkKitFile(options: { dir: string; sums: Map<string, string>; file: KitFile; integrity?: string }): Promise<void> {
  const { dir, sums, file } = options;
  const filePath = kitPath(dir, file.file);
  if (!existsSync(filePath)) {
    throw kitInvalid({ input: filePath, message: `The kit file ${file.file} is missing from ${dir}.`, hint: 'Copy the whole kit folder again, or fetch the kit again.' });
  }
  const listed = sums.get(file.file);
  if (listed !== file.sha256) {
    throw kitInvalid({
      input: filePath,
      expected: file.sha256,
      found: listed ?? 'not listed',
      message: `${KIT_FILE} and ${CHECKSUM_LIST_FILE} of the kit ${dir} give different SHA-256 values for ${file.file}.`,
      hint: 'Fetch the kit again; one of the two files was changed.',
    });
  }
  const digests = await digestFile(filePath);
  if (digests.sha256 !== file.sha256) {
    throw kitInvalid({ input: filePath, expected: file.sha256, found: digests.sha256, message: `The kit file ${file.file} is corrupt: it does not match its SHA-256.`, hint: 'Copy the kit again from where it was fetched, or fetch it again.' });
  }
  if (options.integrity !== undefined && digests.integrity !== options.integrity) {
    throw kitInvalid({ input: filePath, expected: options.integrity, found: digests.integrity, message: `The kit file ${file.file} does not have the npm integrity that ${KIT_FILE} records.`, hint: 'Fetch the kit again.' });
  }
}

function packageRecord(manifest: KitManifest, file: string): KitFile {
  const record = [manifest.package, ...manifest.packages].find((item) => item.file === file);
  if (record) return record;
  throw kitInvalid({ input: file, message: `${KIT_FILE} lists ${file} for a target but has no record of it in "packages".`, hint: 'Fetch the kit again.' });
}

/** Returns the duo-sea fetch command that makes a kit for this build, with these targets or the requested ones. */
function fetchCommand(request: KitRequest, targetIds?: string[]): string {
  const targets = (targetIds ?? (request.requestedTargets ?? []).map((target) => target.id)).map((id) => ` --target ${id}`).join('');
  const withSpecs = request.withSpecs.map((spec) => ` --with ${spec}`).join('');
  return `duo-sea fetch ${request.spec}${targets} --node ${request.nodeVersion}${withSpecs} --kit DIR`;
}

/**
 * Accepts the spec the kit was fetched with, the package's name alone, a
 * name with a version or range that the kit's version satisfies, or a
 * tarball with the kit's integrity. A dist-tag cannot be checked offline,
 * and a tarball path is always checked, even when it is the fetch's spec.
 */
async function checkPackageSpec(manifest: KitManifest, request: KitRequest): Promise<void> {
  const { spec } = request;
  const kitPackage = `${manifest.package.name}@${manifest.package.version}`;
  const mismatch = (found: string, reason: string): DuoSeaError =>
    kitMismatch({ input: spec, expected: kitPackage, found, message: `The kit ${request.dir} contains ${kitPackage}, ${reason}.`, hint: `Build ${manifest.spec}, which the kit contains, or fetch a kit for this build with: ${fetchCommand(request)}` });

  if (spec.startsWith('.') || spec.startsWith('/') || /\.(tgz|tar\.gz)$/.test(spec)) {
    const file = path.resolve(request.cwd, spec);
    if (existsSync(file) && statSync(file).isFile()) {
      await checkTarballIntegrity(manifest, file, mismatch);
      return;
    }
    // A package folder cannot be compared offline, so the kit's tarball, which npm pack made of it at fetch time, is built.
    if (spec === manifest.spec) return;
    throw mismatch(file, `and ${file} is not a package tarball whose integrity could be compared with it`);
  }
  if (spec === manifest.spec) return;
  const at = spec.lastIndexOf('@');
  const name = at > 0 ? spec.slice(0, at) : spec;
  const range = at > 0 ? spec.slice(at + 1) : '';
  if (name !== manifest.package.name) throw mismatch(name, `not ${name}`);
  if (range === '') return;
  if (semver.validRange(range) === null) throw mismatch(spec, `and which version the tag "${range}" names cannot be looked up offline`);
  if (!semver.satisfies(manifest.package.version, range)) throw mismatch(spec, `which is not ${spec}`);
}

async function checkTarballIntegrity(manifest: KitManifest, file: string, mismatch: (found: string, reason: string) => DuoSeaError): Promise<void> {
  const { integrity } = await digestFile(file);
  if (integrity !== manifest.package.integrity) throw mismatch(`${file} (${integrity})`, `and ${file} is another tarball`);
}

function checkNodeVersion(manifest: KitManifest, request: KitRequest): void {
  if (request.nodeVersion === manifest.node.version) return;
  throw kitMismatch({
    input: `--node ${request.nodeVersion}`,
    expected: manifest.node.version,
    found: request.nodeVersion,
    message: `The kit ${request.dir} contains Node ${manifest.node.version} base binaries, not Node ${request.nodeVersion}.`,
    hint: `Leave out --node to build with Node ${manifest.node.version}, or fetch a kit for Node ${request.nodeVersion} with: ${fetchCommand(request)}`,
  });
}

function checkWithSpecs(manifest: KitManifest, request: KitRequest): void {
  const requested = [...request.withSpecs].sort();
  const fetched = [...manifest.withSpecs].sort();
  if (JSON.stringify(requested) === JSON.stringify(fetched)) return;
  const describe = (specs: string[]): string => (specs.length === 0 ? 'no --with' : specs.map((spec) => `--with ${spec}`).join(' '));
  throw kitMismatch({
    input: describe(requested),
    expected: describe(fetched),
    found: describe(requested),
    message: `The kit ${request.dir} was fetched with ${describe(fetched)}, and this build requests ${describe(requested)}.`,
    hint: `Pass the same --with options as the fetch, or fetch a kit for this build with: ${fetchCommand(request)}`,
  });
}

function chooseTargets(manifest: KitManifest, request: KitRequest): Target[] {
  const available = Object.keys(manifest.targets);
  const known = new Set(allTargets().map((target) => target.id));
  if (!request.requestedTargets) return allTargets().filter((target) => available.includes(target.id) && known.has(target.id));

  const missing = request.requestedTargets.filter((target) => !available.includes(target.id));
  if (missing.length === 0) return request.requestedTargets.map((target) => findTarget(target.id));
  const names = missing.map((target) => target.id).join(', ');
  throw kitMismatch({
    input: missing.map((target) => `--target ${target.id}`).join(' '),
    target: missing[0].id,
    expected: available.join(', '),
    found: names,
    message: `The kit ${request.dir} has no ${names}: it was fetched for ${available.join(', ')}.`,
    hint: `Leave out --target ${missing[0].id}, or fetch a kit with it: ${fetchCommand(request, [...available, ...missing.map((target) => target.id)])}`,
  });
}

function checkHostBinary(manifest: KitManifest, request: KitRequest): void {
  const hostId = request.hostTargetId;
  if (hostId === undefined || manifest.baseBinaries[hostId]) return;
  throw kitMismatch({
    input: hostId,
    target: hostId,
    expected: Object.keys(manifest.baseBinaries).join(', '),
    found: hostId,
    message: `The kit ${request.dir} has no Node binary for this ${hostId} host, which makes the SEA blobs: it has ${Object.keys(manifest.baseBinaries).join(', ')}.`,
    hint: `Fetch the kit on a ${hostId} host, or add --target ${hostId} to the fetch.`,
  });
}

/** Checks base binaries from the npm registry against the SHA-256 that this duo-sea pins, when it pins one, so a kit cannot bring another binary. */
async function checkPinnedBinaries(manifest: KitManifest, request: KitRequest, targetIds: string[]): Promise<void> {
  for (const id of targetIds) {
    const binary = manifest.baseBinaries[id];
    const base = findTarget(id).base;
    if (!base || binary.source !== `npm:${base.package}@${manifest.node.version}`) continue;
    const pinned = await pinnedSha256(request.checksumsDir, base.package, manifest.node.version, base.binaryPath);
    if (pinned === undefined || pinned === binary.sha256) continue;
    throw new DuoSeaError({
      code: 'E_CHECKSUM_MISMATCH',
      stage: 'kit',
      target: id,
      input: kitPath(request.dir, binary.file),
      expected: pinned,
      found: binary.sha256,
      message: `The kit's ${id} base binary, ${binary.source}, does not match the SHA-256 pinned in ${request.checksumsDir}.`,
      hint: 'Do not use this kit. Fetch it again from a network you trust.',
    });
  }
}

/** Returns the program's package from the kit's tarball, as resolvePackage returns it for a registry spec. */
export async function kitPackage(kit: OpenedKit): Promise<ResolvedPackage> {
  const { package: program } = kit.manifest;
  const tarballPath = kitPath(kit.dir, program.file);
  return { name: program.name, version: program.version, integrity: program.integrity, tarballPath, manifest: await readManifestFromTarball(tarballPath, kit.manifest.spec) };
}

/** Returns a target's lockfile from the kit, with absolute paths to the kit's tarballs. */
export async function kitLockfile(kit: OpenedKit, target: Target): Promise<PackageLock> {
  const record = kit.manifest.targets[target.id];
  const lock = JSON.parse(await readFile(kitPath(kit.dir, record.lockfile.file), 'utf8')) as PackageLock;
  return lockfileInKit(lock, kit.dir);
}
