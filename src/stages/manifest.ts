import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError, messageOf } from '../errors.js';
import type { ArchiveType, Target } from '../targets.js';
import { compareCodeUnits } from '../compare.js';

export const MANIFEST_FILE = 'manifest.json';

/** A file in the output folder, named by its base name. */
export interface ManifestFile {
  file: string;
  sizeBytes: number;
  sha256: string;
}

export interface ManifestArchive extends ManifestFile {
  type: ArchiveType;
}

export interface ManifestBase {
  /** Origin of the unmodified Node binary: `npm:<package>@<version>`, `mirror:<url>` or `file:<base name>`. */
  source: string;
  /** SHA-256 of the unmodified binary. */
  sha256: string;
  sizeBytes: number;
  strippedSizeBytes: number;
  /** For a mirror source: the SHASUMS256.txt that the download matched, and how its signature was checked. */
  checksumList?: ManifestChecksumList;
}

export interface ManifestChecksumList {
  url: string;
  signature: 'verified' | 'unsigned' | 'not-checked';
  /** Fingerprint of the primary key that signed the list. */
  signingKey?: string;
}

/** The code signature of a macOS executable. */
export interface ManifestSignature {
  /** `adhoc` for hashes only, written by duo-sea, or `certificate` for a signature that codesign wrote with a signing identity. */
  kind: 'adhoc' | 'certificate';
  identifier: string;
  /** SHA-256 of the CodeDirectory truncated to 20 bytes, as `codesign -dvvv` prints it. */
  cdhash: string;
}

/** Payload contents of one target, and the installed files that the build left out. */
export interface ManifestPayload {
  files: number;
  sizeBytes: number;
  /** Installed files left out: those the program does not read (see payload-trim.ts) and binaries of other platforms. */
  leftOutFiles: number;
  leftOutBytes: number;
}

export interface ManifestTarget extends ManifestFile {
  id: string;
  os: Target['os'];
  arch: Target['arch'];
  /** The smallest of `archives`. */
  archive: ManifestFile;
  /** Every archive written for the target, sorted by file name. */
  archives: ManifestArchive[];
  base: ManifestBase;
  /** Absent in manifests written before it was recorded. */
  payload?: ManifestPayload;
  /** Present for macOS targets only. */
  signature?: ManifestSignature;
  /**
   * V8 code cache of the program: `accepted` when the build made it with the
   * target's Node and the executable took it at the self-check, `rejected`
   * when the executable did not, `none` when the build could not run the
   * target's Node or --no-code-cache turned it off. Absent in manifests written before it was recorded.
   */
  codeCache?: CodeCacheState;
}

export type CodeCacheState = 'accepted' | 'rejected' | 'none';

/** The contents of `manifest.json`. It has no timestamps or absolute paths, so identical builds give identical files. */
export interface Manifest {
  schemaVersion: 1;
  tool: { name: string; version: string };
  app: { package: string; version: string; bin: string; integrity: string };
  node: { version: string };
  build: ManifestBuildInputs;
  /** Sorted by target id. */
  targets: ManifestTarget[];
}

/**
 * Build options that change the executables of every target, so that the
 * parts of a release can be checked against each other. Manifests written
 * before this field existed lack it, which means both lists are empty.
 */
export interface ManifestBuildInputs {
  /** The `--with` specs, sorted. A local path is recorded as `file:<base name>`, see manifestWithSpec. */
  with: string[];
  /** The `--node-option` values, in the order the executables get them. */
  nodeOptions: string[];
  /**
   * Other options that change the payload or the executable, as their
   * command-line flags (`--keep <glob>`, `--keep-source-maps`, `--minify`,
   * `--no-code-cache`). Absent when none was given.
   */
  flags?: string[];
}

export interface ManifestTargetInput extends ManifestFile {
  id: string;
  os: Target['os'];
  arch: Target['arch'];
  /** Every archive written; extra properties such as a `path` are left out of the manifest. */
  archives: readonly ManifestArchive[];
  base: ManifestBase;
  payload?: ManifestPayload;
  signature?: ManifestSignature;
  codeCache?: CodeCacheState;
}

export interface ManifestInput {
  tool: Manifest['tool'];
  app: Manifest['app'];
  node: Manifest['node'];
  /** Absent means no `--with` and no `--node-option`. */
  build?: ManifestBuildInputs;
  targets: readonly ManifestTargetInput[];
}

/**
 * Builds the manifest of a build. Only known fields are copied, in a fixed
 * order, so that the JSON text depends on the values alone. Throws for a
 * target without archives, a target id listed twice, a file that is not a
 * base name, or a base source that is an absolute path.
 */
export function buildManifest(input: ManifestInput): Manifest {
  const targets = input.targets.map(buildTarget).sort((left, right) => compareCodeUnits(left.id, right.id));
  targets.forEach((target, index) => {
    if (index > 0 && targets[index - 1].id === target.id) {
      throw new Error(`The manifest input lists target ${target.id} twice.`);
    }
  });

  return {
    schemaVersion: 1,
    tool: { name: input.tool.name, version: input.tool.version },
    app: {
      package: input.app.package,
      version: input.app.version,
      bin: input.app.bin,
      integrity: input.app.integrity,
    },
    node: { version: input.node.version },
    build: {
      with: (input.build?.with ?? []).map(manifestWithSpec).sort(compareCodeUnits),
      nodeOptions: [...(input.build?.nodeOptions ?? [])],
      ...(input.build?.flags?.length ? { flags: [...input.build.flags] } : {}),
    },
    targets,
  };
}

/**
 * Returns a `--with` spec as the manifest records it: an npm spec as given,
 * and a local folder or tarball as `file:<base name>`, because its path is
 * a path of the build machine.
 */
export function manifestWithSpec(spec: string): string {
  const localPath = spec.startsWith('file:') ? spec.slice('file:'.length) : spec;
  const isLocal = spec.startsWith('file:') || /^(\.{1,2}([\\/]|$)|[\\/~]|[A-Za-z]:[\\/])/.test(spec) || (/\.(tgz|tar\.gz)$/.test(spec) && !spec.includes('://'));
  if (!isLocal) return spec;
  // NOTE: two different local packages with the same base name record the same value, so assemble cannot tell them apart.
  return `file:${path.posix.basename(localPath.replaceAll('\\', '/').replace(/\/+$/, ''))}`;
}

/** Writes `manifest.json` into `outDir` with 2-space indentation and a trailing newline, and returns its path. */
export async function writeManifest(outDir: string, manifest: Manifest): Promise<string> {
  const manifestPath = path.join(outDir, MANIFEST_FILE);
  try {
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  } catch (error) {
    throw new DuoSeaError({
      code: 'E_OUTPUT_FAILED',
      stage: 'manifest',
      input: manifestPath,
      message: `Writing ${manifestPath} failed: ${messageOf(error)}.`,
      hint: `Check that ${outDir} exists and is writable.`,
      cause: error,
    });
  }
  return manifestPath;
}

function buildTarget(input: ManifestTargetInput): ManifestTarget {
  const archives = input.archives
    .map((archive) => ({ type: archive.type, ...copyFile(archive, input.id) }))
    .sort((left, right) => compareCodeUnits(left.file, right.file));
  if (archives.length === 0) {
    throw new Error(`Target ${input.id} has no archive for the manifest.`);
  }

  return {
    id: input.id,
    os: input.os,
    arch: input.arch,
    ...copyFile(input, input.id),
    archive: copyFile(smallest(archives), input.id),
    archives,
    base: {
      source: checkSource(input.base.source, input.id),
      sha256: input.base.sha256,
      sizeBytes: input.base.sizeBytes,
      strippedSizeBytes: input.base.strippedSizeBytes,
      ...(input.base.checksumList ? { checksumList: copyChecksumList(input.base.checksumList) } : {}),
    },
    ...(input.payload ? { payload: copyPayload(input.payload) } : {}),
    ...(input.codeCache ? { codeCache: input.codeCache } : {}),
    ...(input.signature ? { signature: { kind: input.signature.kind, identifier: input.signature.identifier, cdhash: input.signature.cdhash } } : {}),
  };
}

function copyPayload(payload: ManifestPayload): ManifestPayload {
  return { files: payload.files, sizeBytes: payload.sizeBytes, leftOutFiles: payload.leftOutFiles, leftOutBytes: payload.leftOutBytes };
}

function copyChecksumList(list: ManifestChecksumList): ManifestChecksumList {
  return { url: list.url, signature: list.signature, ...(list.signingKey ? { signingKey: list.signingKey } : {}) };
}

function copyFile(file: ManifestFile, targetId: string): ManifestFile {
  return { file: checkBaseName(file.file, targetId), sizeBytes: file.sizeBytes, sha256: file.sha256 };
}

/** Returns the archive with the fewest bytes, or on a tie the first by file name. */
function smallest(archives: readonly ManifestArchive[]): ManifestArchive {
  return archives.reduce((best, archive) => (archive.sizeBytes < best.sizeBytes ? archive : best));
}

function checkBaseName(file: string, targetId: string): string {
  if (file === '' || /[\\/]/.test(file)) {
    throw new Error(`Target ${targetId}: invalid file "${file}" for the manifest, which takes base names only.`);
  }
  return file;
}

/** Returns the source unless it is an absolute path, which would put a path of the build machine into the manifest. */
function checkSource(source: string, targetId: string): string {
  if (path.posix.isAbsolute(source) || path.win32.isAbsolute(source)) {
    throw new Error(`Target ${targetId}: base source "${source}" is an absolute path. Expected a source such as npm:<package>@<version>.`);
  }
  return source;
}

