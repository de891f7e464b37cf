import { DuoSeaError, messageOf } from '../errors.js';
import type { Reporter } from '../events.js';
import { genericPackageFileUrl, projectApiUrl } from './gitlab-names.js';
import { HttpTransportError, sendWithRetry, type HttpRequest, type HttpResponse, type RetryPolicy } from './http.js';

/** A GitLab token and the header that carries it, as GitLab's REST API documents them. */
export interface GitLabToken {
  /** `PRIVATE-TOKEN` for personal, project and group access tokens; `JOB-TOKEN` for CI_JOB_TOKEN. */
  header: 'PRIVATE-TOKEN' | 'JOB-TOKEN';
  value: string;
  /** The environment variable it came from, named in error messages instead of the value. */
  source: 'GITLAB_TOKEN' | 'CI_JOB_TOKEN';
}

/** Takes the token from GITLAB_TOKEN, else from CI_JOB_TOKEN, which GitLab sets in every CI job. */
export function tokenFromEnvironment(env: NodeJS.ProcessEnv): GitLabToken {
  if (env.GITLAB_TOKEN) return { header: 'PRIVATE-TOKEN', value: env.GITLAB_TOKEN, source: 'GITLAB_TOKEN' };
  if (env.CI_JOB_TOKEN) return { header: 'JOB-TOKEN', value: env.CI_JOB_TOKEN, source: 'CI_JOB_TOKEN' };
  throw new DuoSeaError({
    code: 'E_INVALID_OPTION',
    stage: 'publish',
    input: 'GITLAB_TOKEN, CI_JOB_TOKEN',
    message: 'No GitLab token: neither GITLAB_TOKEN nor CI_JOB_TOKEN is set.',
    hint: 'Set GITLAB_TOKEN to a personal or project access token with the api scope, or run in a GitLab CI job, which sets CI_JOB_TOKEN.',
  });
}

/** The newest file of that name in a package, which is the one GitLab serves for a download. */
export interface PublishedFile {
  fileName: string;
  sha256: string | undefined;
  sizeBytes: number;
}

interface PackageEntry {
  id: number;
  name: string;
  version: string;
}

interface PackageFileEntry {
  id: number;
  file_name: string;
  size: number;
  file_sha256?: string | null;
}

/** The largest page size of GitLab's paginated REST API. */
const PAGE_SIZE = 100;

export interface GitLabClientOptions {
  apiRoot: URL;
  /** Numeric project id or full path, such as `42` or `tools/duo`. */
  project: string;
  token: GitLabToken;
  retryPolicy: RetryPolicy;
  idleTimeoutMs: number;
  report: Reporter;
}

/** The few calls of GitLab's Packages API and generic packages API that publishing needs. */
export class GitLabClient {
  constructor(private readonly options: GitLabClientOptions) {}

  fileUrl(packageName: string, packageVersion: string, fileName: string): URL {
    return genericPackageFileUrl({ apiRoot: this.options.apiRoot, project: this.options.project, packageName, packageVersion, fileName });
  }

  /**
   * Lists the files already in the generic package `packageName` at
   * `packageVersion`, by file name. The list filter `package_name` is a fuzzy
   * search and `package_version` needs GitLab 16.6, so both are checked here
   * again. Where a name occurs several times, the newest file (highest id) is
   * kept, since a download returns that one.
   */
  async listPublishedFiles(packageName: string, packageVersion: string): Promise<Map<string, PublishedFile>> {
    const query = { package_type: 'generic', package_name: packageName, package_version: packageVersion };
    const packages = await this.getAllPages<PackageEntry>('packages', query, `the packages named ${packageName}`);
    const newest = new Map<string, PackageFileEntry>();
    for (const entry of packages.filter((candidate) => candidate.name === packageName && candidate.version === packageVersion)) {
      const files = await this.getAllPages<PackageFileEntry>(`packages/${entry.id}/package_files`, {}, `the files of package ${packageName} ${packageVersion}`);
      for (const file of files) {
        const known = newest.get(file.file_name);
        if (!known || file.id > known.id) newest.set(file.file_name, file);
      }
    }
    return new Map(
      [...newest].map(([fileName, file]) => [fileName, { fileName, sha256: file.file_sha256 ?? undefined, sizeBytes: file.size }]),
    );
  }

  /**
   * Uploads one file to the generic package. With `select=package_file`
   * GitLab responds with the stored file's record, and its `file_sha256` must
   * equal the local one. Older GitLab versions respond without that field.
   */
  async uploadFile(file: { name: string; path: string; sizeBytes: number; sha256: string }, packageName: string, packageVersion: string): Promise<void> {
    const url = this.fileUrl(packageName, packageVersion, file.name);
    url.search = new URLSearchParams({ select: 'package_file' }).toString();
    const response = await this.send({ method: 'PUT', url, bodyFile: { path: file.path, sizeBytes: file.sizeBytes } }, `upload of ${file.name}`);
    if (response.status < 200 || response.status > 299) throw this.statusError(response, 'PUT', url, `upload of ${file.name}`);

    const storedSha256 = parseJson<{ file_sha256?: string | null }>(response.body)?.file_sha256;
    if (typeof storedSha256 === 'string' && storedSha256.toLowerCase() !== file.sha256) {
      throw new DuoSeaError({
        code: 'E_PUBLISH_FAILED',
        stage: 'publish',
        input: file.name,
        message: `GitLab stored other bytes for ${file.name} than were sent.`,
        expected: file.sha256,
        found: storedSha256,
        hint: 'Check for a proxy that changes uploads, then publish again; the next upload of this file replaces the damaged one.',
      });
    }
  }

  private async getAllPages<T>(apiPath: string, query: Record<string, string>, operation: string): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; ; page++) {
      const pageQuery = new URLSearchParams({ ...query, per_page: String(PAGE_SIZE), page: String(page) });
      const url = projectApiUrl(this.options.apiRoot, this.options.project, `${apiPath}?${pageQuery}`);
      const response = await this.send({ method: 'GET', url }, `listing of ${operation}`);
      if (response.status !== 200) throw this.statusError(response, 'GET', url, `listing of ${operation}`);
      const pageItems = parseJson<T[]>(response.body);
      if (!Array.isArray(pageItems)) throw this.unexpectedResponse(url, response);
      items.push(...pageItems);
      // GitLab leaves X-Next-Page empty on the last page. Without the header, a short page ends the list.
      const nextPage = response.headers['x-next-page'];
      const isLastPage = typeof nextPage === 'string' ? nextPage.trim() === '' : pageItems.length < PAGE_SIZE;
      if (isLastPage || pageItems.length === 0) return items;
    }
  }

  private async send(request: Pick<HttpRequest, 'method' | 'url' | 'bodyFile'>, operation: string): Promise<HttpResponse> {
    const { token, retryPolicy, report } = this.options;
    try {
      return await sendWithRetry({ ...request, headers: { [token.header]: token.value, accept: 'application/json' }, idleTimeoutMs: this.options.idleTimeoutMs }, retryPolicy, (notice) =>
        report({
          kind: 'warning',
          message: `${operation} failed (${notice.reason}, attempt ${notice.attempt} of ${notice.maxAttempts}); retrying in ${(notice.delayMs / 1000).toFixed(1)} s`,
        }),
      );
    } catch (error) {
      throw this.transportError(error, request.method, request.url, operation);
    }
  }

  private transportError(error: unknown, method: string, url: URL, operation: string): DuoSeaError {
    const code = error instanceof HttpTransportError ? error.code : undefined;
    const isCertificateError = code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO/.test(code);
    return new DuoSeaError({
      code: 'E_PUBLISH_FAILED',
      stage: 'publish',
      input: `${method} ${displayUrl(url)}`,
      message: `The ${operation} failed: ${messageOf(error)}.`,
      hint: isCertificateError
        ? 'The TLS certificate of GitLab is not trusted: set NODE_EXTRA_CA_CERTS to a PEM file with your CA certificate.'
        : 'Check that --gitlab-url is reachable from this machine, then publish again; files already uploaded are skipped.',
      cause: error,
    });
  }

  private statusError(response: HttpResponse, method: string, url: URL, operation: string): DuoSeaError {
    const { token, project } = this.options;
    const detail = gitLabMessage(response.body);
    const hints: Record<number, string> = {
      401: `GitLab did not accept the token from ${token.source}: check that it is valid, not expired, and (for an access token) has the api scope.`,
      403: `The token from ${token.source} may not write packages to project ${project}: it needs at least the Developer role there, the project's package registry must be on, and a CI job token works only in that project or one on its job token allowlist.`,
      404: `Project ${project} was not found, or the token from ${token.source} cannot see it: check --project (the numeric id or the full path).`,
    };
    return new DuoSeaError({
      code: 'E_PUBLISH_FAILED',
      stage: 'publish',
      input: `${method} ${displayUrl(url)}`,
      message: `The ${operation} failed with HTTP ${response.status}${detail ? `: ${detail}` : ''}.`,
      found: `HTTP ${response.status}`,
      hint:
        hints[response.status] ??
        (response.status >= 500 || response.status === 429
          ? 'GitLab kept failing after retries: try again later; files already uploaded are skipped.'
          : 'Check the package name, version and file names against what GitLab accepts, and the message above.'),
    });
  }

  private unexpectedResponse(url: URL, response: HttpResponse): DuoSeaError {
    return new DuoSeaError({
      code: 'E_PUBLISH_FAILED',
      stage: 'publish',
      input: `GET ${displayUrl(url)}`,
      message: `GitLab responded with something other than a JSON list: "${response.body.slice(0, 200)}".`,
      hint: 'Check that --gitlab-url is the address of a GitLab instance, not of a proxy or login page.',
    });
  }
}

/** Returns the URL without its query, which carries no secret but makes messages long. */
function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    // Not JSON, such as an HTML error page of a proxy: the caller reports the status instead.
    return undefined;
  }
}

/** Returns GitLab's error text (`{"message": ...}` or `{"error": ...}`), or the start of a non-JSON body. */
function gitLabMessage(body: string): string {
  const parsed = parseJson<{ message?: unknown; error?: unknown }>(body);
  const message = parsed?.message ?? parsed?.error;
  if (message !== undefined) return (typeof message === 'string' ? message : JSON.stringify(message)).slice(0, 300);
  return body.trim().slice(0, 200);
}
