import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HttpRequest {
  method: 'GET' | 'PUT';
  url: URL;
  headers: Record<string, string>;
  /** File sent as the request body, with its size for Content-Length. */
  bodyFile?: { path: string; sizeBytes: number };
  /** Time without any data sent or received after which the request fails, in milliseconds. */
  idleTimeoutMs: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The response body as text, cut at MAX_RESPONSE_BYTES. */
  body: string;
}

/** Response bodies are JSON lists or error messages; a larger body is cut rather than held in memory. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** A request that got no HTTP response: connection refused or reset, DNS failure, TLS failure or idle timeout. */
export class HttpTransportError extends Error {
  readonly code: string | undefined;

  constructor(message: string, code: string | undefined, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'HttpTransportError';
    this.code = code;
  }
}

/** Sends one HTTP request, streaming the body file if any, and reads the whole response. */
export function sendRequest(request: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const transport = request.url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { ...request.headers };
    if (request.bodyFile) {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = String(request.bodyFile.sizeBytes);
    }

    let response: HttpResponse | undefined;
    const chunks: Buffer[] = [];
    let receivedBytes = 0;
    const finish = (): void => {
      if (!response) return;
      response.body = Buffer.concat(chunks).toString('utf8');
      resolve(response);
    };

    const outgoing = transport.request(request.url, { method: request.method, headers, timeout: request.idleTimeoutMs }, (incoming) => {
      response = { status: incoming.statusCode ?? 0, headers: incoming.headers, body: '' };
      incoming.on('data', (chunk: Buffer) => {
        if (receivedBytes < MAX_RESPONSE_BYTES) chunks.push(chunk);
        receivedBytes += chunk.length;
      });
      incoming.on('end', finish);
      incoming.on('error', finish);
    });
    outgoing.on('timeout', () => {
      outgoing.destroy(new HttpTransportError(`no data sent or received for ${request.idleTimeoutMs} ms`, 'ETIMEDOUT'));
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      // A server may respond (with 401, for example) and close the connection before the whole body is sent. That response is the result.
      if (response) {
        finish();
        return;
      }
      reject(error instanceof HttpTransportError ? error : new HttpTransportError(error.message, error.code, error));
    });

    if (request.bodyFile) {
      const body = createReadStream(request.bodyFile.path);
      body.on('error', (error) => outgoing.destroy(error));
      body.pipe(outgoing);
    } else {
      outgoing.end();
    }
  });
}

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Wait before the second attempt; each later wait doubles it, in milliseconds. */
  baseDelayMs: number;
  /** Upper bound of every wait, including one that a Retry-After header requests, in milliseconds. */
  maxDelayMs: number;
}

/** Five attempts with waits of 1, 2, 4 and 8 s: a GitLab restart or a short overload passes, a dead server fails in about 15 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000 };

export interface RetryNotice {
  /** The attempt that failed, from 1. */
  attempt: number;
  maxAttempts: number;
  /** `HTTP 503` or the error code, such as `ECONNRESET`. */
  reason: string;
  delayMs: number;
}

/** Error codes of a request that another attempt cannot fix: the name, the certificate or a local file is wrong. */
const PERMANENT_ERROR_CODES = new Set([
  'ENOTFOUND',
  'ENOENT',
  'EACCES',
  'EISDIR',
  'ERR_INVALID_URL',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Returns true for a status that may pass on its own: 429 Too Many Requests and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

export function isRetryableError(error: unknown): boolean {
  return error instanceof HttpTransportError && !PERMANENT_ERROR_CODES.has(error.code ?? '');
}

/** Returns the wait before attempt `failedAttempt + 1`: the Retry-After seconds if the server sent them, else exponential backoff. */
export function retryDelayMs(policy: RetryPolicy, failedAttempt: number, retryAfterHeader?: string | string[]): number {
  const backoffMs = policy.baseDelayMs * 2 ** (failedAttempt - 1);
  const retryAfterSeconds = typeof retryAfterHeader === 'string' && /^\d+$/.test(retryAfterHeader.trim()) ? Number(retryAfterHeader) : undefined;
  const requestedMs = retryAfterSeconds === undefined ? backoffMs : Math.max(backoffMs, retryAfterSeconds * 1000);
  return Math.min(requestedMs, policy.maxDelayMs);
}

/**
 * Sends a request and repeats it on 429, 5xx and transport errors other than
 * permanent ones, up to `policy.maxAttempts` attempts. Any other status is
 * returned at once; so is a retryable status on the last attempt, for the
 * caller to report. Each request streams its body file from the start.
 */
export async function sendWithRetry(request: HttpRequest, policy: RetryPolicy, onRetry: (notice: RetryNotice) => void): Promise<HttpResponse> {
  for (let attempt = 1; ; attempt++) {
    const isLastAttempt = attempt >= policy.maxAttempts;
    let reason: string;
    let delayMs: number;
    try {
      const response = await sendRequest(request);
      if (!isRetryableStatus(response.status) || isLastAttempt) return response;
      reason = `HTTP ${response.status}`;
      delayMs = retryDelayMs(policy, attempt, response.headers['retry-after']);
    } catch (error) {
      if (!isRetryableError(error) || isLastAttempt) throw error;
      reason = (error as HttpTransportError).code ?? (error as Error).message;
      delayMs = retryDelayMs(policy, attempt);
    }
    onRetry({ attempt, maxAttempts: policy.maxAttempts, reason, delayMs });
    await sleep(delayMs);
  }
}
