import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dearmorPublicKeys, gpgvKeyring, GpgvMissingError, verifySignature } from '../../../src/openpgp.js';
import { fixtureFolder, makeSigningKey, removeFixtureFolders } from './fixtures.js';

afterAll(removeFixtureFolders);

const key = makeSigningKey('openpgp-test');

describe('dearmorPublicKeys', () => {
  it('decodes to the bytes gpg --export writes', () => {
    expect(dearmorPublicKeys(readFileSync(key.armoredKeyPath, 'utf8'))).toEqual(readFileSync(key.keyringPath));
  });

  it('joins several armored blocks', () => {
    const other = makeSigningKey('openpgp-other');
    const text = `${readFileSync(key.armoredKeyPath, 'utf8')}\n${readFileSync(other.armoredKeyPath, 'utf8')}`;

    expect(dearmorPublicKeys(text)).toEqual(Buffer.concat([readFileSync(key.keyringPath), readFileSync(other.keyringPath)]));
  });
});

describe('gpgvKeyring', () => {
  it('keeps a binary keyring as it is', async () => {
    expect(await gpgvKeyring(key.keyringPath, fixtureFolder('keyring-work'), 0)).toBe(key.keyringPath);
  });

  it('decodes an armored key into the work folder', async () => {
    const workDir = fixtureFolder('keyring-work');

    const keyring = await gpgvKeyring(key.armoredKeyPath, workDir, 3);

    expect(keyring).toBe(path.join(workDir, 'keyring-3.gpg'));
    expect(readFileSync(keyring)).toEqual(readFileSync(key.keyringPath));
  });
});

describe('verifySignature', () => {
  const folder = fixtureFolder('signature');
  const data = path.join(folder, 'SHASUMS256.txt');
  const signature = path.join(folder, 'SHASUMS256.txt.sig');
  writeFileSync(data, 'list\n');
  writeFileSync(signature, key.signDetached(Buffer.from('list\n')));

  it('returns the primary key fingerprint of a good signature', async () => {
    expect(await verifySignature({ signaturePath: signature, dataPath: data, keyrings: [key.keyringPath] })).toEqual({ valid: true, signingKey: key.fingerprint });
  });

  it('reports a bad signature', async () => {
    const changed = path.join(folder, 'changed.txt');
    writeFileSync(changed, 'list!\n');

    const check = await verifySignature({ signaturePath: signature, dataPath: changed, keyrings: [key.keyringPath] });

    expect(check).toEqual({ valid: false, reason: `BAD signature from key ${key.fingerprint.slice(-16)}` });
  });

  it('throws GpgvMissingError without gpgv on PATH', async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = fixtureFolder('empty-path');
    try {
      await expect(verifySignature({ signaturePath: signature, dataPath: data, keyrings: [key.keyringPath] })).rejects.toBeInstanceOf(GpgvMissingError);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
