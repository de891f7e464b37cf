import type { ChecksumListRecord } from '../base-sources/source.js';

/** The kit's description of itself, at the top of the kit folder. */
export const KIT_FILE = 'kit.json';
/** Folder of the package tarballs: the program's and every dependency's. */
export const KIT_PACKAGES_DIR = 'packages';
/** Folder of the per-target package-lock.json files. */
export const KIT_LOCKFILES_DIR = 'lockfiles';
/** Folder of the Node base binaries. */
export const KIT_NODE_DIR = 'node';
/** Version of the kit.json format; a kit of another version is rejected. */
export const KIT_FORMAT_VERSION = 1;

/** A file of the kit. */
export interface KitFile {
  /** Path relative to the kit folder, with `/` separators. */
  file: string;
  sha256: string;
  sizeBytes: number;
}

/** A package tarball of the kit, with the integrity that npm's lockfile records for it. */
export interface KitPackage extends KitFile {
  name: string;
  version: string;
  /** `sha512-<base64>` of the tarball, as npm records it. */
  integrity: string;
}

/** A Node base binary of the kit, as the build's base binary source delivered it. */
export interface KitBaseBinary extends KitFile {
  /** Where the binary came from, as the manifest records it: `npm:<package>@<version>`, `mirror:<url>` or `file:<base name>`. */
  source: string;
  checksumList?: ChecksumListRecord;
}

/** The files of a kit for one target. */
export interface KitTarget {
  /** npm's package-lock.json for the target, whose kit packages have `file:packages/<file>` as `resolved`. */
  lockfile: KitFile;
  /** Kit files of the packages that npm installs for this target, the program's tarball among them. */
  packages: string[];
}

export interface KitManifest {
  kitVersion: typeof KIT_FORMAT_VERSION;
  tool: { name: string; version: string };
  /** The package spec that `duo-sea fetch` was given. */
  spec: string;
  /** The program's own tarball. */
  package: KitPackage;
  /** Packages installed beside the program (`--with`), as given. */
  withSpecs: string[];
  node: { version: string };
  /** Target ids the kit can build, with what each needs. */
  targets: Record<string, KitTarget>;
  /** Base binaries by target id: each target's, and the one of the host that fetched the kit, which makes the SEA blobs. */
  baseBinaries: Record<string, KitBaseBinary>;
  /** Every dependency tarball, for all targets together, sorted by file. */
  packages: KitPackage[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True for a kit path with `/` separators that stays inside the kit. */
export function isKitPath(value: unknown): value is string {
  return typeof value === 'string' && !value.includes('\\') && value.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

function fileProblems(value: unknown, where: string): string[] {
  if (!isObject(value)) return [`${where} is not an object`];
  const problems: string[] = [];
  if (!isKitPath(value.file)) problems.push(`${where}.file is not a path inside the kit`);
  if (typeof value.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(value.sha256)) problems.push(`${where}.sha256 is not a SHA-256`);
  if (typeof value.sizeBytes !== 'number') problems.push(`${where}.sizeBytes is not a number`);
  return problems;
}

function packageProblems(value: unknown, where: string): string[] {
  const problems = fileProblems(value, where);
  if (!isObject(value)) return problems;
  for (const field of ['name', 'version', 'integrity']) {
    if (typeof value[field] !== 'string') problems.push(`${where}.${field} is not a string`);
  }
  return problems;
}

function targetProblems(value: unknown, where: string): string[] {
  if (!isObject(value)) return [`${where} is not an object`];
  const problems = fileProblems(value.lockfile, `${where}.lockfile`);
  if (!Array.isArray(value.packages) || !value.packages.every(isKitPath)) problems.push(`${where}.packages is not a list of kit paths`);
  return problems;
}

/** Returns every field of a parsed kit.json that does not have the kit format, each with its path; empty when it has. */
export function kitManifestProblems(value: unknown): string[] {
  if (!isObject(value)) return ['the file is not a JSON object'];
  if (value.kitVersion !== KIT_FORMAT_VERSION) return [`kitVersion is ${JSON.stringify(value.kitVersion)}, not ${KIT_FORMAT_VERSION}`];
  const problems: string[] = [];
  if (typeof value.spec !== 'string') problems.push('spec is not a string');
  problems.push(...packageProblems(value.package, 'package'));
  if (!Array.isArray(value.withSpecs) || !value.withSpecs.every((spec) => typeof spec === 'string')) problems.push('withSpecs is not a list of strings');
  if (!isObject(value.node) || typeof value.node.version !== 'string') problems.push('node.version is not a string');
  if (!isObject(value.targets)) problems.push('targets is not an object');
  else for (const [id, target] of Object.entries(value.targets)) problems.push(...targetProblems(target, `targets.${id}`));
  if (!isObject(value.baseBinaries)) problems.push('baseBinaries is not an object');
  else for (const [id, binary] of Object.entries(value.baseBinaries)) problems.push(...fileProblems(binary, `baseBinaries.${id}`));
  if (!Array.isArray(value.packages)) problems.push('packages is not a list');
  else value.packages.forEach((item, index) => problems.push(...packageProblems(item, `packages[${index}]`)));
  return problems;
}
