import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError } from './errors.js';
import { sha256File } from './hash.js';
import { OutputStaging } from './output.js';
import { SBOM_FILE, buildSbom, mergePackages, packagesOfSbom, writeSbom, type SbomPackage } from './sbom.js';
import { CHECKSUM_LIST_FILE, writeChecksumList, type ChecksumListEntry } from './stages/checksum-list.js';
import { MANIFEST_FILE, buildManifest, writeManifest, type Manifest } from './stages/manifest.js';
import { SIZE_REPORT_JSON_FILE, SIZE_REPORT_MARKDOWN_FILE, writeSizeReport, type SizeReport, type TargetSizes } from './stages/size-report.js';
import { manifestFiles, parseChecksumList, readManifest, renderVerifyResult, verifyRelease } from './verify.js';

/** Files that assemble writes anew from the parts' copies instead of copying one. */
const GENERATED_FILES = new Set([MANIFEST_FILE, SIZE_REPORT_JSON_FILE, SIZE_REPORT_MARKDOWN_FILE, SBOM_FILE, CHECKSUM_LIST_FILE]);

export interface AssembleResult {
  outDir: string;
  manifest: Manifest;
  /** Every file written to the output folder, sorted. */
  files: string[];
}

interface Part {
  dir: string;
  manifest: Manifest;
  checksums: ChecksumListEntry[];
}

function partError(dir: string, message: string, hint: string): DuoSeaError {
  return new DuoSeaError({ code: 'E_RELEASE_INVALID', stage: 'assemble', input: dir, message, hint });
}

/** Reads one part and verifies its files, so that a damaged part never reaches the release. */
async function readPart(dir: string): Promise<Part> {
  const verification = await verifyRelease(dir);
  if (verification.problems.length > 0) {
    throw partError(dir, `The part ${dir} failed verification:\n${renderVerifyResult(verification).trimEnd()}`, 'Copy the part again from the build job that made it.');
  }
  const manifest = await readManifest(dir);
  if (!manifest) throw partError(dir, `The part ${dir} has no ${MANIFEST_FILE}.`, 'Pass the output folders of duo-sea build.');
  const checksums = parseChecksumList(await readFile(path.join(dir, CHECKSUM_LIST_FILE), 'utf8'), path.join(dir, CHECKSUM_LIST_FILE));
  return { dir, manifest, checksums };
}

/** Throws when two parts were built from different inputs, naming both values. */
function checkPartsAgree(parts: readonly Part[]): void {
  const [first, ...others] = parts;
  const facts: [string, (manifest: Manifest) => string][] = [
    ['package', (manifest) => manifest.app.package],
    ['package version', (manifest) => manifest.app.version],
    ['package integrity', (manifest) => manifest.app.integrity],
    ['bin', (manifest) => manifest.app.bin],
    ['Node version', (manifest) => manifest.node.version],
    ['duo-sea version', (manifest) => `${manifest.tool.name} ${manifest.tool.version}`],
  ];
  // Parts built before the manifest recorded the build inputs lack them, which means none were given.
  const buildInputs = (manifest: Manifest): Partial<Manifest['build']> => (manifest as Partial<Manifest>).build ?? {};
  facts.push(
    ['--with packages', (manifest) => describeList(buildInputs(manifest).with)],
    ['--node-option values', (manifest) => describeList(buildInputs(manifest).nodeOptions)],
    ['build flags (--keep, --keep-source-maps, --minify, --icu-locales, --no-code-cache)', (manifest) => describeList(buildInputs(manifest).flags)],
  );
  for (const part of others) {
    for (const [label, read] of facts) {
      if (read(part.manifest) === read(first.manifest)) continue;
      throw new DuoSeaError({
        code: 'E_PARTS_DISAGREE',
        stage: 'assemble',
        input: part.dir,
        message: `The parts disagree on the ${label}: ${first.dir} has ${read(first.manifest)}, ${part.dir} has ${read(part.manifest)}.`,
        hint: 'Build every part from the same package spec, --with, --node-option, --keep, --keep-source-maps, --minify, --icu-locales, --no-code-cache, Node version and duo-sea version, then assemble again.',
      });
    }
  }

  const seen = new Map<string, string>();
  for (const part of parts) {
    for (const target of part.manifest.targets) {
      const other = seen.get(target.id);
      if (other !== undefined) {
        throw new DuoSeaError({
          code: 'E_PARTS_DISAGREE',
          stage: 'assemble',
          input: part.dir,
          message: `Target ${target.id} is in two parts: ${other} and ${part.dir}.`,
          hint: 'Pass each target once; build one target per job with --target.',
        });
      }
      seen.set(target.id, part.dir);
    }
  }
}

function describeList(values: readonly string[] | undefined): string {
  return values && values.length > 0 ? JSON.stringify(values) : 'none';
}

/**
 * Returns the files of the parts that are neither a target's file nor a
 * generated report, such as install scripts. Each must be the same in every
 * part that has it.
 */
function sharedFiles(parts: readonly Part[]): Map<string, { sha256: string; dir: string }> {
  const shared = new Map<string, { sha256: string; dir: string }>();
  for (const part of parts) {
    const targetFiles = new Set(manifestFiles(part.manifest).map((file) => file.file));
    for (const entry of part.checksums) {
      if (GENERATED_FILES.has(entry.file) || targetFiles.has(entry.file)) continue;
      const known = shared.get(entry.file);
      if (known && known.sha256 !== entry.sha256) {
        throw new DuoSeaError({
          code: 'E_PARTS_DISAGREE',
          stage: 'assemble',
          input: path.join(part.dir, entry.file),
          message: `${entry.file} differs between the parts: ${known.dir} has SHA-256 ${known.sha256}, ${part.dir} has ${entry.sha256}.`,
          hint: 'Build every part with the same duo-sea version, then assemble again.',
        });
      }
      shared.set(entry.file, { sha256: entry.sha256, dir: part.dir });
    }
  }
  return shared;
}

async function readSizeTargets(part: Part): Promise<TargetSizes[]> {
  const report = JSON.parse(await readFile(path.join(part.dir, SIZE_REPORT_JSON_FILE), 'utf8')) as SizeReport;
  return report.targets;
}

/** Reads a part's SBOM packages and timestamp; parts built before SBOMs existed have none. */
async function readSbomPart(part: Part): Promise<{ packages: SbomPackage[]; timestamp: string } | undefined> {
  if (!part.checksums.some((entry) => entry.file === SBOM_FILE)) return undefined;
  const document = JSON.parse(await readFile(path.join(part.dir, SBOM_FILE), 'utf8')) as Record<string, unknown>;
  return { packages: packagesOfSbom(document).packages, timestamp: (document.metadata as { timestamp: string }).timestamp };
}

/**
 * Merges the output folders of per-target builds into one release with one
 * manifest, size report, SBOM and SHA256SUMS. Every part is verified first,
 * and parts built from different inputs are rejected. Nothing appears in
 * `outDir` unless the whole release is written.
 */
export async function assembleRelease(options: { parts: string[]; outDir: string }): Promise<AssembleResult> {
  if (options.parts.length === 0) {
    throw new DuoSeaError({ code: 'E_INVALID_OPTION', stage: 'options', input: '<part>', message: 'No part folders were given.', hint: 'Pass the output folders of the per-target builds, such as parts/*.' });
  }
  const outDir = path.resolve(options.outDir);
  const partDirs = options.parts.map((part) => path.resolve(part));
  const repeated = partDirs.find((dir, index) => partDirs.indexOf(dir) !== index);
  if (repeated !== undefined) {
    throw new DuoSeaError({ code: 'E_INVALID_OPTION', stage: 'options', input: repeated, message: `The part ${repeated} is given twice.`, hint: 'Pass each part folder once.' });
  }
  if (partDirs.includes(outDir)) {
    throw new DuoSeaError({ code: 'E_INVALID_OPTION', stage: 'options', input: outDir, message: `The output folder ${outDir} is also a part.`, hint: 'Pass --out with a new folder.' });
  }

  const parts: Part[] = [];
  for (const dir of partDirs) parts.push(await readPart(dir));
  checkPartsAgree(parts);
  const shared = sharedFiles(parts);
  const first = parts[0].manifest;

  const staging = await OutputStaging.create(outDir);
  try {
    const listed: ChecksumListEntry[] = [];
    for (const part of parts) {
      for (const file of manifestFiles(part.manifest)) {
        await copyFile(path.join(part.dir, file.file), staging.path(file.file));
        listed.push({ file: file.file, sha256: file.sha256 });
      }
    }
    for (const [file, { sha256, dir }] of shared) {
      await copyFile(path.join(dir, file), staging.path(file));
      listed.push({ file, sha256 });
    }

    const manifest = buildManifest({
      tool: first.tool,
      app: first.app,
      node: first.node,
      build: (first as Partial<Manifest>).build,
      targets: parts.flatMap((part) => part.manifest.targets),
    });
    await writeManifest(staging.stagingDir, manifest);

    const sizeTargets = (await Promise.all(parts.map(readSizeTargets))).flat().sort((left, right) => (left.id < right.id ? -1 : 1));
    await writeSizeReport(staging.stagingDir, { schemaVersion: 1, targets: sizeTargets });

    const generated = [MANIFEST_FILE, SIZE_REPORT_JSON_FILE, SIZE_REPORT_MARKDOWN_FILE];
    const sboms = await Promise.all(parts.map(readSbomPart));
    const present = sboms.filter((sbom) => sbom !== undefined);
    if (present.length > 0) {
      const timestamps = present.map((sbom) => sbom.timestamp).sort();
      const sbom = buildSbom({
        app: { package: first.app.package, version: first.app.version, integrity: first.app.integrity },
        node: first.node,
        tool: first.tool,
        targetIds: manifest.targets.map((target) => target.id),
        packages: mergePackages(present.map((part) => part.packages)),
        // The latest of the parts' times, so that assembling the same parts again gives the same file.
        timestamp: new Date(timestamps[timestamps.length - 1]),
      });
      await writeSbom(staging.stagingDir, sbom);
      generated.push(SBOM_FILE);
    }
    for (const file of generated) listed.push({ file, sha256: await sha256File(staging.path(file)) });
    await writeChecksumList(staging.stagingDir, listed);

    const files = [...listed.map((entry) => entry.file), CHECKSUM_LIST_FILE].sort();
    await staging.publish(files);
    return { outDir, manifest, files };
  } finally {
    await staging.discard();
  }
}
