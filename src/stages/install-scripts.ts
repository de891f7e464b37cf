import { chmod, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuoSeaError, messageOf } from '../errors.js';
import { sha256File } from '../hash.js';
import type { Target } from '../targets.js';

/** The `release-scripts/` folder that ships with duo-sea. */
export const RELEASE_SCRIPTS_DIR = fileURLToPath(new URL('../../release-scripts/', import.meta.url));

export const INSTALL_SH_FILE = 'install.sh';
export const INSTALL_PS1_FILE = 'install.ps1';

/**
 * Returns the install scripts for a set of targets: install.sh when a Linux or
 * macOS target is among them, install.ps1 when a Windows one is. The scripts
 * read SHA256SUMS to find the executable, so they are the same for every build.
 */
export function installScriptsFor(targets: readonly Pick<Target, 'os'>[]): string[] {
  const scripts: string[] = [];
  if (targets.some((target) => target.os !== 'win32')) scripts.push(INSTALL_SH_FILE);
  if (targets.some((target) => target.os === 'win32')) scripts.push(INSTALL_PS1_FILE);
  return scripts;
}

/** Copies the install scripts for these targets into `outDir` with mode 0755, and returns each file with its SHA-256 for SHA256SUMS. */
export async function writeInstallScripts(outDir: string, targets: readonly Pick<Target, 'os'>[]): Promise<{ file: string; sha256: string }[]> {
  const written = [];
  for (const file of installScriptsFor(targets)) {
    const destination = path.join(outDir, file);
    try {
      await copyFile(path.join(RELEASE_SCRIPTS_DIR, file), destination);
      await chmod(destination, 0o755);
    } catch (error) {
      throw new DuoSeaError({
        code: 'E_OUTPUT_FAILED',
        stage: 'install-scripts',
        input: destination,
        message: `Copying ${file} from ${RELEASE_SCRIPTS_DIR} to ${destination} failed: ${messageOf(error)}.`,
        hint: `Check that duo-sea is installed whole (its release-scripts folder) and that ${outDir} is writable.`,
        cause: error,
      });
    }
    written.push({ file, sha256: await sha256File(destination) });
  }
  return written;
}
