import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CHECKSUM_LIST_FILE } from '../stages/checksum-list.js';
import { compareCodeUnits } from '../compare.js';

export interface FileDigests {
  sha256: string;
  /** npm-style Subresource Integrity: `sha512-<base64>`. */
  integrity: string;
  sizeBytes: number;
}

/** Returns a file's SHA-256, npm integrity and size, reading it once. */
export async function digestFile(filePath: string): Promise<FileDigests> {
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(filePath)) {
    sha256.update(chunk as Buffer);
    sha512.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { sha256: sha256.digest('hex'), integrity: `sha512-${sha512.digest('base64')}`, sizeBytes };
}

/** Returns every file below a folder as a path relative to it, with `/` separators, sorted by code unit. */
export async function listKitFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) await walk(path.join(folder, entry.name), relative);
      else if (entry.isFile()) found.push(relative);
    }
  };
  await walk(dir, '');
  return found.sort(compareCodeUnits);
}

/**
 * Writes SHA256SUMS over every file of a kit folder, in the format that
 * `sha256sum -c` reads, with paths relative to the folder. The list does
 * not contain itself.
 */
export async function writeKitChecksumList(dir: string): Promise<void> {
  const lines: string[] = [];
  for (const file of await listKitFiles(dir)) {
    if (file === CHECKSUM_LIST_FILE) continue;
    // sha256sum escapes names with a backslash or a line break; a kit has none, since npm package file names cannot contain them.
    if (/[\\\r\n]/.test(file)) throw new Error(`The kit file name ${JSON.stringify(file)} cannot be listed in ${CHECKSUM_LIST_FILE}.`);
    lines.push(`${(await digestFile(path.join(dir, ...file.split('/')))).sha256}  ${file}\n`);
  }
  await writeFile(path.join(dir, CHECKSUM_LIST_FILE), lines.join(''));
}
