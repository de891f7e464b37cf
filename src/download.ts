import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { DuoSeaError, messageOf } from './errors.js';

export interface DownloadOptions {
  url: string;
  destination: string;
  /** Called with the bytes received so far, at most every 250 ms and once at the end. */
  onProgress?: (receivedBytes: number, totalBytes: number | undefined) => void;
  stage: string;
  target?: string;
}

/**
 * Downloads a URL to a file and returns its `sha512-<base64>` integrity.
 * A failed or truncated download removes the partial file.
 */
export async function downloadFile(options: DownloadOptions): Promise<string> {
  const { url, destination, stage, target } = options;
  const failure = (message: string, cause?: unknown): DuoSeaError =>
    new DuoSeaError({
      code: 'E_DOWNLOAD_FAILED',
      stage,
      target,
      input: url,
      message,
      hint: 'Check that the registry is reachable from this machine (npm ping), then run the build again.',
      cause,
    });

  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw failure(`Download of ${url} failed: ${messageOf(error)}.`, error);
  }
  if (!response.ok || !response.body) {
    throw failure(`Download of ${url} failed with HTTP ${response.status} ${response.statusText}.`);
  }

  const totalHeader = response.headers.get('content-length');
  const totalBytes = totalHeader ? Number(totalHeader) : undefined;
  const hash = createHash('sha512');
  const file = createWriteStream(destination, { mode: 0o600 });
  let receivedBytes = 0;
  let lastReportAt = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      receivedBytes += chunk.length;
      if (!file.write(chunk)) await new Promise<void>((resolve) => file.once('drain', () => resolve()));
      const now = Date.now();
      if (options.onProgress && now - lastReportAt > 250) {
        lastReportAt = now;
        options.onProgress(receivedBytes, totalBytes);
      }
    }
    await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
  } catch (error) {
    file.destroy();
    await rm(destination, { force: true });
    throw failure(`Download of ${url} stopped after ${receivedBytes} bytes: ${messageOf(error)}.`, error);
  }
  options.onProgress?.(receivedBytes, totalBytes);

  if (totalBytes !== undefined && receivedBytes !== totalBytes) {
    await rm(destination, { force: true });
    throw failure(`Download of ${url} is truncated: received ${receivedBytes} of ${totalBytes} bytes.`);
  }
  return `sha512-${hash.digest('base64')}`;
}
