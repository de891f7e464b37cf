import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DuoSeaError, messageOf } from './errors.js';

/** Error context of a download: its stage and target, and the next step shown when it fails. */
export interface DownloadContext {
  stage: string;
  target?: string;
  /** The next step after a failed download. Default: check that the npm registry is reachable. */
  hint?: string;
}

export interface DownloadOptions extends DownloadContext {
  url: string;
  destination: string;
  /** Called with the bytes received so far, at most every 250 ms and once at the end. */
  onProgress?: (receivedBytes: number, totalBytes: number | undefined) => void;
}

export interface DownloadedFile {
  /** npm-style Subresource Integrity: `sha512-<base64>`. */
  integrity: string;
  sha256: string;
  sizeBytes: number;
}

const DEFAULT_HINT = 'Check that the registry is reachable from this machine (npm ping), then run the build again.';

/**
 * Returns a URL without user name, password, query and fragment, for
 * messages and the manifest: a mirror URL can carry credentials.
 */
export function publicUrl(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
}

function downloadError(context: DownloadContext & { url: string; message: string; expected?: string; found?: string; cause?: unknown }): DuoSeaError {
  return new DuoSeaError({
    code: 'E_DOWNLOAD_FAILED',
    stage: context.stage,
    target: context.target,
    input: publicUrl(context.url),
    message: context.message,
    expected: context.expected,
    found: context.found,
    hint: context.hint ?? DEFAULT_HINT,
    cause: context.cause,
  });
}

/**
 * Returns the most specific text of a network error. fetch() rejects with
 * "fetch failed" and keeps the reason, such as `connect ECONNREFUSED`, in
 * its cause.
 */
function networkErrorText(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof Error ? cause.message : messageOf(error);
}

/**
 * Sends a GET request. The request is for the bytes as stored
 * (`accept-encoding: identity`), because a server that compresses text files
 * on the fly would otherwise make Content-Length differ from the bytes read.
 */
async function request(url: string, context: DownloadContext): Promise<Response> {
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  // fetch() rejects URLs with credentials, so a user name and password in the URL become Basic authentication.
  const parsed = new URL(url);
  if (parsed.username || parsed.password) {
    const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
  }
  try {
    return await fetch(parsed, { headers });
  } catch (error) {
    throw downloadError({ ...context, url, message: `Download of ${publicUrl(url)} failed: ${networkErrorText(error)}.`, cause: error });
  }
}

function httpError(url: string, response: Response, context: DownloadContext): DuoSeaError {
  return downloadError({
    ...context,
    url,
    message: `Download of ${publicUrl(url)} failed with HTTP ${response.status} ${response.statusText}.`,
    expected: 'HTTP 200',
    found: `HTTP ${response.status} ${response.statusText}`.trim(),
  });
}

/** Returns Content-Length when it counts the bytes that the body yields, which it does not for a compressed response. */
function expectedBodyBytes(response: Response): number | undefined {
  const encoding = response.headers.get('content-encoding');
  if (encoding && encoding !== 'identity') return undefined;
  const header = response.headers.get('content-length');
  return header === null ? undefined : Number(header);
}

function truncationError(url: string, receivedBytes: number, totalBytes: number, context: DownloadContext, cause?: unknown): DuoSeaError {
  const reason = cause === undefined ? '' : ` (${networkErrorText(cause)})`;
  return downloadError({
    ...context,
    url,
    message: `Download of ${publicUrl(url)} is truncated: the connection ended after ${receivedBytes} of ${totalBytes} bytes${reason}.`,
    expected: `${totalBytes} bytes`,
    found: `${receivedBytes} bytes`,
    cause,
  });
}

/**
 * Downloads a URL to a file and returns its SHA-512 integrity, SHA-256 and
 * size. A failed or truncated download removes the partial file.
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadedFile> {
  const { url, destination } = options;
  const response = await request(url, options);
  if (!response.ok || !response.body) throw httpError(url, response, options);

  const totalBytes = expectedBodyBytes(response);
  const sha512 = createHash('sha512');
  const sha256 = createHash('sha256');
  let receivedBytes = 0;
  let lastReportAt = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sha512.update(chunk);
      sha256.update(chunk);
      receivedBytes += chunk.length;
      const now = Date.now();
      if (options.onProgress && now - lastReportAt > 250) {
        lastReportAt = now;
        options.onProgress(receivedBytes, totalBytes);
      }
      done(null, chunk);
    },
  });
  const file = createWriteStream(destination, { mode: 0o600 });
  try {
    await pipeline(response.body as unknown as AsyncIterable<Uint8Array>, measure, file);
  } catch (error) {
    // The stream may still be opening the file when the pipeline fails, and would then create it after the rm.
    if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
    await rm(destination, { force: true });
    // File-system errors carry the system call that failed; network errors from fetch() do not.
    if ((error as NodeJS.ErrnoException).syscall !== undefined) {
      throw downloadError({ ...options, message: `Writing the download of ${publicUrl(url)} to ${destination} failed: ${messageOf(error)}.`, hint: `Check that ${path.dirname(destination)} is writable and has free space.`, cause: error });
    }
    if (totalBytes !== undefined && receivedBytes < totalBytes) throw truncationError(url, receivedBytes, totalBytes, options, error);
    throw downloadError({ ...options, message: `Download of ${publicUrl(url)} stopped after ${receivedBytes} bytes: ${networkErrorText(error)}.`, cause: error });
  }
  options.onProgress?.(receivedBytes, totalBytes);

  if (totalBytes !== undefined && receivedBytes !== totalBytes) {
    await rm(destination, { force: true });
    throw truncationError(url, receivedBytes, totalBytes, options);
  }
  return { integrity: `sha512-${sha512.digest('base64')}`, sha256: sha256.digest('hex'), sizeBytes: receivedBytes };
}

interface BytesOptions extends DownloadContext {
  url: string;
  /** Larger bodies are rejected, so a wrong URL cannot fill the memory. */
  maxBytes: number;
}

/**
 * Downloads a small file into memory, such as a checksum list or its
 * signature. Returns undefined for HTTP 404 when `optional` is set, so a
 * caller can tell a missing file from an unreachable server.
 */
export async function downloadBytes(options: BytesOptions & { optional: true }): Promise<Buffer | undefined>;
export async function downloadBytes(options: BytesOptions & { optional?: false }): Promise<Buffer>;
export async function downloadBytes(options: BytesOptions & { optional?: boolean }): Promise<Buffer | undefined> {
  const { url, maxBytes } = options;
  const response = await request(url, options);
  if (response.status === 404 && options.optional) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok || !response.body) throw httpError(url, response, options);

  const totalBytes = expectedBodyBytes(response);
  const chunks: Uint8Array[] = [];
  let receivedBytes = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      receivedBytes += chunk.length;
      if (receivedBytes > maxBytes) {
        throw downloadError({ ...options, message: `${publicUrl(url)} is larger than the ${maxBytes} bytes expected of it.`, expected: `at most ${maxBytes} bytes`, found: `more than ${maxBytes} bytes` });
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof DuoSeaError) throw error;
    if (totalBytes !== undefined && receivedBytes < totalBytes) throw truncationError(url, receivedBytes, totalBytes, options, error);
    throw downloadError({ ...options, message: `Download of ${publicUrl(url)} stopped after ${receivedBytes} bytes: ${networkErrorText(error)}.`, cause: error });
  }
  if (totalBytes !== undefined && receivedBytes !== totalBytes) throw truncationError(url, receivedBytes, totalBytes, options);
  return Buffer.concat(chunks);
}
