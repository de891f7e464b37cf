import { describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import {
  apiRootUrl,
  checkPackageCoordinates,
  defaultPackageVersion,
  genericPackageFileUrl,
  isValidPackageFileName,
  isValidPackageName,
  isValidPackageVersion,
  sanitizePackageName,
} from '../../../src/publish/gitlab-names.js';

describe('package names', () => {
  it.each(['srt', 'duo-cli', 'my_tool.v2', 'a+b'])('accepts %s', (name) => {
    expect(isValidPackageName(name)).toBe(true);
  });

  it.each(['', '@scope/tool', 'two words', 'tool~1', 'ü'])('rejects "%s"', (name) => {
    expect(isValidPackageName(name)).toBe(false);
  });

  it('sanitizes a scoped npm name', () => {
    expect(sanitizePackageName('@anthropic-ai/sandbox-runtime')).toBe('-anthropic-ai-sandbox-runtime');
  });

  it('accepts release file names', () => {
    for (const file of ['srt-linux-x64', 'srt-linux-x64.tar.gz', 'srt-win-x64.exe', 'SHA256SUMS', 'manifest.json', 'install.sh']) {
      expect(isValidPackageFileName(file), file).toBe(true);
    }
  });
});

describe('package versions', () => {
  it.each(['0.0.78', '0.0.78-node26.10.0', '1.2.3+build.5', 'v1_2'])('accepts %s', (version) => {
    expect(isValidPackageVersion(version)).toBe(true);
  });

  it.each(['', '1..2', '1.2/3', '1 2'])('rejects "%s"', (version) => {
    expect(isValidPackageVersion(version)).toBe(false);
  });

  it('joins program and Node versions by default', () => {
    expect(defaultPackageVersion('0.0.78', '26.10.0')).toBe('0.0.78-node26.10.0');
  });

  it('reports an invalid version as a usage error', () => {
    let failure: unknown;
    try {
      checkPackageCoordinates('srt', '1..2');
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(DuoSeaError);
    expect((failure as DuoSeaError).code).toBe('E_INVALID_OPTION');
    expect((failure as DuoSeaError).hint).toMatch(/--package-version/);
  });
});

describe('apiRootUrl', () => {
  it.each([
    ['https://gitlab.example.com', 'https://gitlab.example.com/api/v4/'],
    ['https://gitlab.example.com/', 'https://gitlab.example.com/api/v4/'],
    ['https://example.com/gitlab', 'https://example.com/gitlab/api/v4/'],
    ['https://gitlab.example.com/api/v4', 'https://gitlab.example.com/api/v4/'],
    ['http://127.0.0.1:8080/api/v4/', 'http://127.0.0.1:8080/api/v4/'],
  ])('maps %s to the API root', (input, expected) => {
    expect(apiRootUrl(input).toString()).toBe(expected);
  });

  it.each(['gitlab.example.com', 'ftp://gitlab.example.com', 'https://user:secret@gitlab.example.com'])('rejects %s', (input) => {
    expect(() => apiRootUrl(input)).toThrow(/Invalid GitLab URL/);
  });
});

describe('genericPackageFileUrl', () => {
  it('encodes a project path', () => {
    const url = genericPackageFileUrl({
      apiRoot: apiRootUrl('https://gitlab.example.com'),
      project: 'tools/duo',
      packageName: 'srt',
      packageVersion: '0.0.78-node26.10.0',
      fileName: 'srt-linux-x64',
    });

    expect(url.toString()).toBe('https://gitlab.example.com/api/v4/projects/tools%2Fduo/packages/generic/srt/0.0.78-node26.10.0/srt-linux-x64');
  });
});
