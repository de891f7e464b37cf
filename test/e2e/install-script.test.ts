import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGitLab } from './fake-gitlab.js';
import { listFolder, removeTempDirs, runCli, runIsolated, tempDir } from './helpers.js';

const SRT_SPEC = '@anthropic-ai/sandbox-runtime@0.0.78';
const BUILD_TIMEOUT_MS = 900_000;
const TOKEN = 'glpat-install-secret-2718';

let releaseDir: string;
let server: http.Server;
let serverUrl: string;

/**
 * Serves a folder on 127.0.0.1 at /release/, and at /tampered/ the same files
 * with the last byte of each executable flipped, as a damaged mirror would.
 */
function serveRelease(dir: string): Promise<string> {
  server = http.createServer((request, response) => {
    const match = /^\/(release|tampered)\/([A-Za-z0-9._+-]+)$/.exec(request.url ?? '');
    const file = match ? path.join(dir, match[2]) : '';
    if (!match || !existsSync(file)) {
      response.writeHead(404).end('not found');
      return;
    }
    if (match[1] === 'tampered' && /-(linux|darwin)-(x64|arm64)$/.test(match[2])) {
      const bytes = readFileSync(file);
      bytes[bytes.length - 1] ^= 1;
      response.writeHead(200, { 'content-length': bytes.length }).end(bytes);
      return;
    }
    response.writeHead(200, { 'content-length': statSync(file).size });
    createReadStream(file).pipe(response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/**
 * Runs the release's install.sh with dash (or another shell command), as a
 * POSIX shell without bash extensions. It is asynchronous because the
 * servers it downloads from run in this process.
 */
function installSh(args: string[], env: NodeJS.ProcessEnv = {}, shell = ['dash']): Promise<{ stdout: string; stderr: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(shell[0], [...shell.slice(1), path.join(releaseDir, 'install.sh'), ...args], {
      env: { ...process.env, DUO_SEA_INSTALL_TOKEN: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ stdout, stderr, status }));
  });
}

/** Returns a PATH folder that links every program of /usr/bin and /bin except the named ones. */
function pathWithout(excluded: string[]): string {
  const folder = tempDir('path-without');
  for (const source of ['/usr/bin', '/bin']) {
    for (const name of readdirSync(source)) {
      if (excluded.includes(name) || existsSync(path.join(folder, name))) continue;
      symlinkSync(path.join(source, name), path.join(folder, name));
    }
  }
  return folder;
}

beforeAll(async () => {
  const workDir = tempDir('install-build');
  releaseDir = path.join(workDir, 'release');
  const build = await runCli(['build', SRT_SPEC, '--target', 'linux-x64', '--archive', 'tar.gz', '--out', releaseDir], { cwd: workDir, timeoutMs: BUILD_TIMEOUT_MS });
  expect(build.status, build.stderr).toBe(0);
  serverUrl = await serveRelease(releaseDir);
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  removeTempDirs();
});

describe('install.sh in a build', () => {
  it('is listed in SHA256SUMS', async () => {
    const check = spawnSync('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: releaseDir, encoding: 'utf8' });

    expect(check.stdout).toContain('install.sh: OK');
    expect(check.status).toBe(0);
  });

  it('leaves out install.ps1 without a Windows target', async () => {
    expect(existsSync(path.join(releaseDir, 'install.ps1'))).toBe(false);
  });
});

describe('install.sh', () => {
  it('installs a working srt from a base URL', async () => {
    const binDir = path.join(tempDir('install-url'), 'bin');

    const run = await installSh(['--base-url', `${serverUrl}/release/`, '--dir', binDir]);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`Installed srt-linux-x64 as ${binDir}/srt`);
    expect(statSync(path.join(binDir, 'srt')).mode & 0o777).toBe(0o755);
    expect(runIsolated(path.join(binDir, 'srt'), ['--version']).stdout.trim()).toBe('0.0.78');
  });

  it('installs nothing from a tampered mirror', async () => {
    const binDir = path.join(tempDir('install-tampered'), 'bin');

    const run = await installSh(['--base-url', `${serverUrl}/tampered`, '--dir', binDir]);

    expect(run.status).toBe(1);
    expect(run.stderr).toContain('SHA-256 mismatch for srt-linux-x64');
    expect(listFolder(binDir)).toEqual([]);
  });

  it('keeps the installed version on a mismatch', async () => {
    const binDir = path.join(tempDir('install-keep'), 'bin');
    await installSh(['--from', releaseDir, '--dir', binDir]);
    const before = readFileSync(path.join(binDir, 'srt'));

    const run = await installSh(['--base-url', `${serverUrl}/tampered`, '--dir', binDir]);

    expect(run.status).toBe(1);
    expect(listFolder(binDir)).toEqual(['srt']);
    expect(readFileSync(path.join(binDir, 'srt')).equals(before)).toBe(true);
  });

  it('installs from a local folder', async () => {
    const binDir = path.join(tempDir('install-from'), 'bin');

    const run = await installSh(['--from', releaseDir, '--dir', binDir, '--name', 'sandbox-runtime']);

    expect(run.status).toBe(0);
    expect(runIsolated(path.join(binDir, 'sandbox-runtime'), ['--version']).stdout.trim()).toBe('0.0.78');
  });

  it('downloads with wget when curl is missing', async () => {
    const binDir = path.join(tempDir('install-wget'), 'bin');

    const run = await installSh(['--base-url', `${serverUrl}/release`, '--dir', binDir], { PATH: pathWithout(['curl', 'node']) });

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(listFolder(binDir)).toEqual(['srt']);
  });

  it('runs with busybox applets alone', async () => {
    const binDir = path.join(tempDir('install-busybox'), 'bin');
    const applets = tempDir('busybox-path');
    for (const applet of ['sh', 'awk', 'cut', 'mktemp', 'cp', 'mv', 'rm', 'chmod', 'mkdir', 'uname', 'sha256sum', 'tr', 'grep', 'wget', 'cat']) {
      symlinkSync('/usr/bin/busybox', path.join(applets, applet));
    }

    const run = await installSh(['--base-url', `${serverUrl}/release`, '--dir', binDir], { PATH: applets }, ['/usr/bin/busybox', 'sh']);

    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(listFolder(binDir)).toEqual(['srt']);
  });

  it('rejects a --sha256 that SHA256SUMS does not list', async () => {
    const binDir = path.join(tempDir('install-pin'), 'bin');

    const run = await installSh(['--from', releaseDir, '--dir', binDir, '--sha256', 'a'.repeat(64)]);

    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`not the ${'a'.repeat(64)} of --sha256`);
    expect(listFolder(binDir)).toEqual([]);
  });

  it('names the missing target', async () => {
    const run = await installSh(['--from', releaseDir, '--dir', tempDir('install-target'), '--target', 'linux-arm64']);

    expect(run.status).toBe(1);
    expect(run.stderr).toContain('SHA256SUMS lists no executable for linux-arm64 (it lists: srt-linux-x64)');
  });

  it('explains a musl system', async () => {
    const run = await installSh(['--from', releaseDir, '--dir', tempDir('install-musl'), '--target', 'linux-x64-musl']);

    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/hint: This system uses the musl C library/);
  });

  it('rejects a usage error with exit code 2', async () => {
    const run = await installSh(['--base-url', `${serverUrl}/release`, '--from', releaseDir]);

    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--base-url and --from exclude each other');
  });
});

describe('install.sh from a GitLab generic package', () => {
  let gitlab: FakeGitLab;
  let baseUrl: string;

  beforeAll(async () => {
    gitlab = new FakeGitLab({ project: '42', token: TOKEN });
    const gitlabUrl = await gitlab.start();
    const publish = await runCli(['publish', releaseDir, '--gitlab-url', gitlabUrl, '--project', '42'], {
      cwd: releaseDir,
      env: { GITLAB_TOKEN: TOKEN, CI_JOB_TOKEN: undefined },
      timeoutMs: 120_000,
    });
    expect(publish.status, publish.stderr).toBe(0);
    baseUrl = /--base-url (\S+)/.exec(publish.stdout)?.[1] ?? '';
  }, 180_000);

  afterAll(async () => {
    await gitlab.stop();
  });

  it('installs with a token', async () => {
    const binDir = path.join(tempDir('install-gitlab'), 'bin');

    const run = await installSh(['--base-url', baseUrl, '--dir', binDir], { DUO_SEA_INSTALL_TOKEN: TOKEN });

    expect(run.status, run.stderr).toBe(0);
    expect(runIsolated(path.join(binDir, 'srt'), ['--version']).stdout.trim()).toBe('0.0.78');
  });

  it('sends the token with HTTP Basic authentication', async () => {
    await installSh(['--base-url', baseUrl, '--dir', path.join(tempDir('install-basic'), 'bin')], { DUO_SEA_INSTALL_TOKEN: TOKEN });

    const downloads = gitlab.requests.filter((request) => request.method === 'GET' && request.url.includes('/generic/'));
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.every((request) => request.tokenHeader === 'authorization' && request.tokenValue === TOKEN)).toBe(true);
  });

  it('fails cleanly without the token', async () => {
    const binDir = path.join(tempDir('install-no-token'), 'bin');

    const run = await installSh(['--base-url', baseUrl, '--dir', binDir]);

    expect(run.status).toBe(1);
    expect(run.stderr).toContain('download of');
    expect(listFolder(binDir)).toEqual([]);
  });
});
