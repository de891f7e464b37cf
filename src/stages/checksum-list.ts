import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError, messageOf } from '../errors.js';
import { compareCodeUnits } from '../compare.js';

export const CHECKSUM_LIST_FILE = 'SHA256SUMS';

export interface ChecksumListEntry {
  /** Base name of the file in the output folder. */
  file: string;
  sha256: string;
}

/**
 * Formats SHA-256 sums in the text format that `sha256sum -c` reads:
 * `<hex>  <name>` per line, sorted by name, with a trailing newline.
 * Throws for a hash that is not 64 lowercase hex digits, for a name that
 * `sha256sum` would have to escape, and for a name listed twice.
 */
export function formatChecksumList(files: readonly ChecksumListEntry[]): string {
  const sorted = [...files].sort((left, right) => compareCodeUnits(left.file, right.file));
  const lines = sorted.map((entry, index) => {
    checkEntry(entry);
    if (index > 0 && sorted[index - 1].file === entry.file) {
      throw new Error(`The checksum list contains "${entry.file}" twice.`);
    }
    // Two spaces mean text mode, which reads the same bytes as binary mode (" *") on POSIX systems.
    return `${entry.sha256}  ${entry.file}\n`;
  });
  return lines.join('');
}

/** Writes `SHA256SUMS` into `outDir` and returns its path. */
export async function writeChecksumList(outDir: string, files: readonly ChecksumListEntry[]): Promise<string> {
  const text = formatChecksumList(files);
  const listPath = path.join(outDir, CHECKSUM_LIST_FILE);
  try {
    await writeFile(listPath, text, 'utf8');
  } catch (error) {
    throw new DuoSeaError({
      code: 'E_OUTPUT_FAILED',
      stage: 'checksums',
      input: listPath,
      message: `Writing ${listPath} failed: ${messageOf(error)}.`,
      hint: `Check that ${outDir} exists and is writable.`,
      cause: error,
    });
  }
  return listPath;
}

function checkEntry(entry: ChecksumListEntry): void {
  if (!/^[0-9a-f]{64}$/.test(entry.sha256)) {
    throw new Error(`Invalid SHA-256 "${entry.sha256}" for ${entry.file}: expected 64 lowercase hex digits.`);
  }
  // GNU sha256sum writes names that contain a backslash or a line break in an escaped form, which this list does not write.
  if (entry.file === '' || /[\\/\r\n]/.test(entry.file)) {
    throw new Error(`Invalid file name "${entry.file}" for a checksum list: expected a base name without "/", "\\" or line breaks.`);
  }
}

