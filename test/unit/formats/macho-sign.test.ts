import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSegment, readMachO } from '../../../src/formats/macho.js';
import { describeCodeSignature, signAdhoc, verifyCodeSignature } from '../../../src/formats/macho-sign.js';
import { parseEmbeddedSignature } from '../../../src/formats/macho-signature.js';
import { developerIdNode, LINKER_SIGNED_ARM64, registryFile, runVerifier, UNIVERSAL_ADDON, UNSIGNED_X64 } from './macho-fixtures.js';

const DOWNLOAD_TIMEOUT_MS = 300_000;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-macho-sign-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let unsigned: Buffer;
let linkerSigned: Buffer;
let universal: Buffer;
let node: Buffer;

beforeAll(async () => {
  const [unsignedPath, linkerSignedPath, universalPath, nodePath] = await Promise.all([
    registryFile(UNSIGNED_X64),
    registryFile(LINKER_SIGNED_ARM64),
    registryFile(UNIVERSAL_ADDON),
    developerIdNode(),
  ]);
  unsigned = readFileSync(unsignedPath);
  linkerSigned = readFileSync(linkerSignedPath);
  universal = readFileSync(universalPath);
  node = readFileSync(nodePath);
}, DOWNLOAD_TIMEOUT_MS);

function writeScratch(name: string, image: Buffer): string {
  const file = path.join(scratch, name);
  writeFileSync(file, image);
  return file;
}

describe('verifyCodeSignature', () => {
  it('accepts a linker signature', () => {
    const check = verifyCodeSignature(linkerSigned);

    expect(check.kind).toBe('linker-signed');
    expect(check.identifier).toBe('a.out');
    expect(check.pageCount).toBe(Math.ceil(check.codeLimit / 4096));
  });

  it('accepts the Developer ID signature of node', () => {
    const check = verifyCodeSignature(node);

    expect(check.kind).toBe('certificate');
    expect(check.teamId).toBe('HX7739G8FX');
    expect(check.identifier).toBe('node');
  });

  it('rejects a changed page', () => {
    const image = Buffer.from(linkerSigned);
    image[5 * 4096 + 100] ^= 0xff;

    expect(() => verifyCodeSignature(image)).toThrow('1 of 2566 page hashes do not match the file, first: 5 (offset 20480)');
  });

  it('rejects an unsigned file', () => {
    expect(() => verifyCodeSignature(unsigned)).toThrow('the file has no LC_CODE_SIGNATURE command');
  });
});

describe('signAdhoc', () => {
  it('signs an unsigned executable', () => {
    const signed = signAdhoc(unsigned, { identifier: 'srt' });
    const check = verifyCodeSignature(signed);

    expect(check.kind).toBe('adhoc');
    expect(check.flags).toBe(0x2);
    expect(check.identifier).toBe('srt');
    expect(check.codeLimit).toBe(Math.ceil(unsigned.length / 16) * 16);
    expect(check.pageCount).toBe(Math.ceil(check.codeLimit / 4096));
  });

  it('replaces a linker signature', () => {
    const signed = signAdhoc(linkerSigned, { identifier: 'srt' });
    const check = verifyCodeSignature(signed);

    expect(check.flags).toBe(0x2);
    expect(check.codeLimit).toBe(readMachO(linkerSigned).codeSignature!.dataOffset);
  });

  it('replaces a Developer ID signature', () => {
    const signed = signAdhoc(node, { identifier: 'node' });
    const check = verifyCodeSignature(signed);

    expect(check.kind).toBe('adhoc');
    expect(check.teamId).toBeUndefined();
    expect(check.signatureOffset).toBe(readMachO(node).codeSignature!.dataOffset);
  });

  it('writes codesign ad-hoc blobs', () => {
    const signed = signAdhoc(unsigned, { identifier: 'srt' });
    const command = readMachO(signed).codeSignature!;
    const signature = parseEmbeddedSignature(signed.subarray(command.dataOffset));

    expect(signature.blobs.map((blob) => [blob.slot, blob.magic, blob.bytes.length])).toEqual([
      [0, 0xfade0c02, signature.codeDirectory.bytes.length],
      [2, 0xfade0c01, 12],
      [0x10000, 0xfade0b01, 8],
    ]);
    expect(signature.codeDirectory.version).toBe(0x20400);
    expect(signature.codeDirectory.specialSlotCount).toBe(2);
  });

  it('marks the main executable segment', () => {
    const signed = signAdhoc(unsigned, { identifier: 'srt' });
    const command = readMachO(signed).codeSignature!;
    const directory = parseEmbeddedSignature(signed.subarray(command.dataOffset)).codeDirectory;
    const text = findSegment(readMachO(signed), '__TEXT');

    expect(directory.execSegBase).toBe(text.fileOffset);
    expect(directory.execSegLimit).toBe(text.fileSizeBytes);
    expect(directory.execSegFlags).toBe(1);
  });

  it('grows __LINKEDIT over the signature', () => {
    const signed = signAdhoc(linkerSigned, { identifier: 'srt' });
    const linkedit = findSegment(readMachO(signed), '__LINKEDIT');

    expect(linkedit.fileOffset + linkedit.fileSizeBytes).toBe(signed.length);
    expect(linkedit.vmSizeBytes % 0x4000).toBe(0);
    expect(linkedit.vmSizeBytes).toBeGreaterThanOrEqual(linkedit.fileSizeBytes);
  });

  it('signs the same bytes the same way', () => {
    expect(signAdhoc(unsigned, { identifier: 'srt' }).equals(signAdhoc(unsigned, { identifier: 'srt' }))).toBe(true);
  });

  it('rejects a universal file', () => {
    expect(() => signAdhoc(universal, { identifier: 'srt' })).toThrow(/universal \(fat\) Mach-O/);
  });

  it('rejects an empty identifier', () => {
    expect(() => signAdhoc(unsigned, { identifier: '' })).toThrow('invalid signing identifier ""');
  });
});

describe('describeCodeSignature', () => {
  it('names each kind', () => {
    expect(describeCodeSignature(unsigned)).toBeUndefined();
    expect(describeCodeSignature(linkerSigned)?.kind).toBe('linker-signed');
    expect(describeCodeSignature(node)?.kind).toBe('certificate');
    expect(describeCodeSignature(signAdhoc(unsigned, { identifier: 'srt' }))?.kind).toBe('adhoc');
  });
});

describe('independent verifier', () => {
  it('accepts each signed file', () => {
    const files = [
      writeScratch('unsigned-signed', signAdhoc(unsigned, { identifier: 'srt' })),
      writeScratch('linker-signed-signed', signAdhoc(linkerSigned, { identifier: 'srt' })),
      writeScratch('node-signed', signAdhoc(node, { identifier: 'node' })),
    ];
    const result = runVerifier(files, { requireAdhoc: true });

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.reports.map((report) => report.flags)).toEqual(['0x2', '0x2', '0x2']);
  });

  it('computes the same cdhash', () => {
    const signed = signAdhoc(linkerSigned, { identifier: 'srt' });
    const result = runVerifier([writeScratch('cdhash', signed)], { requireAdhoc: true });

    expect(result.reports[0]?.cdhash).toBe(verifyCodeSignature(signed).cdhash);
    expect(result.reports[0]?.pageCount).toBe(verifyCodeSignature(signed).pageCount);
  });

  it('rejects a changed page', () => {
    const signed = signAdhoc(unsigned, { identifier: 'srt' });
    signed[4096 * 3] ^= 0x01;
    const result = runVerifier([writeScratch('changed', signed)], { requireAdhoc: true });

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/1 of \d+ page hashes differ, first page 3/);
  });

  it('rejects a signature without the ad-hoc flag', () => {
    const result = runVerifier([writeScratch('developer-id', node)], { requireAdhoc: true });

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/flags 0x10000 lack the ad-hoc flag/);
  });
});
