import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError, messageOf } from '../errors.js';
import { computePeChecksum, PE_SUBSYSTEM_WINDOWS_CUI, readPeLayout, removeCertificateTable, updatePeChecksum } from '../formats/pe.js';
import type { Target } from '../targets.js';
import { removeMachOSignature, signMachO, type MachOSignature, type MachOSignOptions } from './sign-macho.js';

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
 * Prepares the copy of the base binary that the blob goes into. It removes
 * the signature that injection would make stale: the Authenticode signature
 * of node.exe, or the code signature of a macOS node. Returns notes for the
 * build log.
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
  if (target.sign === 'macho-adhoc') return removeMachOSignature(target, filePath);
  return [];
}

/**
 * Finishes the executable after injection. For macOS it signs the
 * executable, ad-hoc unless `macho.signIdentity` is set, checks every page
 * hash and returns the signature. For Windows it writes the PE checksum of
 * the final file and reads it back to verify it.
 */
export async function finishAfterInjection(target: Target, filePath: string, macho?: MachOSignOptions): Promise<MachOSignature | undefined> {
  if (target.sign === 'macho-adhoc') return signMachO(target, filePath, macho ?? { identifier: path.basename(filePath) });
  if (target.sign !== 'pe-unsign') return;
  try {
    const image = await readFile(filePath);
    const checksum = updatePeChecksum(image);
    await writeFile(filePath, image);
    const written = await readFile(filePath);
    const { checksumOffset, certificateTableSizeBytes, subsystem } = readPeLayout(written);
    if (written.readUInt32LE(checksumOffset) !== checksum || computePeChecksum(written, checksumOffset) !== checksum) {
      throw new Error('the checksum read back does not match the file');
    }
    if (certificateTableSizeBytes !== 0) throw new Error('the certificate table is set again after injection');
    // A program of another subsystem, such as the GUI one (2), gets no console, so its output would not appear in the shell that starts it.
    if (subsystem !== PE_SUBSYSTEM_WINDOWS_CUI) throw new Error(`the PE subsystem is ${subsystem}, not ${PE_SUBSYSTEM_WINDOWS_CUI} (console)`);
  } catch (error) {
    throw signError(target, filePath, `Could not finish ${filePath}: ${messageOf(error)}`, error);
  }
}
