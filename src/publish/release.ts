import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError, messageOf } from '../errors.js';
import { sha256File } from '../hash.js';
import { CHECKSUM_LIST_FILE } from '../stages/checksum-list.js';
import { MANIFEST_FILE } from '../stages/manifest.js';
import { isValidPackageFileName } from './gitlab-names.js';
import { compareCodeUnits } from '../compare.js';

/** A file of a release folder that is to be published. */
export interface ReleaseFile {
  name: string;
  path: string;
  sizeBytes: number;
  sha256: string;
}

/** The parts of `manifest.json` that publishing reads. */
export interface ReleaseManifest {
  app: { package: string; version: string; bin: string };
  node: { version: string };
}

/** A release folder whose files all match its SHA256SUMS. */
export interface Release {
  dir: string;
  manifest: ReleaseManifest;
  /**
   * Every file to publish, in upload order: the files that SHA256SUMS lists,
   * then manifest.json, then SHA256SUMS itself. A client that reads the new
   * SHA256SUMS therefore finds every file it lists already uploaded.
   */
  files: ReleaseFile[];
  /** Files in the folder that SHA256SUMS does not list; they are not published. */
  unlistedFiles: string[];
}

interface ChecksumLine {
  name: string;
  sha256: string;
}

/**
 * Reads a release folder and checks it against its SHA256SUMS: every listed
 * file must exist and have the listed SHA-256, and every name must be valid
 * in GitLab's generic package registry. Every problem is reported at once,
 * in one error, before anything is uploaded.
 */
export async function readRelease(dir: string): Promise<Release> {
  const lines = parseStrictChecksumList(await readReleaseText(dir, CHECKSUM_LIST_FILE), dir);
  const problems: string[] = [];
  const listed: ReleaseFile[] = [];
  for (const line of lines) {
    const checked = await checkListedFile(dir, line);
    if (typeof checked === 'string') problems.push(checked);
    else listed.push(checked);
  }
  if (!lines.some((line) => line.name === MANIFEST_FILE)) problems.push(`${MANIFEST_FILE}: not listed in ${CHECKSUM_LIST_FILE}`);
  if (problems.length > 0) throw invalidRelease(dir, problems);

  const manifest = parseManifest(await readReleaseText(dir, MANIFEST_FILE), dir);
  const files = orderForUpload([...listed, await describeFile(dir, CHECKSUM_LIST_FILE)]);
  const listedNames = new Set(files.map((file) => file.name));
  const unlistedFiles = (await readdir(dir)).filter((name) => !listedNames.has(name) && !name.startsWith('.')).sort();
  return { dir, manifest, files, unlistedFiles };
}

/** Parses SHA256SUMS as `sha256sum` writes it and rejects any other line, since a skipped line would leave a file unchecked. */
export function parseStrictChecksumList(text: string, dir: string): ChecksumLine[] {
  const lines: ChecksumLine[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((rawLine, index) => {
    const line = rawLine.replace(/\r$/, '');
    if (line === '') return;
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!match) {
      problems.push(`${CHECKSUM_LIST_FILE} line ${index + 1}: expected "<64 hex digits>  <file name>", found "${line.slice(0, 120)}"`);
      return;
    }
    const [, sha256, name] = match;
    if (!isValidPackageFileName(name)) {
      problems.push(`${name}: a GitLab package file name contains only letters, digits, ".", "_", "-" and "+"`);
    } else if (lines.some((entry) => entry.name === name)) {
      problems.push(`${name}: listed twice in ${CHECKSUM_LIST_FILE}`);
    } else {
      lines.push({ name, sha256 });
    }
  });
  if (lines.length === 0 && problems.length === 0) problems.push(`${CHECKSUM_LIST_FILE} lists no file`);
  if (problems.length > 0) throw invalidRelease(dir, problems);
  return lines;
}

async function checkListedFile(dir: string, line: ChecksumLine): Promise<ReleaseFile | string> {
  let file: ReleaseFile;
  try {
    file = await describeFile(dir, line.name);
  } catch (error) {
    return `${line.name}: ${messageOf(error)}`;
  }
  if (file.sha256 !== line.sha256) return `${line.name}: SHA-256 is ${file.sha256}, and ${CHECKSUM_LIST_FILE} lists ${line.sha256}`;
  return file;
}

async function describeFile(dir: string, name: string): Promise<ReleaseFile> {
  const filePath = path.join(dir, name);
  const info = await stat(filePath);
  if (!info.isFile()) throw new Error(`${filePath} is not a regular file`);
  return { name, path: filePath, sizeBytes: info.size, sha256: await sha256File(filePath) };
}

function orderForUpload(files: ReleaseFile[]): ReleaseFile[] {
  const rank = (name: string): number => (name === CHECKSUM_LIST_FILE ? 2 : name === MANIFEST_FILE ? 1 : 0);
  return [...files].sort((left, right) => rank(left.name) - rank(right.name) || compareCodeUnits(left.name, right.name));
}

async function readReleaseText(dir: string, name: string): Promise<string> {
  const filePath = path.join(dir, name);
  try {
    return await readFile(filePath, 'utf8');
  } catch (error) {
    throw new DuoSeaError({
      code: 'E_RELEASE_INVALID',
      stage: 'publish',
      input: filePath,
      message: `Reading ${filePath} failed: ${messageOf(error)}.`,
      hint: 'Pass the output folder of duo-sea build or assemble, which contains SHA256SUMS and manifest.json.',
      cause: error,
    });
  }
}

function parseManifest(text: string, dir: string): ReleaseManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidRelease(dir, [`${MANIFEST_FILE}: not valid JSON (${messageOf(error)})`]);
  }
  const manifest = value as Partial<ReleaseManifest> | null;
  const fields: [string, unknown][] = [
    ['app.package', manifest?.app?.package],
    ['app.version', manifest?.app?.version],
    ['app.bin', manifest?.app?.bin],
    ['node.version', manifest?.node?.version],
  ];
  const missing = fields.filter(([, field]) => typeof field !== 'string' || field === '').map(([name]) => name);
  if (missing.length > 0) throw invalidRelease(dir, [`${MANIFEST_FILE}: missing ${missing.join(', ')}`]);
  return manifest as ReleaseManifest;
}

function invalidRelease(dir: string, problems: string[]): DuoSeaError {
  return new DuoSeaError({
    code: 'E_RELEASE_INVALID',
    stage: 'publish',
    input: dir,
    message: `The release folder ${dir} failed its check, so nothing was uploaded:\n  ${problems.join('\n  ')}`,
    hint: 'Build or assemble the release again, or copy the missing or damaged files again from where it was built.',
  });
}
