import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError, messageOf } from './errors.js';
import { sha256File } from './hash.js';
import { CHECKSUM_LIST_FILE, type ChecksumListEntry } from './stages/checksum-list.js';
import { MANIFEST_FILE, type Manifest, type ManifestFile } from './stages/manifest.js';

/** One file of a release that failed verification. */
export interface VerifyProblem {
  file: string;
  problem: 'missing' | 'differs' | 'size differs' | 'not in SHA256SUMS';
  expected?: string;
  actual?: string;
}

export interface VerifyResult {
  dir: string;
  /** Files whose SHA-256 matches SHA256SUMS, sorted. */
  verified: string[];
  problems: VerifyProblem[];
  /** Files in the folder that SHA256SUMS does not list; reported, not a failure. */
  unlisted: string[];
}

function releaseError(dir: string, input: string, message: string, hint: string, cause?: unknown): DuoSeaError {
  return new DuoSeaError({ code: 'E_RELEASE_INVALID', stage: 'verify', input, message, hint, cause });
}

/** True for a relative path with `/` separators that stays inside its folder: no empty, `.` or `..` part and no backslash. */
function isContainedPath(name: string): boolean {
  return !name.includes('\\') && name.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/**
 * Parses a SHA256SUMS file in the format that `sha256sum` writes: `<hex>  <name>`
 * for text mode or `<hex> *<name>` for binary mode, one file per line. Names
 * are base names, or with `subfolders`, relative paths inside the folder,
 * as in an offline kit.
 */
export function parseChecksumList(text: string, listPath: string, options: { subfolders?: boolean } = {}): ChecksumListEntry[] {
  const entries: ChecksumListEntry[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const match = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.replace(/\r$/, ''));
    if (!match || (options.subfolders ? !isContainedPath(match[2]) : /[\\/]/.test(match[2]))) {
      throw releaseError(
        path.dirname(listPath),
        `${listPath}:${index + 1}`,
        `Line ${index + 1} of ${listPath} is not a "<sha256>  <file name>" line: ${JSON.stringify(line.slice(0, 120))}.`,
        'Write the list with sha256sum, or with duo-sea build or assemble.',
      );
    }
    entries.push({ sha256: match[1].toLowerCase(), file: match[2] });
  });
  return entries;
}

/** Reads and parses `manifest.json` of a release folder, or returns undefined when it has none. */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) return undefined;
  try {
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
    if (manifest.schemaVersion !== 1 || !Array.isArray(manifest.targets)) throw new Error(`unknown schemaVersion ${String(manifest.schemaVersion)}`);
    return manifest;
  } catch (error) {
    throw releaseError(dir, manifestPath, `${manifestPath} is not a duo-sea manifest: ${messageOf(error)}.`, 'Restore the file from the release, or build the release again.', error);
  }
}

/** Returns every file that the manifest describes: each executable and each archive. */
export function manifestFiles(manifest: Manifest): ManifestFile[] {
  return manifest.targets.flatMap((target) => [target, ...target.archives]).map(({ file, sizeBytes, sha256 }) => ({ file, sizeBytes, sha256 }));
}

/**
 * Checks every file of a release, or any folder with a SHA256SUMS file,
 * against SHA256SUMS, and each executable and archive that manifest.json
 * lists against its size and SHA-256 there. Returns every problem found
 * instead of stopping at the first.
 */
export async function verifyRelease(dir: string): Promise<VerifyResult> {
  const listPath = path.join(dir, CHECKSUM_LIST_FILE);
  let listText: string;
  try {
    listText = await readFile(listPath, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw releaseError(
      dir,
      listPath,
      missing ? `${dir} has no ${CHECKSUM_LIST_FILE}, so there is nothing to verify it against.` : `Reading ${listPath} failed: ${messageOf(error)}.`,
      `Pass the folder that duo-sea build or assemble wrote, which contains ${CHECKSUM_LIST_FILE}.`,
      error,
    );
  }

  const entries = parseChecksumList(listText, listPath, { subfolders: true });
  const problems: VerifyProblem[] = [];
  const verified: string[] = [];
  const actualSha256 = new Map<string, string>();
  for (const entry of entries) {
    const filePath = path.join(dir, entry.file);
    if (!existsSync(filePath)) {
      problems.push({ file: entry.file, problem: 'missing' });
      continue;
    }
    const actual = await sha256File(filePath);
    actualSha256.set(entry.file, actual);
    if (actual === entry.sha256) verified.push(entry.file);
    else problems.push({ file: entry.file, problem: 'differs', expected: entry.sha256, actual });
  }

  const manifest = await readManifest(dir);
  if (manifest) {
    if (!entries.some((entry) => entry.file === MANIFEST_FILE)) problems.push({ file: MANIFEST_FILE, problem: 'not in SHA256SUMS' });
    for (const file of manifestFiles(manifest)) {
      // One line per file: a file that already failed against SHA256SUMS is not reported again.
      if (problems.some((problem) => problem.file === file.file)) continue;
      const filePath = path.join(dir, file.file);
      if (!existsSync(filePath)) {
        problems.push({ file: file.file, problem: 'missing' });
        continue;
      }
      if (!entries.some((entry) => entry.file === file.file)) problems.push({ file: file.file, problem: 'not in SHA256SUMS' });
      const sizeBytes = (await stat(filePath)).size;
      if (sizeBytes !== file.sizeBytes) {
        problems.push({ file: file.file, problem: 'size differs', expected: `${file.sizeBytes} bytes`, actual: `${sizeBytes} bytes` });
        continue;
      }
      const actual = actualSha256.get(file.file) ?? (await sha256File(filePath));
      if (actual !== file.sha256) {
        problems.push({ file: file.file, problem: 'differs', expected: file.sha256, actual });
      }
    }
  }

  const listed = new Set([CHECKSUM_LIST_FILE, ...entries.map((entry) => entry.file)]);
  const unlisted: string[] = [];
  // The folder itself and each subfolder that SHA256SUMS names a file in, such as packages/ of a kit.
  for (const folder of new Set(['.', ...entries.map((entry) => path.posix.dirname(entry.file))])) {
    // A subfolder that is missing has its files reported as missing above.
    const items = await readdir(path.join(dir, folder), { withFileTypes: true }).catch(() => []);
    for (const item of items) {
      const name = folder === '.' ? item.name : `${folder}/${item.name}`;
      if (item.isFile() && !listed.has(name)) unlisted.push(name);
    }
  }
  return { dir, verified: verified.sort(), problems, unlisted: unlisted.sort() };
}

/** Formats a verification result as lines for a terminal: one per problem, then a summary. */
export function renderVerifyResult(result: VerifyResult): string {
  const lines = result.problems.map((item) => {
    const values = item.expected !== undefined ? ` (expected ${item.expected}, found ${item.actual})` : '';
    return `FAILED ${item.file}: ${item.problem}${values}`;
  });
  for (const file of result.unlisted) lines.push(`note: ${file} is not listed in ${CHECKSUM_LIST_FILE} and was not checked`);
  lines.push(
    result.problems.length === 0
      ? `OK: ${result.verified.length} files in ${result.dir} match ${CHECKSUM_LIST_FILE}${existsSync(path.join(result.dir, MANIFEST_FILE)) ? ` and ${MANIFEST_FILE}` : ''}.`
      : `${result.problems.length} of the files in ${result.dir} failed verification; do not use them. Copy them again from the release.`,
  );
  return `${lines.join('\n')}\n`;
}
