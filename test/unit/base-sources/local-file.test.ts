import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalFileSource } from '../../../src/base-sources/local-file.js';
import { normalizeBaseSourceOptions } from '../../../src/base-sources/options.js';
import { ContentCache } from '../../../src/cache.js';
import { DuoSeaError } from '../../../src/errors.js';
import { findTarget } from '../../../src/targets.js';
import { fakeElf, fakePe, fixtureFolder, listFiles, removeFixtureFolders, sha256Hex } from './fixtures.js';

const VERSION = '26.10.0';

afterAll(removeFixtureFolders);

function writeBinary(name: string, data: Buffer | string): string {
  const file = path.join(fixtureFolder('node-binary'), name);
  writeFileSync(file, data);
  return file;
}

function fileSource(files: Record<string, string>) {
  const cacheDir = fixtureFolder('file-cache');
  const source = new LocalFileSource(new Map(Object.entries(files)), { nodeVersion: VERSION, cache: new ContentCache(cacheDir), report: () => {}, cwd: cacheDir });
  return { source, cacheDir };
}

async function rejection(promise: Promise<unknown>): Promise<DuoSeaError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DuoSeaError);
  return error as DuoSeaError;
}

describe('LocalFileSource', () => {
  it('copies a good file into the cache and records its base name', async () => {
    const data = fakeElf({ machine: 'x64', payload: `node v${VERSION}` });
    const file = writeBinary('node', data);
    const { source } = fileSource({ 'linux-x64': file });

    const binary = await source.fetch(findTarget('linux-x64'));

    expect(binary.source).toBe('file:node');
    expect(binary.sha256).toBe(sha256Hex(data));
    expect(binary.sizeBytes).toBe(data.length);
    expect(readFileSync(binary.path)).toEqual(data);
    expect(binary.path).not.toBe(file);
  });

  it('accepts a PE file for a Windows target', async () => {
    const { source } = fileSource({ 'win-arm64': writeBinary('node.exe', fakePe({ machine: 'arm64', payload: `v${VERSION}` })) });

    expect(await source.unavailable(findTarget('win-arm64'))).toBeUndefined();
  });

  it('rejects a file that is no executable', async () => {
    const { source, cacheDir } = fileSource({ 'linux-x64': writeBinary('node', `#!/bin/sh\necho v${VERSION}\n${'#'.repeat(100)}`) });

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_BASE_BINARY_INVALID');
    expect(error.expected).toBe('ELF executable for x64 for glibc');
    expect(error.found).toBe('not an ELF, Mach-O or PE executable');
    expect(listFiles(cacheDir)).toEqual([]);
  });

  it('rejects an executable of another format', async () => {
    const { source } = fileSource({ 'linux-x64': writeBinary('node.exe', fakePe({ machine: 'x64', payload: `v${VERSION}` })) });

    const error = await rejection(source.unavailable(findTarget('linux-x64')));

    expect(error.code).toBe('E_BASE_BINARY_INVALID');
    expect(error.found).toBe('PE executable for x64');
  });

  it('rejects an executable of another CPU', async () => {
    const { source } = fileSource({ 'linux-arm64': writeBinary('node', fakeElf({ machine: 'x64', payload: `v${VERSION}` })) });

    const error = await rejection(source.unavailable(findTarget('linux-arm64')));

    expect(error.found).toBe('ELF executable for x64');
  });

  it('rejects a glibc executable for a musl target', async () => {
    const { source } = fileSource({ 'linux-x64-musl': writeBinary('node', fakeElf({ machine: 'x64', payload: `v${VERSION}` })) });

    const error = await rejection(source.unavailable(findTarget('linux-x64-musl')));

    expect(error.found).toBe('ELF executable for x64 for glibc (loader /lib64/ld-linux-x86-64.so.2)');
  });

  it('rejects an executable with a SEA blob', async () => {
    const payload = `v${VERSION} NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1`;
    const { source } = fileSource({ 'linux-x64': writeBinary('srt-linux-x64', fakeElf({ machine: 'x64', payload })) });

    const error = await rejection(source.unavailable(findTarget('linux-x64')));

    expect(error.code).toBe('E_BASE_BINARY_INVALID');
    expect(error.found).toBe('the SEA fuse set');
  });

  it('rejects a binary of another Node version', async () => {
    const { source } = fileSource({ 'linux-x64': writeBinary('node', fakeElf({ machine: 'x64', payload: 'v24.13.1' })) });

    const error = await rejection(source.unavailable(findTarget('linux-x64')));

    expect(error.code).toBe('E_BASE_BINARY_INVALID');
    expect(error.expected).toBe(`Node v${VERSION}`);
  });

  it('reports a file removed after the options were checked', async () => {
    const file = writeBinary('node', fakeElf({ machine: 'x64', payload: `v${VERSION}` }));
    rmSync(file);
    const { source } = fileSource({ 'linux-x64': file });

    const error = await rejection(source.fetch(findTarget('linux-x64')));

    expect(error.code).toBe('E_BASE_BINARY_INVALID');
    expect(error.message).toContain('cannot be read');
    expect(error.input).toBe(file);
  });

  it('rejects a folder', async () => {
    const folder = path.join(fixtureFolder('node-binary'), 'bin');
    mkdirSync(folder);
    const { source } = fileSource({ 'linux-x64': folder });

    const error = await rejection(source.unavailable(findTarget('linux-x64')));

    expect(error.message).toContain('is not a file');
  });
});

describe('--node-binary options', () => {
  it('rejects a missing file', () => {
    const call = () => normalizeBaseSourceOptions({ nodeBinaries: { 'linux-x64': 'missing/node' } }, {}, '/work/project');

    expect(call).toThrowError(DuoSeaError);
    expect(call).toThrowError(expect.objectContaining({ code: 'E_INVALID_OPTION', input: '--node-binary linux-x64=missing/node', message: 'The Node binary /work/project/missing/node for linux-x64 does not exist.' }));
  });

  it('rejects an unknown target name', () => {
    const file = writeBinary('node', 'x');

    const call = () => normalizeBaseSourceOptions({ nodeBinaries: { 'linux-riscv64': file } }, {}, '/');

    expect(call).toThrowError(expect.objectContaining({ code: 'E_UNKNOWN_TARGET', input: `--node-binary linux-riscv64=${file}`, message: '--node-binary names the unknown target "linux-riscv64".' }));
  });

  it('resolves paths against the working folder', () => {
    const file = writeBinary('node', 'x');

    const options = normalizeBaseSourceOptions({ nodeBinaries: { 'linux-x64': path.basename(file) } }, {}, path.dirname(file));

    expect(options.nodeBinaries.get('linux-x64')).toBe(file);
  });
});
