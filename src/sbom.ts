import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError, messageOf } from './errors.js';
import { compareCodeUnits } from './compare.js';

/**
 * A CycloneDX 1.5 software bill of materials for a release: the program,
 * the Node runtime and every npm package inside the executables. The JSON
 * has no random serial number and no build time, so identical builds give
 * identical files.
 */

export const SBOM_FILE = 'sbom.cdx.json';
const CYCLONEDX_SPEC_VERSION = '1.5';
/** Property that names the targets whose executables contain a component, when not every target's does. */
const TARGETS_PROPERTY = 'duo-sea:targets';

/** One npm package as installed for one or more targets. */
export interface SbomPackage {
  name: string;
  version: string;
  /** npm's `sha512-<base64>` integrity, when the lockfile records one. */
  integrity?: string;
  /** The `license` field of its package.json: an SPDX expression, or free text. */
  license?: string;
  /** Target ids whose executables contain it, sorted. */
  targets: string[];
}

export interface SbomInput {
  app: { package: string; version: string; integrity: string };
  node: { version: string };
  tool: { name: string; version: string };
  /** Every target of the release, sorted. */
  targetIds: string[];
  packages: SbomPackage[];
  /** Time written as the SBOM's creation time: the archive entry time, so that it is reproducible. */
  timestamp: Date;
}

interface CycloneDxComponent {
  type: string;
  'bom-ref': string;
  group?: string;
  name: string;
  version: string;
  purl?: string;
  hashes?: { alg: string; content: string }[];
  licenses?: ({ license: { name: string } } | { expression: string })[];
  properties?: { name: string; value: string }[];
}

/** Reads the packages of an install from npm's hidden lockfile, keeping those whose folder exists. */
export async function readInstalledPackages(rootDir: string, targetId: string): Promise<SbomPackage[]> {
  const lockfilePath = path.join(rootDir, 'node_modules', '.package-lock.json');
  let lockfile: { packages?: Record<string, { name?: string; version?: string; integrity?: string; license?: string; link?: boolean }> };
  try {
    lockfile = JSON.parse(await readFile(lockfilePath, 'utf8'));
  } catch (error) {
    throw new DuoSeaError({
      code: 'E_INSTALL_FAILED',
      stage: 'sbom',
      target: targetId,
      input: lockfilePath,
      message: `Could not read npm's record of the installed packages, ${lockfilePath}: ${messageOf(error)}.`,
      hint: 'Use npm 7 or later, which writes node_modules/.package-lock.json.',
      cause: error,
    });
  }

  const packages: SbomPackage[] = [];
  for (const [location, entry] of Object.entries(lockfile.packages ?? {})) {
    if (!location.includes('node_modules/') || entry.link || !entry.version) continue;
    if (!existsSync(path.join(rootDir, location))) continue;
    const name = entry.name ?? location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
    packages.push({ name, version: entry.version, integrity: entry.integrity, license: entry.license, targets: [targetId] });
  }
  return packages;
}

/** Merges package lists of several targets: one entry per name and version, with the union of their targets. */
export function mergePackages(lists: readonly SbomPackage[][]): SbomPackage[] {
  const byKey = new Map<string, SbomPackage>();
  for (const item of lists.flat()) {
    const key = `${item.name}@${item.version}`;
    const known = byKey.get(key);
    if (known) {
      known.targets = [...new Set([...known.targets, ...item.targets])].sort();
      known.integrity ??= item.integrity;
      known.license ??= item.license;
    } else {
      byKey.set(key, { ...item, targets: [...item.targets].sort() });
    }
  }
  return [...byKey.values()].sort((left, right) => compareCodeUnits(`${left.name}@${left.version}`, `${right.name}@${right.version}`));
}

/** Returns the package URL of an npm package, with the scope's `@` percent-encoded as the purl specification requires. */
export function npmPurl(name: string, version: string): string {
  const encoded = name.startsWith('@') ? `%40${name.slice(1)}` : name;
  return `pkg:npm/${encoded}@${encodeURIComponent(version)}`;
}

/** Converts npm's `sha512-<base64>` integrity into a CycloneDX hash, or returns undefined for other forms. */
function integrityHash(integrity: string | undefined): { alg: string; content: string } | undefined {
  const match = /^sha512-([A-Za-z0-9+/=]+)$/.exec(integrity?.trim() ?? '');
  if (!match) return undefined;
  return { alg: 'SHA-512', content: Buffer.from(match[1], 'base64').toString('hex') };
}

/**
 * Returns the CycloneDX license list of a package.json `license` value: an
 * SPDX expression when it reads like one, else the text as a license name.
 */
function licenses(license: string | undefined): CycloneDxComponent['licenses'] {
  const text = license?.trim();
  if (!text) return undefined;
  if (/^[A-Za-z0-9.+\-() ]+$/.test(text) && !/^SEE /i.test(text) && !/^UNLICENSED$/i.test(text)) return [{ expression: text }];
  return [{ license: { name: text } }];
}

function npmComponent(item: SbomPackage, type: 'application' | 'library', allTargets: readonly string[]): CycloneDxComponent {
  const slash = item.name.startsWith('@') ? item.name.indexOf('/') : -1;
  const purl = npmPurl(item.name, item.version);
  const hash = integrityHash(item.integrity);
  const component: CycloneDxComponent = {
    type,
    'bom-ref': purl,
    ...(slash > 0 ? { group: item.name.slice(0, slash), name: item.name.slice(slash + 1) } : { name: item.name }),
    version: item.version,
    purl,
  };
  if (hash) component.hashes = [hash];
  const license = licenses(item.license);
  if (license) component.licenses = license;
  const inAll = allTargets.every((id) => item.targets.includes(id));
  if (!inAll) component.properties = [{ name: TARGETS_PROPERTY, value: item.targets.join(',') }];
  return component;
}

/** Returns a UUID made from a SHA-256 of `text`, in the version 5 layout that CycloneDX serial numbers take. */
function contentUuid(text: string): string {
  const bytes = createHash('sha256').update(text).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Builds the CycloneDX document. Components are sorted by bom-ref, so the JSON depends on the input values alone. */
export function buildSbom(input: SbomInput): Record<string, unknown> {
  const appItem = input.packages.find((item) => item.name === input.app.package && item.version === input.app.version) ?? {
    name: input.app.package,
    version: input.app.version,
    targets: input.targetIds,
  };
  const app = npmComponent({ ...appItem, integrity: input.app.integrity || appItem.integrity }, 'application', input.targetIds);
  const node: CycloneDxComponent = {
    type: 'platform',
    'bom-ref': `pkg:generic/node@${input.node.version}`,
    name: 'node',
    version: input.node.version,
    purl: `pkg:generic/node@${input.node.version}`,
    licenses: [{ expression: 'MIT' }],
  };
  const libraries = input.packages.filter((item) => item !== appItem).map((item) => npmComponent(item, 'library', input.targetIds));
  const components = [node, ...libraries].sort((left, right) => compareCodeUnits(left['bom-ref'], right['bom-ref']));

  const document = {
    bomFormat: 'CycloneDX',
    specVersion: CYCLONEDX_SPEC_VERSION,
    version: 1,
    metadata: {
      timestamp: input.timestamp.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      tools: { components: [{ type: 'application', name: input.tool.name, version: input.tool.version }] },
      component: { ...app, properties: [{ name: TARGETS_PROPERTY, value: input.targetIds.join(',') }] },
    },
    components,
    dependencies: [{ ref: app['bom-ref'], dependsOn: components.map((component) => component['bom-ref']) }],
  };
  const { bomFormat, specVersion, ...rest } = document;
  return { bomFormat, specVersion, serialNumber: `urn:uuid:${contentUuid(JSON.stringify(document))}`, ...rest };
}

/** Reads the packages back from an SBOM that `buildSbom` wrote, for merging the SBOMs of several builds. */
export function packagesOfSbom(document: Record<string, unknown>): { packages: SbomPackage[]; targetIds: string[] } {
  const metadata = document.metadata as { component: CycloneDxComponent };
  const targetsOf = (component: CycloneDxComponent, fallback: string[]): string[] => {
    const value = component.properties?.find((property) => property.name === TARGETS_PROPERTY)?.value;
    return value ? value.split(',') : fallback;
  };
  const targetIds = targetsOf(metadata.component, []);
  const toPackage = (component: CycloneDxComponent): SbomPackage => {
    const hash = component.hashes?.find((entry) => entry.alg === 'SHA-512');
    const license = component.licenses?.[0];
    return {
      name: component.group ? `${component.group}/${component.name}` : component.name,
      version: component.version,
      integrity: hash ? `sha512-${Buffer.from(hash.content, 'hex').toString('base64')}` : undefined,
      license: license ? ('expression' in license ? license.expression : license.license.name) : undefined,
      targets: targetsOf(component, targetIds),
    };
  };
  const libraries = (document.components as CycloneDxComponent[]).filter((component) => component.purl?.startsWith('pkg:npm/'));
  return { packages: [toPackage(metadata.component), ...libraries.map(toPackage)], targetIds };
}

/** Writes the SBOM into `outDir` and returns its path. */
export async function writeSbom(outDir: string, document: Record<string, unknown>): Promise<string> {
  const sbomPath = path.join(outDir, SBOM_FILE);
  try {
    await writeFile(sbomPath, `${JSON.stringify(document, null, 2)}\n`, 'utf8');
  } catch (error) {
    throw new DuoSeaError({
      code: 'E_OUTPUT_FAILED',
      stage: 'sbom',
      input: sbomPath,
      message: `Writing ${sbomPath} failed: ${messageOf(error)}.`,
      hint: `Check that ${outDir} exists and is writable.`,
      cause: error,
    });
  }
  return sbomPath;
}

