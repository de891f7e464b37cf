import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectBinaryKind } from '../../src/binary-kind.js';

/** Builds a zero-filled header and lets `fields` write into it. */
function header(fields: (view: DataView, bytes: Uint8Array) => void, sizeBytes = 128): Uint8Array {
  const bytes = new Uint8Array(sizeBytes);
  fields(new DataView(bytes.buffer), bytes);
  return bytes;
}

/** Builds an ELF64 header: EI_DATA 1 is little-endian, 2 big-endian, and e_machine is at offset 18. */
function elf(machine: number, littleEndian = true): Uint8Array {
  return header((view, bytes) => {
    bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, littleEndian ? 1 : 2, 1], 0);
    view.setUint16(16, 2, littleEndian);
    view.setUint16(18, machine, littleEndian);
  });
}

/** Builds a thin 64-bit Mach-O header, magic 0xfeedfacf and cputype stored little-endian as on x64 and arm64 Macs. */
function machO(cpuType: number): Uint8Array {
  return header((view) => {
    view.setUint32(0, 0xfeedfacf, true);
    view.setUint32(4, cpuType, true);
  });
}

/** Builds a DOS stub whose e_lfanew (offset 0x3c) points at "PE\0\0" and the COFF Machine field. */
function pe(machine: number, peOffset = 0x80): Uint8Array {
  return header((view, bytes) => {
    bytes.set([0x4d, 0x5a], 0);
    view.setUint32(0x3c, peOffset, true);
    bytes.set([0x50, 0x45, 0, 0], peOffset);
    view.setUint16(peOffset + 4, machine, true);
  }, peOffset + 24);
}

/** Reads the first 4 KiB of a file, as the payload stage does. */
function readHead(filePath: string): Uint8Array {
  const head = new Uint8Array(4096);
  const descriptor = openSync(filePath, 'r');
  try {
    return head.subarray(0, readSync(descriptor, head, 0, head.length, 0));
  } finally {
    closeSync(descriptor);
  }
}

const VENDOR = '/tmp/srtprobe/node_modules/@anthropic-ai/sandbox-runtime/vendor';

describe('detectBinaryKind ELF', () => {
  it('detects x64', () => {
    expect(detectBinaryKind(elf(0x3e))).toEqual({ format: 'elf', arch: 'x64' });
  });

  it('detects arm64', () => {
    expect(detectBinaryKind(elf(0xb7))).toEqual({ format: 'elf', arch: 'arm64' });
  });

  it('reads e_machine big-endian for EI_DATA 2', () => {
    expect(detectBinaryKind(elf(0xb7, false))).toEqual({ format: 'elf', arch: 'arm64' });
  });

  it('leaves the arch undefined for another CPU', () => {
    expect(detectBinaryKind(elf(0x28))).toEqual({ format: 'elf', arch: undefined });
  });
});

describe('detectBinaryKind Mach-O', () => {
  it('detects x64', () => {
    expect(detectBinaryKind(machO(0x01000007))).toEqual({ format: 'macho', arch: 'x64' });
  });

  it('detects arm64', () => {
    expect(detectBinaryKind(machO(0x0100000c))).toEqual({ format: 'macho', arch: 'arm64' });
  });

  it('returns undefined for a fat binary', () => {
    const fat = header((view) => view.setUint32(0, 0xcafebabe));

    expect(detectBinaryKind(fat)).toBeUndefined();
  });
});

describe('detectBinaryKind PE', () => {
  it('detects x64', () => {
    expect(detectBinaryKind(pe(0x8664))).toEqual({ format: 'pe', arch: 'x64' });
  });

  it('detects arm64', () => {
    expect(detectBinaryKind(pe(0xaa64))).toEqual({ format: 'pe', arch: 'arm64' });
  });

  it('returns undefined for MZ without a PE signature', () => {
    const dosOnly = header((view, bytes) => {
      bytes.set([0x4d, 0x5a], 0);
      view.setUint32(0x3c, 0x40, true);
    });

    expect(detectBinaryKind(dosOnly)).toBeUndefined();
  });

  // A text file that starts with "MZ" is sorted as a PE binary for no target, and the payload stage drops it.
  it('returns undefined for text that starts with MZ', () => {
    const text = new TextEncoder().encode('MZ is the DOS signature; this README explains why the loader checks it first.\n');

    expect(detectBinaryKind(text)).toBeUndefined();
  });
});

describe('detectBinaryKind other input', () => {
  it('returns undefined for a script', () => {
    const script = new TextEncoder().encode('#!/usr/bin/env node\n' + 'console.log("a script long enough to pass the size check");\n');

    expect(detectBinaryKind(script)).toBeUndefined();
  });

  it('returns undefined for fewer than 64 bytes', () => {
    expect(detectBinaryKind(elf(0x3e).subarray(0, 63))).toBeUndefined();
    expect(detectBinaryKind(new Uint8Array(0))).toBeUndefined();
  });

  it('reads a view that starts inside a larger buffer', () => {
    const padded = new Uint8Array(200).fill(0x4d);
    padded.set(elf(0xb7), 40);

    expect(detectBinaryKind(padded.subarray(40, 168))).toEqual({ format: 'elf', arch: 'arm64' });
  });
});

describe('detectBinaryKind real files', () => {
  // /usr/bin/ls is built for the host, so this case applies on a Linux x64 host only.
  it.skipIf(process.platform !== 'linux' || process.arch !== 'x64' || !existsSync('/usr/bin/ls'))('detects /usr/bin/ls as ELF x64', () => {
    expect(detectBinaryKind(readHead('/usr/bin/ls'))).toEqual({ format: 'elf', arch: 'x64' });
  });

  const vendorCases: [string, { format: string; arch: string }][] = [
    ['seccomp/arm64/apply-seccomp', { format: 'elf', arch: 'arm64' }],
    ['seccomp/x64/apply-seccomp', { format: 'elf', arch: 'x64' }],
    ['srt-win/x64/srt-win.exe', { format: 'pe', arch: 'x64' }],
    ['srt-win/arm64/srt-win.exe', { format: 'pe', arch: 'arm64' }],
  ];
  for (const [relativePath, expected] of vendorCases) {
    const filePath = `${VENDOR}/${relativePath}`;
    // These binaries ship in @anthropic-ai/sandbox-runtime; the case is skipped where that package is not unpacked in /tmp/srtprobe.
    it.skipIf(!existsSync(filePath))(`detects ${relativePath} as ${expected.format} ${expected.arch}`, () => {
      expect(detectBinaryKind(readHead(filePath))).toEqual(expected);
    });
  }

  const jarPath = `${VENDOR}/java-proxy-agent/srt-proxy-agent.jar`;
  it.skipIf(!existsSync(jarPath))('returns undefined for a jar', () => {
    expect(detectBinaryKind(readHead(jarPath))).toBeUndefined();
  });
});
