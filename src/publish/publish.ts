import { DuoSeaError } from '../errors.js';
import { silentReporter, timeStage, type Reporter } from '../events.js';
import { formatBytes } from '../format.js';
import { GitLabClient, tokenFromEnvironment, type PublishedFile } from './gitlab-api.js';
import { apiRootUrl, checkPackageCoordinates, defaultPackageVersion, sanitizePackageName } from './gitlab-names.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './http.js';
import { readRelease, type Release, type ReleaseFile } from './release.js';

/** Time without any data sent or received after which a request is retried, in milliseconds. */
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface PublishOptions {
  /** Output folder of `duo-sea build` or `duo-sea assemble`. */
  dir: string;
  /** GitLab instance URL or its API URL. Default: `$CI_API_V4_URL`. */
  gitlabUrl?: string;
  /** Numeric project id or full project path. Default: `$CI_PROJECT_ID`. */
  project?: string;
  /** Default: the bin name from manifest.json, with characters GitLab rejects replaced by `-`. */
  packageName?: string;
  /** Default: `<program version>-node<Node version>` from manifest.json, such as `0.0.78-node26.10.0`. */
  packageVersion?: string;
  /** Upload files whose name is already published with other bytes; GitLab then serves the new ones. */
  replace?: boolean;
  /** Environment that contains the token and the CI defaults. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  report?: Reporter;
  retryPolicy?: RetryPolicy;
  idleTimeoutMs?: number;
}

export interface PublishedFileResult {
  file: string;
  sizeBytes: number;
  sha256: string;
  /** `skipped`: GitLab already had a file of this name with this SHA-256. */
  action: 'uploaded' | 'replaced' | 'skipped';
  /** Download URL of the file in the generic package registry. */
  url: string;
}

export interface PublishResult {
  packageName: string;
  packageVersion: string;
  /** URL of the package folder, which install.sh takes as --base-url. */
  baseUrl: string;
  files: PublishedFileResult[];
}

/**
 * Uploads a release folder to a GitLab generic package: every file that
 * SHA256SUMS lists, manifest.json and SHA256SUMS itself, one at a time, since
 * GitLab documents that parallel uploads into a new package can fail. The
 * folder is checked against SHA256SUMS first, and files that GitLab already
 * has with the same SHA-256 are skipped, so a publish can be run again after
 * a failure.
 */
export async function publish(options: PublishOptions): Promise<PublishResult> {
  const env = options.env ?? process.env;
  const report = options.report ?? silentReporter;
  const apiRoot = apiRootUrl(requireOption(options.gitlabUrl ?? env.CI_API_V4_URL, '--gitlab-url', 'CI_API_V4_URL'));
  const project = requireOption(options.project ?? env.CI_PROJECT_ID, '--project', 'CI_PROJECT_ID');
  const token = tokenFromEnvironment(env);
  if (apiRoot.protocol === 'http:' && !isLoopback(apiRoot.hostname)) {
    report({ kind: 'warning', message: `${apiRoot.origin} is plain http, so the token from ${token.source} crosses the network unencrypted` });
  }

  const release = await timeStage(report, 'check', undefined, () => readRelease(options.dir));
  for (const name of release.unlistedFiles) report({ kind: 'info', message: `not published: ${name} is not listed in SHA256SUMS` });
  const packageName = options.packageName ?? sanitizePackageName(release.manifest.app.bin);
  const packageVersion = options.packageVersion ?? defaultPackageVersion(release.manifest.app.version, release.manifest.node.version);
  checkPackageCoordinates(packageName, packageVersion);

  const client = new GitLabClient({
    apiRoot,
    project,
    token,
    retryPolicy: options.retryPolicy ?? DEFAULT_RETRY_POLICY,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    report,
  });
  const published = await timeStage(report, 'list', undefined, () => client.listPublishedFiles(packageName, packageVersion));
  const plan = planUploads(release, published);
  if (plan.conflicts.length > 0 && !options.replace) throw conflictError(plan.conflicts, packageName, packageVersion);

  const files: PublishedFileResult[] = [];
  for (const { file, action } of plan.steps) {
    const url = client.fileUrl(packageName, packageVersion, file.name).toString();
    if (action === 'skipped') {
      report({ kind: 'info', message: `skipped ${file.name} (${formatBytes(file.sizeBytes)}): GitLab has it with the same SHA-256` });
    } else {
      await timeStage(report, 'upload', file.name, () => client.uploadFile(file, packageName, packageVersion));
    }
    files.push({ file: file.name, sizeBytes: file.sizeBytes, sha256: file.sha256, action, url });
  }
  const baseUrl = client.fileUrl(packageName, packageVersion, '').toString().replace(/\/$/, '');
  return { packageName, packageVersion, baseUrl, files };
}

interface UploadPlan {
  steps: { file: ReleaseFile; action: PublishedFileResult['action'] }[];
  conflicts: { file: ReleaseFile; published: PublishedFile }[];
}

/**
 * Decides per file: skip it when GitLab has the same SHA-256 under that name,
 * upload it when GitLab has no file of that name, and replace it otherwise.
 * A published file without a SHA-256 (GitLab before it stored one) counts as
 * different.
 */
export function planUploads(release: Release, published: Map<string, PublishedFile>): UploadPlan {
  const plan: UploadPlan = { steps: [], conflicts: [] };
  for (const file of release.files) {
    const existing = published.get(file.name);
    if (!existing) {
      plan.steps.push({ file, action: 'uploaded' });
    } else if (existing.sha256 === file.sha256) {
      plan.steps.push({ file, action: 'skipped' });
    } else {
      plan.steps.push({ file, action: 'replaced' });
      plan.conflicts.push({ file, published: existing });
    }
  }
  return plan;
}

function conflictError(conflicts: UploadPlan['conflicts'], packageName: string, packageVersion: string): DuoSeaError {
  const lines = conflicts.map(({ file, published }) => `${file.name}: published ${published.sha256 ?? 'without a SHA-256'}, local ${file.sha256}`);
  return new DuoSeaError({
    code: 'E_PUBLISH_CONFLICT',
    stage: 'publish',
    input: `${packageName}/${packageVersion}`,
    message: `Package ${packageName} ${packageVersion} already has ${conflicts.length} of these files with other bytes, so nothing was uploaded:\n  ${lines.join('\n  ')}`,
    hint: 'Publish this build under a new --package-version, or pass --replace to upload it over the published files (GitLab then serves the new ones).',
  });
}

function requireOption(value: string | undefined, flag: string, variable: string): string {
  if (value) return value;
  throw new DuoSeaError({
    code: 'E_INVALID_OPTION',
    stage: 'publish',
    input: flag,
    message: `${flag} is required outside GitLab CI, where ${variable} is not set.`,
    hint: `Pass ${flag}.`,
  });
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname);
}
