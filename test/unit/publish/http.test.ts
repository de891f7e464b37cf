import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HttpTransportError,
  isRetryableError,
  isRetryableStatus,
  retryDelayMs,
  sendWithRetry,
  type RetryNotice,
  type RetryPolicy,
} from '../../../src/publish/http.js';

const FAST_RETRIES: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5 };

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Starts a server that responds to the requests with these statuses in turn, and records each request body. */
async function serveStatuses(statuses: number[], headers: Record<string, string> = {}): Promise<{ url: URL; bodies: string[] }> {
  const bodies: string[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      response.writeHead(statuses.shift() ?? 200, headers);
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/upload`), bodies };
}

function bodyFile(content: string): { path: string; sizeBytes: number } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-http-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'body'), content);
  return { path: path.join(dir, 'body'), sizeBytes: Buffer.byteLength(content) };
}

describe('retry decisions', () => {
  it.each([429, 500, 502, 503, 504])('retries HTTP %i', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });

  it.each([400, 401, 403, 404, 409, 422])('does not retry HTTP %i', (status) => {
    expect(isRetryableStatus(status)).toBe(false);
  });

  it('retries a reset connection', () => {
    expect(isRetryableError(new HttpTransportError('socket hang up', 'ECONNRESET'))).toBe(true);
  });

  it('does not retry an untrusted certificate', () => {
    expect(isRetryableError(new HttpTransportError('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'))).toBe(false);
  });

  it('doubles the wait per attempt', () => {
    const policy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000 };

    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(policy, attempt))).toEqual([1000, 2000, 4000, 8000]);
  });

  it('follows a longer Retry-After', () => {
    expect(retryDelayMs({ maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000 }, 1, '7')).toBe(7000);
  });

  it('caps the wait', () => {
    expect(retryDelayMs({ maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000 }, 1, '3600')).toBe(60_000);
  });
});

describe('sendWithRetry', () => {
  it('sends the whole body again after two 503 answers', async () => {
    const server = await serveStatuses([503, 503, 201]);
    const notices: RetryNotice[] = [];

    const response = await sendWithRetry({ method: 'PUT', url: server.url, headers: {}, bodyFile: bodyFile('payload'), idleTimeoutMs: 5000 }, FAST_RETRIES, (notice) => notices.push(notice));

    expect(response.status).toBe(201);
    expect(server.bodies).toEqual(['payload', 'payload', 'payload']);
    expect(notices.map((notice) => notice.reason)).toEqual(['HTTP 503', 'HTTP 503']);
  });

  it('returns a 403 without retrying', async () => {
    const server = await serveStatuses([403]);

    const response = await sendWithRetry({ method: 'GET', url: server.url, headers: {}, idleTimeoutMs: 5000 }, FAST_RETRIES, () => {});

    expect(response.status).toBe(403);
    expect(server.bodies).toHaveLength(1);
  });

  it('returns the last 503 after the last attempt', async () => {
    const server = await serveStatuses([503, 503, 503, 503, 503, 503]);

    const response = await sendWithRetry({ method: 'GET', url: server.url, headers: {}, idleTimeoutMs: 5000 }, FAST_RETRIES, () => {});

    expect(response.status).toBe(503);
    expect(server.bodies).toHaveLength(FAST_RETRIES.maxAttempts);
  });

  it('throws after refused connections', async () => {
    const server = await serveStatuses([]);
    const url = new URL(server.url);
    cleanups.splice(0).forEach((cleanup) => cleanup());
    const notices: RetryNotice[] = [];

    const failure = await sendWithRetry({ method: 'GET', url, headers: {}, idleTimeoutMs: 5000 }, FAST_RETRIES, (notice) => notices.push(notice)).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect((failure as HttpTransportError).code).toBe('ECONNREFUSED');
    expect(notices).toHaveLength(FAST_RETRIES.maxAttempts - 1);
  });

  it('times out a silent server', async () => {
    const server = http.createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      server.closeAllConnections();
      server.close();
    });
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);

    const failure = await sendWithRetry({ method: 'GET', url, headers: {}, idleTimeoutMs: 50 }, { ...FAST_RETRIES, maxAttempts: 2 }, () => {}).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect((failure as HttpTransportError).code).toBe('ETIMEDOUT');
  });
});
