import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MirrorSource } from '../../../src/base-sources/mirror.js';
import type { MirrorSettings } from '../../../src/base-sources/release-checksums.js';
import { ContentCache } from '../../../src/cache.js';
import { DuoSeaError } from '../../../src/errors.js';
import type { BuildEvent } from '../../../src/events.js';
import { findTarget } from '../../../src/targets.js';
import {
  checksumList,
  closedPort,
  fakeElf,
  fakePe,
  fixtureFolder,
  listFiles,
  makeSigningKey,
  packRelease,
  removeFixtureFolders,
  sha256Hex,
  startMirrorServer,
  type MirrorServer,
  zipWith,
} from './fixtures.js';

const VERSION = '26.10.0';
const LINUX_FOLDER = `node-v${VERSION}-linux-x64`;
const LINUX_BINARY = fakeElf({ machine: 'x64', payload: `v${VERSION}` });
const servers: MirrorServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});
afterAll(removeFixtureFolders);

async function serve(files: Parameters<typeof startMirrorServer>[0]): Promise<MirrorServer> {
  const server = await startMirrorServer(files);
  servers.push(server);
  return server;
}

/** Returns the files of a linux-x64 release folder with a .tar.gz and its checksum list. */
async function linuxRelease(binary = LINUX_BINARY): Promise<Record<string, Buffer>> {
  const tarball = await packRelease({ folder: LINUX_FOLDER, binary, type: 'tar.gz' });
  return { [`v${VERSION}/${LINUX_FOLDER}.tar.gz`]: tarball, [`v${VERSION}/SHASUMS256.txt`]: checksumList({ [`${LINUX_FOLDER}.tar.gz`]: tarball }) };
}

function mirrorSource(url: string, settings: Partial<MirrorSettings> = {}) {
  const cacheDir = fixtureFolder('mirror-cache');
  const events: BuildEvent[] = [];
  const cache = new ContentCache(cacheDir);
  const source = new MirrorSource(
    { url, channel: 'release', keyrings: [], signatureCheck: true, ...settings },
    { nodeVersion: VERSION, cache, report: (event) => events.push(event), cwd: cacheDir },
  );
  return { source, cache, cacheDir, events, warnings: () => events.filter((event) => event.kind === 'warning').map((event) => (event as { message: string }).message) };
}

async function rejection(promise: Promise<unknown>): Promise<DuoSeaError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DuoSeaError);
  return error as DuoSeaError;
}

describe('MirrorSource fetch', () => {
  it('returns the binary of a .tar.gz release', async () => {
    const server = await serve(await linuxRelease());
    const { source } = mirrorSource(server.url);

    const binary = await source.fetch(findTarget('linux-x64'));

    expect(readFileSync(binary.path)).toEqual(LINUX_BINARY);
    expect(binary.sha256).toBe(sha256Hex(LINUX_BINARY));
    expect(binary.source).toBe(`mirror:${server.url}/v${VERSION}/${LINUX_FOLDER}.tar.gz`);
    expect(binary.checksumList).toEqual({ url: `${server.url}/v${VERSION}/SHASUMS256.txt`, signature: 'unsigned' });
  });

  it('unpacks a .tar.xz with the host xz', async () => {
    const tarball = await packRelease({ folder: LINUX_FOLDER, binary: LINUX_BINARY, type: 'tar.xz' });
    const server = await serve({ [`v${VERSION}/${LINUX_FOLDER}.tar.xz`]: tarball, [`v${VERSION}/SHASUMS256.txt`]: checksumList({ [`${LINUX_FOLDER}.tar.xz`]: tarball }) });
    const { source } = mirrorSource(server.url);

    const binary = await source.fetch(findTarget('linux-x64'));

    expect(readFileSync(binary.path)).toEqual(LINUX_BINARY);
    expect(binary.source).toMatch(/\.tar\.xz$/);
  });

  it('takes win-x64/node.exe before the zip', async () => {
    const exe = fakePe({ machine: 'x64' });
    const server = await serve({ [`v${VERSION}/win-x64/node.exe`]: exe, [`v${VERSION}/SHASUMS256.txt`]: checksumList({ 'win-x64/node.exe': exe, [`node-v${VERSION}-win-x64.zip`]: Buffer.from('unused') }) });
    const { source } = mirrorSource(server.url);

    const binary = await source.fetch(findTarget('win-x64'));

    expect(readFileSync(binary.path)).toEqual(exe);
    expect(server.requests).not.toContain(`/dist/v${VERSION}/node-v${VERSION}-win-x64.zip`);
  });

  it('unpacks node.exe from the zip when node.exe is not listed', async () => {
    const exe = fakePe({ machine: 'arm64' });
    const zip = await zipWith(`node-v${VERSION}-win-arm64/node.exe`, exe);
    const server = await serve({ [`v${VERSION}/node-v${VERSION}-win-arm64.zip`]: zip, [`v${VERSION}/SHASUMS256.txt`]: checksumList({ [`node-v${VERSION}-win-arm64.zip`]: zip }) });
    const { source } = mirrorSource(server.url);

    const binary = await source.fetch(findTarget('win-arm64'));

    expect(readFileSync(binary.path)).toEqual(exe);
    expect(binary.source).toBe(`mirror:${server.url}/v${VERSION}/node-v${VERSION}-win-arm64.zip`);
  });

  it('downloads only the checksum list when the cache has the binary', async () => {
    const server = await serve(await linuxRelease());
    const { cache } = mirrorSource(server.url);
    const first = new MirrorSource({ url: server.url, channel: 'release', keyrings: [], signatureCheck: true }, { nodeVersion: VERSION, cache, report: () => {}, cwd: cache.rootDir });
    await first.fetch(findTarget('linux-x64'));
    const second = new MirrorSource({ url: server.url, channel: 'release', keyrings: [], signatureCheck: true }, { nodeVersion: VERSION, cache, report: () => {}, cwd: cache.rootDir });
    server.requests.length = 0;

    const binary = await second.fetch(findTarget('linux-x64'));

    expect(binary.sha256).toBe(sha256Hex(LINUX_BINARY));
    expect(server.requests.filter((request) => request.endsWith('.tar.gz'))).toEqual([]);
  });

  it('sends URL credentials as Basic authentication and records the URL without them', async () => {
    const server = await serve(await linuxRelease());
    const withCredentials = server.url.replace('http://', 'http://reader:s%40cret@');
    const { source } = mirrorSource(withCredentials);

    const binary = await source.fetch(findTarget('linux-x64'));

    expect(server.authorizations[0]).toBe(`Basic ${Buffer.from('reader:s@cret').toString('base64')}`);
    expect(binary.source).toBe(`mirror:${server.url}/v${VERSION}/${LINUX_FOLDER}.tar.gz`);
  });

  it('reads a musl target from the unofficial layout', async () => {
    const folder = `node-v${VERSION}-linux-x64-musl`;
    const musl = fakeElf({ machine: 'x64', interpreter: '/lib/ld-musl-x86_64.so.1' });
    const tarball = await packRelease({ folder, binary: musl, type: 'tar.gz' });
    const server = await serve({ [`v${VERSION}/${folder}.tar.gz`]: tarball, [`v${VERSION}/SHASUMS256.txt`]: checksumList({ [`${folder}.tar.gz`]: tarball }) });
    const { source } = mirrorSource(server.url, { channel: 'unofficial' });

    const binary = await source.fetch(findTarget('linux-x64-musl'));

    expect(readFileSync(binary.path)).toEqual(musl);
  });
});

describe('MirrorSource errors', () => {
  it('reports HTTP 404 for a missing release folder', async () => {
    const server = await serve({});
    const { source } = mirrorSource(server.url);

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_DOWNLOAD_FAILED');
    expect(error.input).toBe(`${server.url}/v${VERSION}/SHASUMS256.txt`);
    expect(error.found).toBe('HTTP 404 Not Found');
    expect(error.hint).toBe(`Check that ${server.url} is reachable from this machine and has a v${VERSION}/ folder, or fix --node-mirror (or NODEJS_ORG_MIRROR) or --node.`);
  });

  it('reports an unreachable mirror', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/dist`;
    const { source } = mirrorSource(url);

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_DOWNLOAD_FAILED');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.input).toBe(`${url}/v${VERSION}/SHASUMS256.txt`);
  });

  it('reports a truncated download and leaves no file', async () => {
    const release = await linuxRelease();
    const tarballPath = `v${VERSION}/${LINUX_FOLDER}.tar.gz`;
    const tarball = release[tarballPath];
    const server = await serve({ ...release, [tarballPath]: { body: tarball, sentBytes: 100 } });
    const { source, cacheDir } = mirrorSource(server.url);

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_DOWNLOAD_FAILED');
    expect(error.expected).toBe(`${tarball.length} bytes`);
    expect(error.found).toBe('100 bytes');
    expect(listFiles(cacheDir)).toEqual([]);
  });

  it('rejects a tarball that does not match SHASUMS256.txt and leaves no file', async () => {
    const release = await linuxRelease();
    const tarballPath = `v${VERSION}/${LINUX_FOLDER}.tar.gz`;
    const tampered = Buffer.from(release[tarballPath]);
    tampered[tampered.length - 1] ^= 0xff;
    const server = await serve({ ...release, [tarballPath]: tampered });
    const { source, cacheDir } = mirrorSource(server.url);

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_CHECKSUM_MISMATCH');
    expect(error.expected).toBe(sha256Hex(release[tarballPath]));
    expect(error.found).toBe(sha256Hex(tampered));
    expect(listFiles(cacheDir)).toEqual([]);
  });

  it('rejects a binary for another CPU', async () => {
    const server = await serve(await linuxRelease(fakeElf({ machine: 'arm64' })));
    const { source, cacheDir } = mirrorSource(server.url);

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_BASE_BINARY_INVALID');
    expect(error.found).toBe('ELF executable for arm64');
    expect(listFiles(path.join(cacheDir, 'sha256'))).toEqual([]);
  });

  it('rejects a glibc binary for a musl target', async () => {
    const folder = `node-v${VERSION}-linux-x64-musl`;
    const tarball = await packRelease({ folder, binary: LINUX_BINARY, type: 'tar.gz' });
    const server = await serve({ [`v${VERSION}/${folder}.tar.gz`]: tarball, [`v${VERSION}/SHASUMS256.txt`]: checksumList({ [`${folder}.tar.gz`]: tarball }) });
    const { source } = mirrorSource(server.url, { channel: 'unofficial' });

    const error = await rejection(source.fetch(findTarget('linux-x64-musl')));

    expect(error.code).toBe('E_BASE_BINARY_INVALID');
    expect(error.found).toContain('for glibc');
  });

  it('reports an archive without the binary', async () => {
    const tarball = await packRelease({ folder: 'other-folder', binary: LINUX_BINARY, type: 'tar.gz' });
    const server = await serve({ [`v${VERSION}/${LINUX_FOLDER}.tar.gz`]: tarball, [`v${VERSION}/SHASUMS256.txt`]: checksumList({ [`${LINUX_FOLDER}.tar.gz`]: tarball }) });
    const { source } = mirrorSource(server.url);

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_NO_BASE_BINARY');
    expect(error.message).toContain(`has no ${LINUX_FOLDER}/bin/node`);
  });
});

describe('MirrorSource unavailable', () => {
  it('names the files a target would need', async () => {
    const server = await serve(await linuxRelease());
    const { source } = mirrorSource(server.url);

    const unavailable = await source.unavailable(findTarget('darwin-arm64'));

    expect(unavailable?.code).toBe('E_NO_BASE_BINARY');
    expect(unavailable?.reason).toBe(`${server.url}/v${VERSION}/SHASUMS256.txt lists no node-v${VERSION}-darwin-arm64.tar.xz or node-v${VERSION}-darwin-arm64.tar.gz`);
  });

  it('returns nothing for a listed target', async () => {
    const server = await serve(await linuxRelease());
    const { source } = mirrorSource(server.url);

    expect(await source.unavailable(findTarget('linux-x64'))).toBeUndefined();
  });
});

describe('MirrorSource signatures', () => {
  const key = makeSigningKey('mirror-test');

  async function signedRelease(signature: 'sig' | 'asc'): Promise<Record<string, Buffer>> {
    const release = await linuxRelease();
    const list = release[`v${VERSION}/SHASUMS256.txt`];
    const signed = signature === 'sig' ? key.signDetached(list) : key.clearsign(list);
    return { ...release, [`v${VERSION}/SHASUMS256.txt.${signature}`]: signed };
  }

  it('verifies a detached signature', async () => {
    const server = await serve(await signedRelease('sig'));
    const { source } = mirrorSource(server.url, { keyrings: [key.keyringPath] });

    const binary = await source.fetch(findTarget('linux-x64'));

    expect(binary.checksumList).toEqual({ url: `${server.url}/v${VERSION}/SHASUMS256.txt`, signature: 'verified', signingKey: key.fingerprint });
  });

  it('verifies a clearsigned list with an armored key', async () => {
    const server = await serve(await signedRelease('asc'));
    const { source } = mirrorSource(server.url, { keyrings: [key.armoredKeyPath] });

    const binary = await source.fetch(findTarget('linux-x64'));

    expect(binary.checksumList?.signature).toBe('verified');
    expect(server.requests).toContain(`/dist/v${VERSION}/SHASUMS256.txt.asc`);
  });

  it('rejects a list changed after signing', async () => {
    const release = await signedRelease('sig');
    const listPath = `v${VERSION}/SHASUMS256.txt`;
    const server = await serve({ ...release, [listPath]: Buffer.concat([release[listPath], Buffer.from(`${'0'.repeat(64)}  extra.tar.gz\n`)]) });
    const { source } = mirrorSource(server.url, { keyrings: [key.keyringPath] });

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_SIGNATURE_INVALID');
    expect(error.found).toMatch(/^BAD signature from key/);
    expect(error.input).toBe(`${server.url}/v${VERSION}/SHASUMS256.txt.sig`);
  });

  it('rejects a clearsigned text that differs from SHASUMS256.txt', async () => {
    const release = await signedRelease('asc');
    const listPath = `v${VERSION}/SHASUMS256.txt`;
    const server = await serve({ ...release, [listPath]: Buffer.from(`${'0'.repeat(64)}  ${LINUX_FOLDER}.tar.gz\n`) });
    const { source } = mirrorSource(server.url, { keyrings: [key.keyringPath] });

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_SIGNATURE_INVALID');
    expect(error.found).toContain('lists other files or hashes');
  });

  it('rejects a signature by a key outside the keyring', async () => {
    const stranger = makeSigningKey('stranger');
    const server = await serve(await signedRelease('sig'));
    const { source } = mirrorSource(server.url, { keyrings: [stranger.keyringPath] });

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_SIGNATURE_INVALID');
    expect(error.found).toContain('not in the keyring');
  });

  it('requires a keyring when the list is signed', async () => {
    const server = await serve(await signedRelease('sig'));
    const { source } = mirrorSource(server.url);

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_KEYRING_MISSING');
    expect(error.hint).toContain('--node-keyring');
  });

  it('skips the signature when told to, with a warning', async () => {
    const server = await serve(await signedRelease('sig'));
    const { source, warnings } = mirrorSource(server.url, { signatureCheck: false });

    const binary = await source.fetch(findTarget('linux-x64'));

    expect(binary.checksumList?.signature).toBe('not-checked');
    expect(warnings()).toEqual([`the signature of ${server.url}/v${VERSION}/SHASUMS256.txt is not checked (--no-node-signature-check)`]);
    expect(server.requests).not.toContain(`/dist/v${VERSION}/SHASUMS256.txt.sig`);
  });

  it('requires a signature when a keyring is given', async () => {
    const server = await serve(await linuxRelease());
    const { source } = mirrorSource(server.url, { keyrings: [key.keyringPath] });

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_SIGNATURE_MISSING');
    expect(error.input).toBe(`${server.url}/v${VERSION}/SHASUMS256.txt`);
  });

  it('accepts an unsigned unofficial list with a warning', async () => {
    const folder = `node-v${VERSION}-linux-x64-musl`;
    const tarball = await packRelease({ folder, binary: fakeElf({ machine: 'x64', interpreter: '/lib/ld-musl-x86_64.so.1' }), type: 'tar.gz' });
    const server = await serve({ [`v${VERSION}/${folder}.tar.gz`]: tarball, [`v${VERSION}/SHASUMS256.txt`]: checksumList({ [`${folder}.tar.gz`]: tarball }) });
    const { source, warnings } = mirrorSource(server.url, { channel: 'unofficial', keyrings: [key.keyringPath] });

    const binary = await source.fetch(findTarget('linux-x64-musl'));

    expect(binary.checksumList?.signature).toBe('unsigned');
    expect(warnings()[0]).toContain("Node's unofficial builds are not signed");
  });

  it('accepts an unsigned list without a keyring, with a warning', async () => {
    const server = await serve(await linuxRelease());
    const { source, warnings } = mirrorSource(server.url);

    await source.fetch(findTarget('linux-x64'));

    expect(warnings()).toEqual([`${server.url}/v${VERSION}/SHASUMS256.txt is not signed (the mirror serves no signature); base binaries are checked against it alone`]);
  });
});
