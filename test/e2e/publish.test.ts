import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGitLab } from './fake-gitlab.js';
import { removeTempDirs, runCli, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const TOKEN = 'glpat-e2e-secret-4711';
const VERSION = '1.2.3-node26.10.0';
const FILES = {
  'tool-linux-x64': 'linux executable bytes',
  'tool-win-x64.exe': 'windows executable bytes',
  'tool-linux-x64.tar.gz': 'archive bytes',
  'manifest.json': JSON.stringify({ app: { package: '@example/tool', version: '1.2.3', bin: 'tool' }, node: { version: '26.10.0' } }),
};
/** Variables of a GitLab CI job that would change what publish does, removed so that only the test's own values apply. */
const CLEAN_ENV = { GITLAB_TOKEN: undefined, CI_JOB_TOKEN: undefined, CI_API_V4_URL: undefined, CI_PROJECT_ID: undefined };

let gitlab: FakeGitLab;
let gitlabUrl: string;
let releaseDir: string;

function writeRelease(): string {
  const dir = tempDir('publish-release');
  for (const [name, content] of Object.entries(FILES)) writeFileSync(path.join(dir, name), content);
  const sums = Object.entries(FILES).map(([name, content]) => `${createHash('sha256').update(content).digest('hex')}  ${name}\n`);
  writeFileSync(path.join(dir, 'SHA256SUMS'), sums.join(''));
  return dir;
}

function publishCli(extraArgs: string[] = [], env: NodeJS.ProcessEnv = { GITLAB_TOKEN: TOKEN }): ReturnType<typeof runCli> {
  return runCli(['publish', releaseDir, '--gitlab-url', gitlabUrl, '--project', '42', ...extraArgs], {
    cwd: releaseDir,
    env: { ...CLEAN_ENV, ...env },
    timeoutMs: 60_000,
  });
}

beforeEach(async () => {
  gitlab = new FakeGitLab({ project: '42', token: TOKEN });
  gitlabUrl = await gitlab.start();
  releaseDir = writeRelease();
});

afterEach(async () => {
  await gitlab.stop();
});

describe('duo-sea publish', () => {
  it('uploads every file with the token', async () => {
    const run = await publishCli();

    expect(run.stderr).not.toContain('error');
    expect(run.status).toBe(0);
    for (const name of [...Object.keys(FILES), 'SHA256SUMS']) {
      expect(gitlab.newestFile('tool', VERSION, name), name).toBeDefined();
    }
    expect(gitlab.uploads().every((request) => request.tokenHeader === 'private-token' && request.tokenValue === TOKEN)).toBe(true);
  });

  it('prints each download URL', async () => {
    const run = await publishCli();

    expect(run.stdout).toContain(`${gitlabUrl}/api/v4/projects/42/packages/generic/tool/${VERSION}/tool-linux-x64`);
    expect(run.stdout).toContain(`--base-url ${gitlabUrl}/api/v4/projects/42/packages/generic/tool/${VERSION}`);
  });

  it('uploads nothing the second time', async () => {
    await publishCli();
    const uploadsBefore = gitlab.uploads().length;

    const second = await publishCli();

    expect(second.status).toBe(0);
    expect(gitlab.uploads()).toHaveLength(uploadsBefore);
    expect(second.stdout).toContain('0 of 5 files uploaded');
  });

  it('gets every file through two 503 answers', async () => {
    gitlab.uploadFailures.push(503, 503);

    const run = await publishCli();

    expect(run.status).toBe(0);
    expect(gitlab.packages[0].files).toHaveLength(5);
    expect(run.stderr).toContain('HTTP 503, attempt 2 of 5');
  }, 30_000);

  it('explains a rejected token', async () => {
    const run = await publishCli([], { GITLAB_TOKEN: 'expired-token' });

    expect(run.status).toBe(1);
    expect(run.stderr).toContain('E_PUBLISH_FAILED');
    expect(run.stderr).toContain('HTTP 401');
    expect(run.stderr).toMatch(/hint: GitLab did not accept the token from GITLAB_TOKEN/);
  });

  it('names the file of a forbidden upload', async () => {
    gitlab.uploadStatus = 403;

    const run = await publishCli([], { CI_JOB_TOKEN: TOKEN });

    expect(run.status).toBe(1);
    expect(run.stderr).toContain('upload of tool-linux-x64 failed with HTTP 403');
    expect(run.stderr).toContain('CI_JOB_TOKEN');
    expect(run.stderr + run.stdout).not.toContain(TOKEN);
  });

  it('requires --project outside GitLab CI', async () => {
    const run = await runCli(['publish', releaseDir, '--gitlab-url', gitlabUrl], { cwd: releaseDir, env: { ...CLEAN_ENV, GITLAB_TOKEN: TOKEN } });

    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--project is required');
  });

  it('prints JSON with --json', async () => {
    const run = await publishCli(['--json', '--package-version', '1.2.3']);
    const summary = JSON.parse(run.stdout) as { ok: boolean; packageVersion: string; files: { action: string }[] };

    expect(summary.ok).toBe(true);
    expect(summary.packageVersion).toBe('1.2.3');
    expect(summary.files.map((file) => file.action)).toEqual(['uploaded', 'uploaded', 'uploaded', 'uploaded', 'uploaded']);
  });
});
