import { DuoSeaError } from '../errors.js';

/**
 * Characters that GitLab accepts in a generic package name and file name:
 * `Gitlab::Regex::Packages.generic_package_name_regex` and
 * `generic_package_file_name_regex` are both `\A[A-Za-z0-9\.\_\-\+]+\z`.
 */
const PACKAGE_NAME_PATTERN = /^[A-Za-z0-9._+-]+$/;

/** `generic_package_version_regex` of GitLab: word characters, `+`, `.` and `-`, without `..`. */
const PACKAGE_VERSION_PATTERN = /^(?!.*\.\.)[A-Za-z0-9_+.-]+$/;

export function isValidPackageName(name: string): boolean {
  return PACKAGE_NAME_PATTERN.test(name);
}

export function isValidPackageVersion(version: string): boolean {
  return PACKAGE_VERSION_PATTERN.test(version);
}

/** File names follow the same rule as package names in GitLab's generic package registry. */
export function isValidPackageFileName(fileName: string): boolean {
  return PACKAGE_NAME_PATTERN.test(fileName);
}

/** Replaces every character that a generic package name cannot contain with `-`. */
export function sanitizePackageName(name: string): string {
  return name.replace(/[^A-Za-z0-9._+-]/g, '-');
}

/**
 * Returns the default package version of a release: the program's version and
 * the Node version inside the executables, such as `0.0.78-node26.10.0`, so
 * that a rebuild on another Node version gets its own package version and
 * does not mix its files with those of the earlier build.
 */
export function defaultPackageVersion(appVersion: string, nodeVersion: string): string {
  return `${appVersion}-node${nodeVersion}`;
}

/** Throws a usage error unless the name and version are valid for GitLab's generic package registry. */
export function checkPackageCoordinates(packageName: string, packageVersion: string): void {
  if (!isValidPackageName(packageName)) {
    throw new DuoSeaError({
      code: 'E_INVALID_OPTION',
      stage: 'publish',
      input: packageName,
      message: `Invalid package name "${packageName}" for a GitLab generic package.`,
      expected: 'letters, digits, ".", "_", "-" and "+"',
      hint: 'Pass --package-name with a name made of those characters.',
    });
  }
  if (!isValidPackageVersion(packageVersion)) {
    throw new DuoSeaError({
      code: 'E_INVALID_OPTION',
      stage: 'publish',
      input: packageVersion,
      message: `Invalid package version "${packageVersion}" for a GitLab generic package.`,
      expected: 'letters, digits, "_", ".", "-" and "+", without ".."',
      hint: 'Pass --package-version with a version made of those characters, such as 0.0.78-node26.10.0.',
    });
  }
}

/**
 * Returns the REST API root (ending in `/api/v4/`) of a GitLab URL. Both the
 * instance URL (`https://gitlab.example.com`, also with a relative URL root)
 * and the API URL (`$CI_API_V4_URL`) are accepted.
 */
export function apiRootUrl(gitlabUrl: string): URL {
  let url: URL;
  try {
    url = new URL(gitlabUrl);
  } catch (error) {
    throw invalidGitLabUrl(gitlabUrl, error);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidGitLabUrl(gitlabUrl);
  if (url.username || url.password || url.search || url.hash) throw invalidGitLabUrl(gitlabUrl);

  const basePath = url.pathname.replace(/\/+$/, '');
  url.pathname = basePath.endsWith('/api/v4') ? `${basePath}/` : `${basePath}/api/v4/`;
  return url;
}

function invalidGitLabUrl(gitlabUrl: string, cause?: unknown): DuoSeaError {
  return new DuoSeaError({
    code: 'E_INVALID_OPTION',
    stage: 'publish',
    input: gitlabUrl,
    message: `Invalid GitLab URL "${gitlabUrl}".`,
    expected: 'an http or https URL without credentials, query or fragment, such as https://gitlab.example.com',
    hint: 'Pass --gitlab-url with the address of the GitLab instance; in a CI job, $CI_SERVER_URL.',
    cause,
  });
}

/** Returns the URL of an API path of one project, with the project id or path URL-encoded. */
export function projectApiUrl(apiRoot: URL, project: string, pathAfterProject: string): URL {
  return new URL(`projects/${encodeURIComponent(project)}/${pathAfterProject}`, apiRoot);
}

/** Returns the URL that uploads (PUT) and downloads (GET) one file of a generic package. */
export function genericPackageFileUrl(options: { apiRoot: URL; project: string; packageName: string; packageVersion: string; fileName: string }): URL {
  const { packageName, packageVersion, fileName } = options;
  return projectApiUrl(options.apiRoot, options.project, `packages/generic/${packageName}/${packageVersion}/${fileName}`);
}
