import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { detectBinaryKind } from '../binary-kind.js';
import { ElfFormatError, readElfLayout } from '../formats/elf.js';
import type { Target } from '../targets.js';

const PT_INTERP = 3;
/** Bytes read from the start of a binary: enough for the ELF program headers and PT_INTERP, which linkers place first. */
const HEAD_BYTES = 64 * 1024;

const FORMAT_NAMES = { elf: 'ELF', macho: 'Mach-O', pe: 'PE' } as const;

async function readHead(filePath: string): Promise<Buffer> {
  const handle = await open(filePath, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Returns the program interpreter (dynamic loader) that an ELF executable names, or undefined when it names none. */
export function elfInterpreter(head: Buffer): string | undefined {
  let interpreter: { offset: number; filesz: number } | undefined;
  try {
    interpreter = readElfLayout(head).programHeaders.find((header) => header.type === PT_INTERP);
  } catch (error) {
    // A program header table past the bytes read leaves the interpreter unknown; the format check has passed already.
    if (error instanceof ElfFormatError) return undefined;
    throw error;
  }
  if (!interpreter || interpreter.offset + interpreter.filesz > head.length) return undefined;
  return head.subarray(interpreter.offset, interpreter.offset + interpreter.filesz).toString('latin1').replace(/\0+$/, '');
}

/** Returns the C library that a Linux loader path belongs to: `ld-musl-*` is musl, `ld-linux*` is glibc. */
function libcOfInterpreter(interpreter: string): 'musl' | 'glibc' | undefined {
  const name = path.posix.basename(interpreter);
  if (name.startsWith('ld-musl-')) return 'musl';
  if (name.startsWith('ld-linux')) return 'glibc';
  return undefined;
}

/**
 * Returns what is wrong with a file as the target's Node binary, or
 * undefined when its format, CPU and, for Linux, C library fit the target.
 */
export async function binaryMismatch(filePath: string, target: Target): Promise<{ expected: string; found: string } | undefined> {
  const head = await readHead(filePath);
  const libc = target.os === 'linux' ? ` for ${target.libc ?? 'glibc'}` : '';
  const expected = `${FORMAT_NAMES[target.format]} executable for ${target.arch}${libc}`;
  const kind = detectBinaryKind(head);
  if (!kind) return { expected, found: 'not an ELF, Mach-O or PE executable' };
  if (kind.format !== target.format || kind.arch !== target.arch) {
    return { expected, found: `${FORMAT_NAMES[kind.format]} executable for ${kind.arch ?? 'another CPU'}` };
  }
  if (target.format !== 'elf') return undefined;

  const interpreter = elfInterpreter(head);
  const foundLibc = interpreter ? libcOfInterpreter(interpreter) : undefined;
  if (foundLibc && foundLibc !== (target.libc ?? 'glibc')) {
    return { expected, found: `ELF executable for ${kind.arch} for ${foundLibc} (loader ${interpreter})` };
  }
  return undefined;
}

/** Returns whether a file contains a byte string, reading it as a stream. */
export async function fileContains(filePath: string, needle: Buffer): Promise<boolean> {
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(filePath, { highWaterMark: 1024 * 1024 })) {
    const window = Buffer.concat([carry, chunk as Buffer]);
    if (window.includes(needle)) return true;
    // Keep the tail, so a match across two chunks is found.
    carry = window.subarray(Math.max(0, window.length - needle.length + 1));
  }
  return false;
}
