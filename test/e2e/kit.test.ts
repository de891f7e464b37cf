import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, listFolder, removeTempDirs, runCli, runIsolated, tempDir, type CliRun } from './helpers.js';

afterAll(removeTempDirs);

const SRT_SPEC = '@anthropic-ai/sandbox-runtime@0.0.78';
const BUILD_TIMEOUT_MS = 600_000;

interface KitJson {
  node: { version: string };
  targets: Record<string, { packages: string[] }>;
  baseBinaries: Record<string, { file: string; sha256: string }>;
  packages: { name: string; file: string }[];
}

/** Returns a loopback port that nothing listens on: the port of a server that was just closed. */
function closedLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when this host lets an unprivileged process start in a network namespace of its own, which has no interface but a down loopback. */
function canUnshareNetwork(): boolean {
  return spawnSync('unshare', ['-rn', 'true']).status === 0;
}

/**
 * Runs the CLI with no network: npm's registry and the HTTP(S) proxies point
 * at a closed loopback port, and where unshare allows it the process runs in
 * a network namespace without interfaces, where every connection fails.
 */
async function runCliOffline(args: string[], options: { cwd: string; registry?: 'closed' | 'configured' }): Promise<CliRun> {
  const closed = `http://127.0.0.1:${await closedLoopbackPort()}/`;
  const env: NodeJS.ProcessEnv = { ...process.env, HTTPS_PROXY: closed, HTTP_PROXY: closed, https_proxy: closed, http_proxy: closed };
  // npm keys its cache by registry URL, so a build from npm's cache keeps the configured registry.
  if (options.registry !== 'configured') env.npm_config_registry = closed;
  const [command, commandArgs] = canUnshareNetwork() ? ['unshare', ['-rn', process.execPath, cliPath, ...args]] : [process.execPath, [cliPath, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: BUILD_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ stdout, stderr, status }));
  });
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('offline kit of srt', () => {
  let workDir: string;
  let kitDir: string;
  let onlineDir: string;
  let offlineDir: string;
  let offlineCache: string;
  let kit: KitJson;
  let offlineBuild: CliRun;

  beforeAll(async () => {
    workDir = tempDir('e2e-kit');
    kitDir = path.join(workDir, 'kit');
    onlineDir = path.join(workDir, 'online');
    offlineDir = path.join(workDir, 'offline');
    offlineCache = path.join(workDir, 'empty-cache');

    const fetched = await runCli(['fetch', SRT_SPEC, '--target', 'linux-x64', '--target', 'linux-arm64', '--kit', kitDir], { cwd: workDir, timeoutMs: BUILD_TIMEOUT_MS });
    expect(fetched.status, fetched.stderr).toBe(0);
    kit = JSON.parse(readFileSync(path.join(kitDir, 'kit.json'), 'utf8')) as KitJson;

    const online = await runCli(['build', SRT_SPEC, '--target', 'linux-x64', '--archive', 'tar.gz', '--out', onlineDir], { cwd: workDir, timeoutMs: BUILD_TIMEOUT_MS });
    expect(online.status, online.stderr).toBe(0);

    offlineBuild = await runCliOffline(['build', SRT_SPEC, '--kit', kitDir, '--offline', '--target', 'linux-x64', '--archive', 'tar.gz', '--cache', offlineCache, '--out', offlineDir], { cwd: workDir });
  }, 3 * BUILD_TIMEOUT_MS);

  it('passes sha256sum -c', () => {
    const check = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: kitDir, encoding: 'utf8' });

    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('kit.json: OK');
    expect(check.stdout).toContain(`${kit.baseBinaries['linux-arm64'].file}: OK`);
  });

  it('passes duo-sea verify', async () => {
    const verified = await runCli(['verify', kitDir], { cwd: workDir });

    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^OK: \d+ files in .+ match SHA256SUMS\.$/m);
  });

  it('holds both targets and the host binary', () => {
    expect(Object.keys(kit.targets).sort()).toEqual(['linux-arm64', 'linux-x64']);
    expect(Object.keys(kit.baseBinaries).sort()).toEqual(['linux-arm64', 'linux-x64']);
    expect(kit.packages.map((item) => item.name)).toContain('zod');
  });

  it('builds offline with an empty cache', () => {
    expect(offlineBuild.status, offlineBuild.stderr).toBe(0);
  });

  it('gives an executable that prints the version', () => {
    const run = runIsolated(path.join(offlineDir, 'srt-linux-x64'), ['--version']);

    expect(run.stdout.trim()).toBe('0.0.78');
  });

  it('matches the online build byte for byte', () => {
    for (const file of ['srt-linux-x64', 'srt-linux-x64.tar.gz', 'manifest.json', 'sbom.cdx.json', 'SHA256SUMS']) {
      expect(sha256Of(path.join(offlineDir, file)), file).toBe(sha256Of(path.join(onlineDir, file)));
    }
  });

  it('fails fast on a target not in the kit', async () => {
    const outDir = path.join(workDir, 'darwin');
    const startedAt = Date.now();

    const result = await runCliOffline(['build', SRT_SPEC, '--kit', kitDir, '--offline', '--target', 'darwin-x64', '--cache', offlineCache, '--out', outDir], { cwd: workDir });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('E_KIT_MISMATCH (kit, darwin-x64)');
    expect(result.stderr).toContain('has no darwin-x64');
    expect(Date.now() - startedAt).toBeLessThan(30_000);
    expect(listFolder(outDir)).toEqual([]);
  });

  it('names a tarball removed from the kit', async () => {
    const brokenKit = path.join(workDir, 'kit-without-zod');
    cpSync(kitDir, brokenKit, { recursive: true });
    const zod = kit.packages.find((item) => item.name === 'zod')?.file as string;
    rmSync(path.join(brokenKit, zod));

    const result = await runCliOffline(['build', SRT_SPEC, '--kit', brokenKit, '--offline', '--target', 'linux-x64', '--cache', offlineCache, '--out', path.join(workDir, 'broken')], { cwd: workDir });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('E_KIT_INVALID');
    expect(result.stderr).toContain(`The kit file ${zod} is missing`);
  });

  it('replaces a corrupt cache entry from the kit', async () => {
    const entry = path.join(offlineCache, 'sha256', kit.baseBinaries['linux-x64'].sha256.slice(0, 2), kit.baseBinaries['linux-x64'].sha256);
    writeFileSync(entry, 'damaged');
    const outDir = path.join(workDir, 'healed');

    const result = await runCliOffline(['build', SRT_SPEC, '--kit', kitDir, '--offline', '--target', 'linux-x64', '--archive', 'tar.gz', '--cache', offlineCache, '--out', outDir], { cwd: workDir });

    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain(`warning: removed the corrupt cache entry ${entry}`);
    expect(sha256Of(path.join(outDir, 'srt-linux-x64'))).toBe(sha256Of(path.join(onlineDir, 'srt-linux-x64')));
  }, BUILD_TIMEOUT_MS);

  it('builds offline from the caches without a kit', async () => {
    const outDir = path.join(workDir, 'from-caches');

    const result = await runCliOffline(['build', SRT_SPEC, '--offline', '--target', 'linux-x64', '--archive', 'tar.gz', '--cache', offlineCache, '--out', outDir], { cwd: workDir, registry: 'configured' });

    expect(result.status, result.stderr).toBe(0);
    expect(sha256Of(path.join(outDir, 'srt-linux-x64'))).toBe(sha256Of(path.join(onlineDir, 'srt-linux-x64')));
  }, BUILD_TIMEOUT_MS);

  it('names a corrupt cache entry offline without a kit', async () => {
    const entry = path.join(offlineCache, 'sha256', kit.baseBinaries['linux-x64'].sha256.slice(0, 2), kit.baseBinaries['linux-x64'].sha256);
    writeFileSync(entry, 'damaged');

    const result = await runCliOffline(['build', SRT_SPEC, '--offline', '--target', 'linux-x64', '--cache', offlineCache, '--out', path.join(workDir, 'corrupt')], { cwd: workDir, registry: 'configured' });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('E_CACHE_CORRUPT');
    expect(result.stderr).toContain(`hint: Delete it (rm ${entry})`);
    expect(existsSync(entry)).toBe(true);
  }, BUILD_TIMEOUT_MS);
});
