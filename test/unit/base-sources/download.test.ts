import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { downloadBytes, downloadFile } from '../../../src/download.js';
import { DuoSeaError } from '../../../src/errors.js';
import { closedPort, fixtureFolder, removeFixtureFolders, sha256Hex, startMirrorServer, type MirrorServer } from './fixtures.js';

const CONTEXT = { stage: 'base-binary', hint: 'Check the mirror.' };
const BODY = Buffer.from('0123456789'.repeat(1000));
const servers: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});
afterAll(removeFixtureFolders);

async function serve(files: Parameters<typeof startMirrorServer>[0]): Promise<MirrorServer> {
  const server = await startMirrorServer(files);
  servers.push(server);
  return server;
}

async function rejection(promise: Promise<unknown>): Promise<DuoSeaError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DuoSeaError);
  return error as DuoSeaError;
}

describe('downloadFile', () => {
  it('writes the body and returns its hashes and size', async () => {
    const server = await serve({ 'file.bin': BODY });
    const destination = path.join(fixtureFolder('download'), 'file.bin');

    const downloaded = await downloadFile({ ...CONTEXT, url: `${server.url}/file.bin`, destination });

    expect(readFileSync(destination)).toEqual(BODY);
    expect(downloaded.sha256).toBe(sha256Hex(BODY));
    expect(downloaded.sizeBytes).toBe(BODY.length);
  });

  it('reports HTTP 404 with the URL and the hint', async () => {
    const server = await serve({});
    const destination = path.join(fixtureFolder('download'), 'file.bin');

    const error = await rejection(downloadFile({ ...CONTEXT, url: `${server.url}/file.bin`, destination }));

    expect(error.message).toBe(`Download of ${server.url}/file.bin failed with HTTP 404 Not Found.`);
    expect(error.hint).toBe('Check the mirror.');
    expect(existsSync(destination)).toBe(false);
  });

  it('reports a closed port', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/file.bin`;

    const error = await rejection(downloadFile({ ...CONTEXT, url, destination: path.join(fixtureFolder('download'), 'file.bin') }));

    expect(error.code).toBe('E_DOWNLOAD_FAILED');
    expect(error.message).toMatch(/^Download of http:\/\/127\.0\.0\.1:\d+\/file\.bin failed: connect ECONNREFUSED 127\.0\.0\.1:\d+\.$/);
  });

  it('removes the partial file of a truncated body', async () => {
    const server = await serve({ 'file.bin': { body: BODY, sentBytes: 4000 } });
    const destination = path.join(fixtureFolder('download'), 'file.bin');

    const error = await rejection(downloadFile({ ...CONTEXT, url: `${server.url}/file.bin`, destination }));

    expect(error.message).toContain(`is truncated: the connection ended after 4000 of ${BODY.length} bytes`);
    expect(existsSync(destination)).toBe(false);
  });

  it('reports a folder it cannot write to', async () => {
    const server = await serve({ 'file.bin': BODY });
    const destination = path.join(fixtureFolder('download'), 'missing-folder', 'file.bin');

    const error = await rejection(downloadFile({ ...CONTEXT, url: `${server.url}/file.bin`, destination }));

    expect(error.message).toContain(`to ${destination} failed: ENOENT`);
  });
});

describe('downloadBytes', () => {
  it('returns undefined for HTTP 404 of an optional file', async () => {
    const server = await serve({});

    expect(await downloadBytes({ ...CONTEXT, url: `${server.url}/SHASUMS256.txt.sig`, maxBytes: 100, optional: true })).toBeUndefined();
  });

  it('reports a truncated body', async () => {
    const server = await serve({ 'SHASUMS256.txt': { body: BODY, sentBytes: 10 } });

    const error = await rejection(downloadBytes({ ...CONTEXT, url: `${server.url}/SHASUMS256.txt`, maxBytes: BODY.length }));

    expect(error.expected).toBe(`${BODY.length} bytes`);
    expect(error.found).toBe('10 bytes');
  });

  it('rejects a body larger than the limit', async () => {
    const server = await serve({ 'SHASUMS256.txt': BODY });

    const error = await rejection(downloadBytes({ ...CONTEXT, url: `${server.url}/SHASUMS256.txt`, maxBytes: 100 }));

    expect(error.expected).toBe('at most 100 bytes');
  });

  it('accepts a compressed response whose Content-Length counts compressed bytes', async () => {
    const compressed = gzipSync(BODY);
    const server: Server = createServer((_request, response) => {
      response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': compressed.length }).end(compressed);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });

    const bytes = await downloadBytes({ ...CONTEXT, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/SHASUMS256.txt`, maxBytes: BODY.length });

    expect(bytes).toEqual(BODY);
  });
});
