import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The `checksums/` folder that ships with duo-sea. */
export const BUNDLED_CHECKSUMS_DIR = fileURLToPath(new URL('../checksums/', import.meta.url));

/** Returns the name of the file that pins the base binaries of one Node version. */
export function checksumFileName(nodeVersion: string): string {
  return `node-v${nodeVersion}.sha256`;
}

/** Returns the key that a pinned base binary has in its checksum file: `<package>@<version>/<path>`. */
export function checksumKey(packageName: string, nodeVersion: string, binaryPath: string): string {
  return `${packageName}@${nodeVersion}/${binaryPath}`;
}

/** Parses `sha256sum` output (`<hex>  <name>` per line) into a map from name to hash. */
export function parseChecksumList(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (match) sums.set(match[2], match[1]);
  }
  return sums;
}

/** Returns the pinned SHA-256 of a base binary, or undefined when it is not pinned. */
export async function pinnedSha256(
  checksumsDir: string,
  packageName: string,
  nodeVersion: string,
  binaryPath: string,
): Promise<string | undefined> {
  const file = path.join(checksumsDir, checksumFileName(nodeVersion));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseChecksumList(text).get(checksumKey(packageName, nodeVersion, binaryPath));
}
