import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import type { BuildEvent } from '../../../src/events.js';
import { publish, type PublishOptions } from '../../../src/publish/publish.js';
import { FakeGitLab } from '../../e2e/fake-gitlab.js';

const TOKEN = 'glpat-test-token-0123';
const FAST_RETRIES = { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 5 };
const FILES = {
  'tool-linux-x64': 'linux executable bytes',
  'tool-linux-x64.tar.gz': 'archive bytes',
  'install.sh': '#!/bin/sh\necho install\n',
  'manifest.json': JSON.stringify({ app: { package: '@example/tool', version: '1.2.3', bin: 'tool' }, node: { version: '26.10.0' } }),
};

let gitlab: FakeGitLab;
let gitlabUrl: string;
let releaseDir: string;

beforeEach(async () => {
  gitlab = new FakeGitLab({ project: '42', token: TOKEN, maxPageSize: 2 });
  gitlabUrl = await gitlab.start();
  releaseDir = writeRelease(FILES);
});

afterEach(async () => {
  await gitlab.stop();
  rmSync(releaseDir, { recursive: true, force: true });
});

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function writeRelease(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-publish-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  writeFileSync(path.join(dir, 'SHA256SUMS'), Object.entries(files).map(([name, content]) => `${sha256(content)}  ${name}\n`).join(''));
  return dir;
}

function run(options: Partial<PublishOptions> = {}, env: NodeJS.ProcessEnv = { GITLAB_TOKEN: TOKEN }): Promise<Awaited<ReturnType<typeof publish>>> {
  return publish({ dir: releaseDir, gitlabUrl, project: '42', env, retryPolicy: FAST_RETRIES, ...options });
}

async function failureOf(promise: Promise<unknown>): Promise<DuoSeaError> {
  const failure = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(DuoSeaError);
  return failure as DuoSeaError;
}

describe('publish', () => {
  it('uploads every file with its bytes', async () => {
    await run();

    for (const name of [...Object.keys(FILES), 'SHA256SUMS']) {
      expect(gitlab.newestFile('tool', '1.2.3-node26.10.0', name)?.bytes.equals(readFileSync(path.join(releaseDir, name))), name).toBe(true);
    }
  });

  it('uploads SHA256SUMS last', async () => {
    await run();

    expect(gitlab.uploads().at(-1)?.url).toContain('/SHA256SUMS?');
  });

  it('sends GITLAB_TOKEN as PRIVATE-TOKEN', async () => {
    await run();

    expect(new Set(gitlab.requests.map((request) => request.tokenHeader))).toEqual(new Set(['private-token']));
  });

  it('sends CI_JOB_TOKEN as JOB-TOKEN', async () => {
    await run({}, { CI_JOB_TOKEN: TOKEN });

    expect(new Set(gitlab.requests.map((request) => request.tokenHeader))).toEqual(new Set(['job-token']));
  });

  it('returns the download URL of each file', async () => {
    const result = await run();

    expect(result.baseUrl).toBe(`${gitlabUrl}/api/v4/projects/42/packages/generic/tool/1.2.3-node26.10.0`);
    expect(result.files.find((file) => file.file === 'tool-linux-x64')?.url).toBe(`${result.baseUrl}/tool-linux-x64`);
  });

  it('uploads nothing the second time', async () => {
    await run();
    const uploadsBefore = gitlab.uploads().length;

    const second = await run();

    expect(gitlab.uploads()).toHaveLength(uploadsBefore);
    expect(new Set(second.files.map((file) => file.action))).toEqual(new Set(['skipped']));
  });

  it('ignores packages whose name only contains the name', async () => {
    await run({ packageName: 'tool-extra' });

    const result = await run();

    expect(new Set(result.files.map((file) => file.action))).toEqual(new Set(['uploaded']));
  });

  it('retries uploads that fail with 503', async () => {
    gitlab.uploadFailures.push(503, 503);
    const warnings: string[] = [];

    await run({ report: (event: BuildEvent) => (event.kind === 'warning' ? warnings.push(event.message) : undefined) });

    expect(gitlab.newestFile('tool', '1.2.3-node26.10.0', 'SHA256SUMS')).toBeDefined();
    expect(gitlab.packages[0].files).toHaveLength(Object.keys(FILES).length + 1);
    expect(warnings).toHaveLength(2);
  });

  it('fails on 401 without retrying', async () => {
    const failure = await failureOf(run({}, { GITLAB_TOKEN: 'wrong-token' }));

    expect(failure.code).toBe('E_PUBLISH_FAILED');
    expect(failure.found).toBe('HTTP 401');
    expect(failure.hint).toContain('GITLAB_TOKEN');
    expect(gitlab.requests).toHaveLength(1);
  });

  it('names the file of a 403 upload', async () => {
    gitlab.uploadStatus = 403;

    const failure = await failureOf(run());

    expect(failure.input).toContain('/install.sh');
    expect(failure.hint).toContain('Developer role');
  });

  it('keeps the token out of error messages', async () => {
    gitlab.uploadStatus = 403;

    const failure = await failureOf(run());

    expect(JSON.stringify(failure.toJSON())).not.toContain(TOKEN);
  });

  it('uploads nothing when a published file differs', async () => {
    await run();
    const uploadsBefore = gitlab.uploads().length;
    writeFileSync(path.join(releaseDir, 'tool-linux-x64'), 'rebuilt bytes');
    writeFileSync(path.join(releaseDir, 'SHA256SUMS'), readFileSync(path.join(releaseDir, 'SHA256SUMS'), 'utf8').replace(sha256(FILES['tool-linux-x64']), sha256('rebuilt bytes')));

    const failure = await failureOf(run());

    expect(failure.code).toBe('E_PUBLISH_CONFLICT');
    expect(failure.message).toContain('tool-linux-x64');
    expect(gitlab.uploads()).toHaveLength(uploadsBefore);
  });

  it('replaces differing files with --replace', async () => {
    await run();
    writeFileSync(path.join(releaseDir, 'tool-linux-x64'), 'rebuilt bytes');
    writeFileSync(path.join(releaseDir, 'SHA256SUMS'), readFileSync(path.join(releaseDir, 'SHA256SUMS'), 'utf8').replace(sha256(FILES['tool-linux-x64']), sha256('rebuilt bytes')));

    const result = await run({ replace: true });

    expect(result.files.filter((file) => file.action === 'replaced').map((file) => file.file)).toEqual(['tool-linux-x64', 'SHA256SUMS']);
    expect(gitlab.newestFile('tool', '1.2.3-node26.10.0', 'tool-linux-x64')?.bytes.toString()).toBe('rebuilt bytes');
  });

  it('sends nothing for a damaged release', async () => {
    writeFileSync(path.join(releaseDir, 'tool-linux-x64.tar.gz'), 'damaged');

    const failure = await failureOf(run());

    expect(failure.code).toBe('E_RELEASE_INVALID');
    expect(gitlab.requests).toHaveLength(0);
  });

  it('takes URL and project from GitLab CI variables', async () => {
    const result = await publish({
      dir: releaseDir,
      env: { CI_JOB_TOKEN: TOKEN, CI_API_V4_URL: `${gitlabUrl}/api/v4`, CI_PROJECT_ID: '42' },
      retryPolicy: FAST_RETRIES,
    });

    expect(result.files).toHaveLength(Object.keys(FILES).length + 1);
  });

  it('requires a token', async () => {
    const failure = await failureOf(run({}, {}));

    expect(failure.code).toBe('E_INVALID_OPTION');
    expect(failure.message).toContain('GITLAB_TOKEN');
  });
});

describe('publish to a project path', () => {
  it('URL-encodes the path', async () => {
    const pathGitLab = new FakeGitLab({ project: 'tools%2Fduo', token: TOKEN });
    const url = await pathGitLab.start();
    try {
      await publish({ dir: releaseDir, gitlabUrl: url, project: 'tools/duo', env: { GITLAB_TOKEN: TOKEN }, retryPolicy: FAST_RETRIES });
    } finally {
      await pathGitLab.stop();
    }

    expect(pathGitLab.uploads()).toHaveLength(Object.keys(FILES).length + 1);
  });
});
