import { readFile, writeFile } from 'node:fs/promises';
import { DuoSeaError, messageOf } from '../errors.js';
import { computePeChecksum, readPeLayout, removeCertificateTable, updatePeChecksum } from '../formats/pe.js';
import type { Target } from '../targets.js';

function signError(target: Target, filePath: string, message: string, cause?: unknown): DuoSeaError {
  return new DuoSeaError({
    code: 'E_INJECT_FAILED',
    stage: 'sign',
    target: target.id,
    input: filePath,
    message,
    hint: 'The base binary is not a Windows executable that duo-sea can read; check the base source.',
    cause,
  });
}

/**
 * Prepares the copy of the base binary that the blob goes into. For Windows
 * it removes the Authenticode signature of node.exe, which injection makes
 * stale. Returns notes for the build log.
 */
export interface SignNote {
  level: 'info' | 'warning';
  message: string;
}

export async function prepareForInjection(target: Target, filePath: string): Promise<SignNote[]> {
  if (target.sign === 'pe-unsign') {
    try {
      const image = await readFile(filePath);
      const unsigned = removeCertificateTable(image);
      if (unsigned === image) return [];
      await writeFile(filePath, unsigned);
      return [{ level: 'info', message: `removed the Authenticode signature of node.exe (${image.length - unsigned.length} bytes)` }];
    } catch (error) {
      throw signError(target, filePath, `Could not remove the signature of ${filePath}: ${messageOf(error)}`, error);
    }
  }
  if (target.sign === 'macho-adhoc') {
    // NOTE: Mach-O executables are not re-signed yet, so they do not start on Apple Silicon until signed with codesign.
    return [{ level: 'warning', message: 'the macOS executable is not signed: sign it (codesign --sign - FILE) before running it on Apple Silicon' }];
  }
  return [];
}

/**
 * Finishes the executable after injection. For Windows it writes the PE
 * checksum of the final file and reads it back to verify it.
 */
export async function finishAfterInjection(target: Target, filePath: string): Promise<void> {
  if (target.sign !== 'pe-unsign') return;
  try {
    const image = await readFile(filePath);
    const checksum = updatePeChecksum(image);
    await writeFile(filePath, image);
    const written = await readFile(filePath);
    const { checksumOffset, certificateTableSizeBytes } = readPeLayout(written);
    if (written.readUInt32LE(checksumOffset) !== checksum || computePeChecksum(written, checksumOffset) !== checksum) {
      throw new Error('the checksum read back does not match the file');
    }
    if (certificateTableSizeBytes !== 0) throw new Error('the certificate table is set again after injection');
  } catch (error) {
    throw signError(target, filePath, `Could not finish ${filePath}: ${messageOf(error)}`, error);
  }
}
