import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An in-memory stand-in for the parts of GitLab's REST API that duo-sea
 * publish and install.sh use, on 127.0.0.1: generic package upload and
 * download, the project package list and the package file list, with
 * GitLab's pagination headers and token headers.
 */

export interface StoredFile {
  id: number;
  fileName: string;
  bytes: Buffer;
  sha256: string;
}

export interface StoredPackage {
  id: number;
  name: string;
  version: string;
  files: StoredFile[];
}

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  /** Header that carried a token: `private-token`, `job-token`, `authorization` or none. */
  tokenHeader: string | undefined;
  tokenValue: string | undefined;
}

export interface FakeGitLabOptions {
  /** Project id as it appears in the URL, such as `42` or `tools%2Fduo`. */
  project: string;
  /** The only token accepted. */
  token: string;
  /** Page size cap, lower than GitLab's 100 so that tests reach page 2. */
  maxPageSize?: number;
}

export class FakeGitLab {
  readonly packages: StoredPackage[] = [];
  readonly requests: RecordedRequest[] = [];
  /** Status codes that the next uploads respond with instead of storing the file, one per upload. */
  readonly uploadFailures: number[] = [];
  /** Status code that every upload responds with, such as 403. */
  uploadStatus: number | undefined;
  private nextId = 1;
  private server: http.Server | undefined;

  constructor(private readonly options: FakeGitLabOptions) {}

  async start(): Promise<string> {
    this.server = http.createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        response.statusCode = 500;
        response.end(JSON.stringify({ message: String(error) }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  uploads(): RecordedRequest[] {
    return this.requests.filter((request) => request.method === 'PUT');
  }

  /** Returns the newest stored file of that name in the package, as a download would. */
  newestFile(name: string, version: string, fileName: string): StoredFile | undefined {
    const files = this.packages.filter((entry) => entry.name === name && entry.version === version).flatMap((entry) => entry.files);
    return files.filter((file) => file.fileName === fileName).sort((left, right) => right.id - left.id)[0];
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const body = await readBody(request);
    const token = tokenOf(request);
    this.requests.push({ method: request.method ?? '', url: request.url ?? '', tokenHeader: token?.header, tokenValue: token?.value });
    response.setHeader('content-type', 'application/json');
    if (token?.value !== this.options.token) return send(response, 401, { message: '401 Unauthorized' });

    const url = new URL(request.url ?? '/', 'http://fake');
    const prefix = `/api/v4/projects/${this.options.project}/packages`;
    if (!url.pathname.startsWith(prefix)) return send(response, 404, { message: '404 Project Not Found' });
    const rest = url.pathname.slice(prefix.length);

    const generic = /^\/generic\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(rest);
    if (generic && request.method === 'PUT') return this.upload(response, generic[1], generic[2], generic[3], body, url);
    if (generic && request.method === 'GET') return this.download(response, generic[1], generic[2], generic[3]);
    if (rest === '' && request.method === 'GET') return this.listPackages(response, url);
    const files = /^\/(\d+)\/package_files$/.exec(rest);
    if (files && request.method === 'GET') return this.listFiles(response, Number(files[1]), url);
    return send(response, 404, { message: '404 Not Found' });
  }

  private upload(response: http.ServerResponse, name: string, version: string, fileName: string, bytes: Buffer, url: URL): void {
    const failure = this.uploadFailures.shift() ?? this.uploadStatus;
    if (failure !== undefined) return send(response, failure, { message: `${failure} injected` });

    let entry = this.packages.find((candidate) => candidate.name === name && candidate.version === version);
    if (!entry) {
      entry = { id: this.nextId++, name, version, files: [] };
      this.packages.push(entry);
    }
    const file = { id: this.nextId++, fileName, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
    entry.files.push(file);
    const record = { id: file.id, package_id: entry.id, file_name: fileName, size: bytes.length, file_sha256: file.sha256 };
    send(response, 201, url.searchParams.get('select') === 'package_file' ? record : { message: '201 Created' });
  }

  private download(response: http.ServerResponse, name: string, version: string, fileName: string): void {
    const file = this.newestFile(name, version, fileName);
    if (!file) return send(response, 404, { message: '404 Package Not Found' });
    response.setHeader('content-type', 'application/octet-stream');
    response.end(file.bytes);
  }

  private listPackages(response: http.ServerResponse, url: URL): void {
    const name = url.searchParams.get('package_name') ?? '';
    const version = url.searchParams.get('package_version');
    // GitLab's package_name filter is a fuzzy search, so it also returns names that only contain it.
    const found = this.packages.filter((entry) => entry.name.includes(name) && (version === null || entry.version === version));
    sendPage(response, url, found.map(({ id, name: packageName, version: packageVersion }) => ({ id, name: packageName, version: packageVersion, package_type: 'generic' })), this.options.maxPageSize);
  }

  private listFiles(response: http.ServerResponse, packageId: number, url: URL): void {
    const entry = this.packages.find((candidate) => candidate.id === packageId);
    if (!entry) return send(response, 404, { message: '404 Not Found' });
    const files = entry.files.map((file) => ({ id: file.id, package_id: entry.id, file_name: file.fileName, size: file.bytes.length, file_sha256: file.sha256 }));
    sendPage(response, url, files, this.options.maxPageSize);
  }
}

function tokenOf(request: http.IncomingMessage): { header: string; value: string } | undefined {
  for (const header of ['private-token', 'job-token']) {
    const value = request.headers[header];
    if (typeof value === 'string') return { header, value };
  }
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8');
    return { header: 'authorization', value: decoded.slice(decoded.indexOf(':') + 1) };
  }
  return undefined;
}

function readBody(request: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.end(JSON.stringify(body));
}

/** Sends one page of a list with GitLab's offset pagination headers; X-Next-Page is empty on the last page. */
function sendPage(response: http.ServerResponse, url: URL, items: unknown[], maxPageSize = 100): void {
  const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 20), maxPageSize);
  const page = Number(url.searchParams.get('page') ?? 1);
  const pageItems = items.slice((page - 1) * perPage, page * perPage);
  response.setHeader('x-page', String(page));
  response.setHeader('x-next-page', page * perPage < items.length ? String(page + 1) : '');
  send(response, 200, pageItems);
}
