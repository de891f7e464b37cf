import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { addCodeSignatureCommand, findSegment, readMachO, removeCodeSignature } from '../../../src/formats/macho.js';
import { developerIdNode, LINKER_SIGNED_ARM64, registryFile, UNIVERSAL_ADDON, UNSIGNED_X64 } from './macho-fixtures.js';

const DOWNLOAD_TIMEOUT_MS = 300_000;

interface ObjdumpSegment {
  name: string;
  fileOffset: number;
  fileSizeBytes: number;
}

/** Reads segment names, file offsets and sizes from llvm-objdump, an independent Mach-O reader. */
function objdumpSegments(file: string): ObjdumpSegment[] {
  const result = spawnSync('llvm-objdump', ['--macho', '--private-headers', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`llvm-objdump failed: ${result.stderr}`);
  const segments: ObjdumpSegment[] = [];
  const pattern = /cmd LC_SEGMENT_64\n\s+cmdsize \d+\n\s+segname (\S+)\n(?:.*\n){2}\s+fileoff (\d+)\n\s+filesize (\d+)/g;
  for (const match of result.stdout.matchAll(pattern)) {
    segments.push({ name: match[1], fileOffset: Number(match[2]), fileSizeBytes: Number(match[3]) });
  }
  return segments;
}

let unsignedPath: string;
let linkerSignedPath: string;
let universalPath: string;
let nodePath: string;

beforeAll(async () => {
  [unsignedPath, linkerSignedPath, universalPath, nodePath] = await Promise.all([
    registryFile(UNSIGNED_X64),
    registryFile(LINKER_SIGNED_ARM64),
    registryFile(UNIVERSAL_ADDON),
    developerIdNode(),
  ]);
}, DOWNLOAD_TIMEOUT_MS);

describe('readMachO', () => {
  it('reads segments as llvm-objdump does', () => {
    const file = readMachO(readFileSync(unsignedPath));

    expect(file.segments.map(({ name, fileOffset, fileSizeBytes }) => ({ name, fileOffset, fileSizeBytes }))).toEqual(objdumpSegments(unsignedPath));
  });

  it('names the CPU', () => {
    expect(readMachO(readFileSync(unsignedPath)).cpuName).toBe('x86_64');
    expect(readMachO(readFileSync(linkerSignedPath)).cpuName).toBe('arm64');
  });

  it('finds no signature in an unsigned file', () => {
    expect(readMachO(readFileSync(unsignedPath)).codeSignature).toBeUndefined();
  });

  it('finds the signature of node', () => {
    const image = readFileSync(nodePath);
    const signature = readMachO(image).codeSignature;

    expect(signature).toBeDefined();
    expect(signature!.dataOffset + signature!.dataSizeBytes).toBe(image.length);
  });

  it('rejects a universal file', () => {
    expect(() => readMachO(readFileSync(universalPath))).toThrow('a universal (fat) Mach-O file with 2 architectures (x86_64, arm64)');
  });

  it('rejects a text file', () => {
    expect(() => readMachO(Buffer.from('#!/bin/sh\necho this is a shell script, not a Mach-O file\n'))).toThrow(/^not a Mach-O file: magic 0x23212f62$/);
  });

  it('rejects a 32-bit file', () => {
    const image = Buffer.alloc(64);
    image.writeUInt32LE(0xfeedface, 0);

    expect(() => readMachO(image)).toThrow(/32-bit Mach-O/);
  });

  it('rejects a short file', () => {
    expect(() => readMachO(Buffer.from([0xcf, 0xfa, 0xed, 0xfe]))).toThrow(/only 4 bytes/);
  });

  it('rejects load commands past sizeofcmds', () => {
    const image = Buffer.from(readFileSync(unsignedPath));
    image.writeUInt32LE(image.readUInt32LE(20) - 8, 20);

    expect(() => readMachO(image)).toThrow(/invalid size|past sizeofcmds/);
  });
});

describe('removeCodeSignature', () => {
  it('cuts the Developer ID signature of node', () => {
    const image = readFileSync(nodePath);
    const before = readMachO(image);
    const unsigned = removeCodeSignature(image);
    const after = readMachO(unsigned);

    expect(unsigned.length).toBe(before.codeSignature!.dataOffset);
    expect(after.codeSignature).toBeUndefined();
    expect(after.loadCommands.length).toBe(before.loadCommands.length - 1);
    expect(after.loadCommandsEnd).toBe(before.loadCommandsEnd - 16);
  });

  it('shrinks __LINKEDIT to the new end', () => {
    const unsigned = removeCodeSignature(readFileSync(nodePath));
    const linkedit = findSegment(readMachO(unsigned), '__LINKEDIT');

    expect(linkedit.fileOffset + linkedit.fileSizeBytes).toBe(unsigned.length);
    expect(linkedit.vmSizeBytes % 0x1000).toBe(0);
    expect(linkedit.vmSizeBytes).toBeGreaterThanOrEqual(linkedit.fileSizeBytes);
  });

  it('zeroes the freed command bytes', () => {
    const image = readFileSync(linkerSignedPath);
    const before = readMachO(image);
    const unsigned = removeCodeSignature(image);

    expect(unsigned.subarray(before.loadCommandsEnd - 16, before.loadCommandsEnd).equals(Buffer.alloc(16))).toBe(true);
  });

  it('keeps the other commands', () => {
    const image = readFileSync(linkerSignedPath);
    const otherCommands = readMachO(image).loadCommands.filter((command) => command.command !== 0x1d).map((command) => command.command);

    expect(readMachO(removeCodeSignature(image)).loadCommands.map((command) => command.command)).toEqual(otherCommands);
  });

  it('returns an unsigned file unchanged', () => {
    const image = readFileSync(unsignedPath);

    expect(removeCodeSignature(image)).toBe(image);
  });

  it('rejects a signature before the end', () => {
    const image = Buffer.concat([readFileSync(linkerSignedPath), Buffer.alloc(16)]);

    expect(() => removeCodeSignature(image)).toThrow(/__LINKEDIT ends at \d+, but the file has \d+ bytes/);
  });
});

describe('addCodeSignatureCommand', () => {
  it('rejects full load commands', () => {
    const image = Buffer.from(readFileSync(unsignedPath));
    const file = readMachO(image);
    const free = file.loadCommandsLimit - file.loadCommandsEnd;
    // A padding command that fills every free byte, as a binary linked with no header room has.
    image.writeUInt32LE(0x7fff_0000, file.loadCommandsEnd);
    image.writeUInt32LE(free, file.loadCommandsEnd + 4);
    image.writeUInt32LE(file.loadCommands.length + 1, 16);
    image.writeUInt32LE(file.loadCommandsLimit - 32, 20);

    expect(() => addCodeSignatureCommand(image, readMachO(image), image.length, 0)).toThrow(/no room for LC_CODE_SIGNATURE: .* 0 bytes free, 16 needed/);
  });
});
