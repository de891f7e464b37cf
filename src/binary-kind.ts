import type { BinaryFormat } from './targets.js';

export interface BinaryKind {
  format: BinaryFormat;
  /** Node's name for the CPU, or undefined for one duo-sea has no target for. */
  arch: 'x64' | 'arm64' | undefined;
}

const ELF_MACHINES: Record<number, BinaryKind['arch']> = { 0x3e: 'x64', 0xb7: 'arm64' };
const MACHO_CPU_TYPES: Record<number, BinaryKind['arch']> = { 0x01000007: 'x64', 0x0100000c: 'arm64' };
const PE_MACHINES: Record<number, BinaryKind['arch']> = { 0x8664: 'x64', 0xaa64: 'arm64' };

/**
 * Detects an ELF, thin Mach-O or PE executable or library from its first
 * bytes, or returns undefined for anything else (scripts, data, fat Mach-O).
 */
export function detectBinaryKind(head: Uint8Array): BinaryKind | undefined {
  if (head.length < 64) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(0) === 0x7f454c46) {
    // e_machine, in the byte order that EI_DATA (byte 5) gives: 1 little-endian, 2 big-endian.
    return { format: 'elf', arch: ELF_MACHINES[view.getUint16(18, head[5] === 1)] };
  }
  const machMagic = view.getUint32(0, true);
  if (machMagic === 0xfeedfacf || machMagic === 0xfeedface) {
    return { format: 'macho', arch: MACHO_CPU_TYPES[view.getUint32(4, true)] };
  }
  if (head[0] === 0x4d && head[1] === 0x5a) {
    // e_lfanew at 0x3c points to the "PE\0\0" signature, followed by the COFF Machine field.
    const peOffset = view.getUint32(0x3c, true);
    // A PE header beyond the bytes read means this is not an executable, only text that starts with "MZ".
    if (peOffset + 6 > head.length) return undefined;
    if (view.getUint32(peOffset) !== 0x50450000) return undefined;
    return { format: 'pe', arch: PE_MACHINES[view.getUint16(peOffset + 4, true)] };
  }
  return undefined;
}
