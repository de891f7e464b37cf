import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computePeChecksum, readPeLayout, removeCertificateTable, updatePeChecksum } from '../../../src/formats/pe.js';

const PE_OFFSET = 0x40;
const OPTIONAL_HEADER = PE_OFFSET + 24;
const CERTIFICATE_DIRECTORY = OPTIONAL_HEADER + 112 + 4 * 8;

/** Builds a minimal PE32+ image of `bodyBytes` bytes with a certificate table of `certificateBytes` bytes at its end. */
function makeImage(bodyBytes: number, certificateBytes: number): Buffer {
  const image = Buffer.alloc(bodyBytes + certificateBytes);
  for (let i = 0; i < image.length; i++) image[i] = (i * 31 + 7) & 0xff;
  image.writeUInt16LE(0x5a4d, 0);
  image.writeUInt32LE(PE_OFFSET, 0x3c);
  image.writeUInt32LE(0x00004550, PE_OFFSET);
  image.writeUInt16LE(0x20b, OPTIONAL_HEADER);
  image.writeUInt32LE(certificateBytes === 0 ? 0 : bodyBytes, CERTIFICATE_DIRECTORY);
  image.writeUInt32LE(certificateBytes, CERTIFICATE_DIRECTORY + 4);
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

describe('readPeLayout', () => {
  it('finds checksum and certificate table', () => {
    const layout = readPeLayout(makeImage(1024, 64));

    expect(layout.checksumOffset).toBe(OPTIONAL_HEADER + 64);
    expect(layout.certificateDirectoryOffset).toBe(CERTIFICATE_DIRECTORY);
    expect(layout.certificateTableOffset).toBe(1024);
    expect(layout.certificateTableSizeBytes).toBe(64);
  });

  it('rejects a file that is not PE', () => {
    expect(() => readPeLayout(Buffer.from('#!/bin/sh\necho not a PE file at all, just text of some length\n'))).toThrow(/not a PE file/);
  });
});

describe('removeCertificateTable', () => {
  it('cuts the table and zeroes its entry', () => {
    const unsigned = removeCertificateTable(makeImage(1024, 64));

    expect(unsigned.length).toBe(1024);
    expect(unsigned.readUInt32LE(CERTIFICATE_DIRECTORY)).toBe(0);
    expect(unsigned.readUInt32LE(CERTIFICATE_DIRECTORY + 4)).toBe(0);
  });

  it('returns an unsigned image unchanged', () => {
    const image = makeImage(1024, 0);

    expect(removeCertificateTable(image)).toBe(image);
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

  // The official node.exe carries a checksum written by Microsoft's linker, an independent implementation.
  const cachedNodeExe = `${process.env.HOME}/.cache/duo-sea/sha256/ce/cea6ac365f9bb9586dafd2084d996e092e7d3e7d07ab52d1f76bf53d1fca9bc4`;
  it.skipIf(!existsSync(cachedNodeExe))('matches the checksum of node.exe 26.10.0', () => {
    const image = readFileSync(cachedNodeExe);
    const { checksumOffset } = readPeLayout(image);

    expect(computePeChecksum(image, checksumOffset)).toBe(image.readUInt32LE(checksumOffset));
  });
});
