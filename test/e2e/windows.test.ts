import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { defaultBuildCacheDir } from '../../src/defaults.js';
import { listFolder, npmInstall, removeTempDirs, repoRoot, runCli, tempDir, type CliRun } from './helpers.js';

const SRT_SPEC = '@anthropic-ai/sandbox-runtime@0.0.78';
const EXECUTABLE = 'srt-win-x64.exe';
const BUILD_TIMEOUT_MS = 900_000;
const WINE_RUN_TIMEOUT_MS = 120_000;

/**
 * Node version of the executables that run under wine. Debian 12's wine 8.0
 * cannot start Node 26: V8 14 reserves memory with VirtualAlloc2 and
 * MEM_RESERVE_PLACEHOLDER, which wine 8.0 rejects, and Node aborts with
 * "Fatal process out of memory: SegmentedTable::InitializeTable". Node 22
 * does not use placeholders.
 */
const WINE_NODE_VERSION = '22.23.3';

const PE_HEADERS_SCRIPT = path.join(repoRoot, 'test', 'tools', 'read-pe-headers.py');

interface PeHeaders {
  fileSizeBytes: number;
  checksumField: number;
  checksumComputed: number;
  subsystem: number;
  securityOffset: number;
  securitySizeBytes: number;
}

/** Reads the PE headers with the Python checker, which shares no code with src/formats/pe.ts. */
function readPeHeaders(file: string): PeHeaders {
  const result = spawnSync('python3', [PE_HEADERS_SCRIPT, file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`read-pe-headers.py failed on ${file}: ${result.stderr}`);
  return JSON.parse(result.stdout) as PeHeaders;
}

/** Builds srt for win-x64 in a fresh folder and returns the build output and the output folder. */
async function buildWindows(extraArgs: string[], env: NodeJS.ProcessEnv = {}): Promise<{ run: CliRun; outDir: string }> {
  const workDir = tempDir('e2e-windows');
  const outDir = path.join(workDir, 'dist');
  const args = ['build', SRT_SPEC, '--target', 'win-x64', '--archive', 'zip', '--out', outDir, ...extraArgs];
  const run = await runCli(args, { cwd: workDir, env, timeoutMs: BUILD_TIMEOUT_MS });
  return { run, outDir };
}

const wineVersion = (() => {
  const probe = spawnSync('wine', ['--version'], { encoding: 'utf8', env: { ...process.env, WINEDEBUG: '-all' } });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
})();
const WINE_MISSING = 'wine is not installed (Debian: apt-get install wine wine64)';

/** File that marks a finished prefix. A folder without it is left over from an interrupted creation. */
const PREFIX_READY_FILE = 'duo-sea-prefix-ready';
const winePrefix = path.join(defaultBuildCacheDir({ env: process.env, platform: process.platform, homeDir: os.homedir() }), 'wine-prefix');

/** Environment for wine with no display, no debug output and no Mono or Gecko install prompts. */
function wineEnvironment(prefix: string): NodeJS.ProcessEnv {
  return { ...process.env, WINEPREFIX: prefix, WINEARCH: 'win64', WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', DISPLAY: '', WAYLAND_DISPLAY: '' };
}

function runTool(command: string, args: string[], options: { env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env: options.env, timeout: options.timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/**
 * Returns the cached Windows 10 wine prefix, creating it when needed. It is
 * made in a folder of its own and renamed into place once wineserver has
 * written the registry, so an interrupted creation is never used.
 */
async function prepareWinePrefix(): Promise<string> {
  if (existsSync(path.join(winePrefix, PREFIX_READY_FILE))) return winePrefix;
  const parent = path.dirname(winePrefix);
  mkdirSync(parent, { recursive: true });
  for (const name of readdirSync(parent)) {
    if (name.startsWith('wine-prefix.new-')) rmSync(path.join(parent, name), { recursive: true, force: true });
  }
  rmSync(winePrefix, { recursive: true, force: true });

  const startedAt = performance.now();
  const staging = `${winePrefix}.new-${process.pid}`;
  const env = wineEnvironment(staging);
  try {
    await runTool('wine', ['wineboot', '--init'], { env, timeoutMs: 300_000 });
    await runTool('wine', ['winecfg', '-v', 'win10'], { env, timeoutMs: 60_000 });
    const version = await runTool('wine', ['winecfg', '-v'], { env, timeoutMs: 60_000 });
    if (version.stdout.trim() !== 'win10') throw new Error(`the new wine prefix reports Windows version "${version.stdout.trim()}", not win10`);
    await runTool('wineserver', ['--wait'], { env, timeoutMs: 60_000 });
  } catch (error) {
    // A timed-out wine command leaves its wineserver and processes behind.
    await runTool('wineserver', ['--kill'], { env, timeoutMs: 30_000 }).catch(() => undefined);
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  writeFileSync(path.join(staging, PREFIX_READY_FILE), `${wineVersion}\n`);
  renameSync(staging, winePrefix);
  console.info(`created the wine prefix ${winePrefix} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  return winePrefix;
}

/** Removes what earlier runs of the executables extracted in the prefix, so that each run extracts its payload again. */
function removeExtractedPayloads(prefix: string): void {
  const usersDir = path.join(prefix, 'drive_c', 'users');
  for (const user of listFolder(usersDir)) {
    rmSync(path.join(usersDir, user, 'AppData', 'Local', 'duo-sea'), { recursive: true, force: true });
  }
}

interface WineRun {
  stdout: string;
  stderr: string;
  status: number | null;
}

/**
 * Runs a Windows executable under wine with stdout and stderr going to
 * files. With pipes, Node under wine 8.0 fails to open its standard streams
 * ("Error: open EBADF" from createWritableStdioStream).
 */
function runUnderWine(prefix: string, executable: string, args: string[]): Promise<WineRun> {
  const outputDir = tempDir('wine-output');
  const stdoutPath = path.join(outputDir, 'stdout');
  const stderrPath = path.join(outputDir, 'stderr');
  const stdoutFd = openSync(stdoutPath, 'w');
  const stderrFd = openSync(stderrPath, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn('wine', [executable, ...args], {
      cwd: tempDir('wine-cwd'),
      env: wineEnvironment(prefix),
      stdio: ['ignore', stdoutFd, stderrFd],
      timeout: WINE_RUN_TIMEOUT_MS,
    });
    child.on('error', reject);
    child.on('close', (status) => {
      closeSync(stdoutFd);
      closeSync(stderrFd);
      resolve({ stdout: readFileSync(stdoutPath, 'utf8'), stderr: readFileSync(stderrPath, 'utf8'), status });
    });
  });
}

function skipWithoutWine(context: TestContext): void {
  if (!wineVersion) context.skip(WINE_MISSING);
}

afterAll(async () => {
  // Ends the wineserver that the runs started, which would otherwise linger for a few seconds.
  if (wineVersion && existsSync(winePrefix)) await runTool('wineserver', ['--kill'], { env: wineEnvironment(winePrefix), timeoutMs: 30_000 }).catch(() => undefined);
  removeTempDirs();
});

interface TestPki {
  dir: string;
  caPath: string;
  pfxPath: string;
  password: string;
}

function openssl(args: string[], cwd: string): void {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
}

/** Issues a certificate for `name` from the test CA, with the given extensions. */
function issueCertificate(dir: string, name: string, subject: string, extensions: string): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

/** Makes a throwaway CA, a code signing certificate in a password-protected PFX, and a timestamping certificate. */
function makeTestPki(): TestPki {
  const dir = tempDir('pki');
  const password = randomBytes(12).toString('hex');
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=duo-sea test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  issueCertificate(dir, 'signer', '/CN=duo-sea test signer', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n');
  issueCertificate(dir, 'tsa', '/CN=duo-sea test TSA', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n');
  openssl(['pkcs12', '-export', '-inkey', 'signer.key', '-in', 'signer.pem', '-certfile', 'ca.pem', '-out', 'signer.pfx', '-passout', `pass:${password}`], dir);
  writeFileSync(
    path.join(dir, 'tsa.cnf'),
    ['[ tsa ]', 'default_tsa = test_tsa', '[ test_tsa ]', 'serial = ./tsa-serial', 'signer_digest = sha256', 'default_policy = 1.3.6.1.4.1.57264.1', 'digests = sha256, sha384, sha512', 'ess_cert_id_alg = sha256', ''].join('\n'),
  );
  writeFileSync(path.join(dir, 'tsa-serial'), '01\n');
  return { dir, caPath: path.join(dir, 'ca.pem'), pfxPath: path.join(dir, 'signer.pfx'), password };
}

interface TimestampServer {
  url: string;
  requests: number;
  close(): Promise<void>;
}

/**
 * Starts an RFC 3161 timestamp server on loopback, in place of an air-gapped
 * site's internal TSA. `openssl ts -reply` makes the response to each
 * request. With `failing` it returns HTTP 500 instead.
 */
function startTimestampServer(pki: TestPki, options: { failing: boolean }): Promise<TimestampServer> {
  let requestCount = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requestCount += 1;
      if (options.failing) {
        response.writeHead(500).end();
        return;
      }
      const queryPath = path.join(pki.dir, `query-${requestCount}.tsq`);
      const replyPath = path.join(pki.dir, `reply-${requestCount}.tsr`);
      writeFileSync(queryPath, Buffer.concat(chunks));
      const args = ['ts', '-reply', '-config', 'tsa.cnf', '-queryfile', queryPath, '-inkey', 'tsa.key', '-signer', 'tsa.pem', '-chain', 'ca.pem', '-out', replyPath];
      execFile('openssl', args, { cwd: pki.dir }, (error) => {
        if (error) response.writeHead(500).end();
        else response.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(readFileSync(replyPath));
      });
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/`,
        get requests() {
          return requestCount;
        },
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

describe('srt for win-x64 with the default Node', () => {
  let build: CliRun;
  let headers: PeHeaders;

  beforeAll(async () => {
    const result = await buildWindows([]);
    build = result.run;
    expect(build.status, build.stderr).toBe(0);
    headers = readPeHeaders(path.join(result.outDir, EXECUTABLE));
  }, BUILD_TIMEOUT_MS);

  it('has an empty security directory', () => {
    expect(headers.securityOffset).toBe(0);
    expect(headers.securitySizeBytes).toBe(0);
  });

  it('has a correct PE checksum', () => {
    expect(headers.checksumField).not.toBe(0);
    expect(headers.checksumField).toBe(headers.checksumComputed);
  });

  it('keeps the console subsystem', () => {
    expect(headers.subsystem).toBe(3);
  });

  it('gets no signature warning from postject', () => {
    // node.exe is signed, and postject warns "The signature seems corrupted!" when the signature is still there.
    expect(build.stderr).toContain('removed the Authenticode signature of node.exe');
    expect(build.stderr).not.toMatch(/warning.*signature/i);
  });
});

describe(`srt for win-x64 with Node ${WINE_NODE_VERSION} under wine`, () => {
  let executable: string;
  let prefix: string;
  let referenceCli: string;

  beforeAll(async () => {
    if (!wineVersion) return;
    const [result, preparedPrefix] = await Promise.all([buildWindows(['--node', WINE_NODE_VERSION]), prepareWinePrefix()]);
    expect(result.run.status, result.run.stderr).toBe(0);
    executable = path.join(result.outDir, EXECUTABLE);
    prefix = preparedPrefix;
    removeExtractedPayloads(prefix);
    referenceCli = path.join(npmInstall(SRT_SPEC), 'node_modules', '@anthropic-ai', 'sandbox-runtime', 'dist', 'cli.js');
  }, BUILD_TIMEOUT_MS);

  it('prints the version', async (context) => {
    skipWithoutWine(context);
    const run = await runUnderWine(prefix, executable, ['--version']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('0.0.78\n');
    expect(run.status).toBe(0);
  }, WINE_RUN_TIMEOUT_MS);

  it('prints the same help as node', async (context) => {
    skipWithoutWine(context);
    const run = await runUnderWine(prefix, executable, ['--help']);
    const reference = spawnSync(process.execPath, [referenceCli, '--help'], { encoding: 'utf8', cwd: tempDir('help-cwd') });
    // Byte for byte: Node writes "\n" to a file handle under wine as on Linux, with no CRLF translation.
    expect(run.stdout).toBe(reference.stdout);
    expect(run.stderr).toBe(reference.stderr);
    expect(run.status).toBe(reference.status);
  }, WINE_RUN_TIMEOUT_MS);

});

describe('srt for win-x64 signed with a PFX', () => {
  let pki: TestPki;
  let timestampServer: TimestampServer;
  let build: CliRun;
  let outDir: string;
  let executable: string;

  beforeAll(async () => {
    pki = makeTestPki();
    timestampServer = await startTimestampServer(pki, { failing: false });
    const args = ['--node', WINE_NODE_VERSION, '--windows-sign-pfx', pki.pfxPath, '--windows-sign-timestamp', timestampServer.url, '--json'];
    const result = await buildWindows(args, { DUO_SEA_PFX_PASSWORD: pki.password });
    build = result.run;
    outDir = result.outDir;
    expect(build.status, build.stderr).toBe(0);
    executable = path.join(outDir, EXECUTABLE);
  }, BUILD_TIMEOUT_MS);

  afterAll(() => timestampServer?.close());

  it('verifies against the test CA', () => {
    const verify = spawnSync('osslsigncode', ['verify', '-CAfile', pki.caPath, '-TSA-CAfile', pki.caPath, '-in', executable], { encoding: 'utf8' });
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain('Signature verification: ok');
    expect(verify.stdout).toContain('Subject: /CN=duo-sea test signer');
  });

  it('has a timestamp from the server', () => {
    const verify = spawnSync('osslsigncode', ['verify', '-CAfile', pki.caPath, '-TSA-CAfile', pki.caPath, '-in', executable], { encoding: 'utf8' });
    expect(timestampServer.requests).toBe(1);
    expect(verify.stdout).toContain('Timestamp Server Signature verification: ok');
  });

  it('has a correct PE checksum', () => {
    const headers = readPeHeaders(executable);
    expect(headers.securitySizeBytes).toBeGreaterThan(0);
    expect(headers.securityOffset + headers.securitySizeBytes).toBe(headers.fileSizeBytes);
    expect(headers.checksumField).toBe(headers.checksumComputed);
  });

  it('lists the signed file in SHA256SUMS', () => {
    const check = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: outDir, encoding: 'utf8' });
    expect(check.stdout).toContain(`${EXECUTABLE}: OK`);
    expect(check.status).toBe(0);
  });

  it('keeps the password out of the output', () => {
    expect(build.stdout).not.toContain(pki.password);
    expect(build.stderr).not.toContain(pki.password);
  });

  it('runs under wine', async (context) => {
    skipWithoutWine(context);
    const prefix = await prepareWinePrefix();
    const run = await runUnderWine(prefix, executable, ['--version']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('0.0.78\n');
    expect(run.status).toBe(0);
  }, 600_000);
});

describe('Windows signing errors', () => {
  let pki: TestPki;

  beforeAll(() => {
    pki = makeTestPki();
  }, 60_000);

  interface FailedBuild {
    run: CliRun;
    error: { code: string; stage: string; message: string; hint?: string; input?: string };
    outDir: string;
  }

  async function failingBuild(args: string[], env: NodeJS.ProcessEnv): Promise<FailedBuild> {
    const { run, outDir } = await buildWindows([...args, '--json'], env);
    const parsed = JSON.parse(run.stdout) as { ok: boolean; error: FailedBuild['error'] };
    expect(parsed.ok).toBe(false);
    return { run, error: parsed.error, outDir };
  }

  it('rejects a missing PFX file', async () => {
    const missing = path.join(pki.dir, 'missing.pfx');
    const failed = await failingBuild(['--windows-sign-pfx', missing], { DUO_SEA_PFX_PASSWORD: pki.password });
    expect(failed.run.status).toBe(2);
    expect(failed.error.code).toBe('E_INVALID_OPTION');
    expect(failed.error.message).toBe(`The PFX file ${missing} does not exist.`);
    expect(failed.error.hint).toContain('PKCS#12');
    expect(listFolder(failed.outDir)).toEqual([]);
  }, 60_000);

  it('rejects a wrong password', async () => {
    const wrongPassword = `wrong-${pki.password}`;
    const failed = await failingBuild(['--windows-sign-pfx', pki.pfxPath], { DUO_SEA_PFX_PASSWORD: wrongPassword });
    expect(failed.run.status).toBe(1);
    expect(failed.error.code).toBe('E_SIGN_FAILED');
    expect(failed.error.message).toContain('DUO_SEA_PFX_PASSWORD does not open');
    expect(failed.error.hint).toBe('Set DUO_SEA_PFX_PASSWORD to the password the PFX was exported with.');
    expect(failed.run.stdout + failed.run.stderr).not.toContain(wrongPassword);
    expect(listFolder(failed.outDir)).toEqual([]);
  }, 60_000);

  it('rejects an unset password variable', async () => {
    const failed = await failingBuild(['--windows-sign-pfx', pki.pfxPath, '--windows-sign-password-env', 'DUO_SEA_TEST_UNSET_PASSWORD'], {});
    expect(failed.run.status).toBe(2);
    expect(failed.error.code).toBe('E_INVALID_OPTION');
    expect(failed.error.message).toContain('DUO_SEA_TEST_UNSET_PASSWORD is not set');
    expect(listFolder(failed.outDir)).toEqual([]);
  }, 60_000);

  it('rejects a missing osslsigncode', async () => {
    // A PATH without osslsigncode; the CLI itself runs with this test's node.
    const failed = await failingBuild(['--windows-sign-pfx', pki.pfxPath], { DUO_SEA_PFX_PASSWORD: pki.password, PATH: tempDir('empty-path') });
    expect(failed.run.status).toBe(1);
    expect(failed.error.code).toBe('E_TOOL_MISSING');
    expect(failed.error.hint).toContain('apt-get install osslsigncode');
    expect(listFolder(failed.outDir)).toEqual([]);
  }, 60_000);

  it('rejects a timestamp without PFX', async () => {
    const failed = await failingBuild(['--windows-sign-timestamp', 'http://tsa.example.internal/'], {});
    expect(failed.run.status).toBe(2);
    expect(failed.error.code).toBe('E_INVALID_OPTION');
    expect(failed.error.input).toBe('--windows-sign-timestamp');
    expect(failed.error.hint).toContain('--windows-sign-pfx FILE');
    expect(listFolder(failed.outDir)).toEqual([]);
  }, 60_000);

  it('removes the output of a failed timestamp', async () => {
    const server = await startTimestampServer(pki, { failing: true });
    try {
      const args = ['--node', WINE_NODE_VERSION, '--windows-sign-pfx', pki.pfxPath, '--windows-sign-timestamp', server.url];
      const failed = await failingBuild(args, { DUO_SEA_PFX_PASSWORD: pki.password });
      expect(server.requests).toBe(1);
      expect(failed.run.status).toBe(1);
      expect(failed.error.code).toBe('E_SIGN_FAILED');
      expect(failed.error.stage).toBe('sign');
      expect(failed.error.hint).toContain(server.url);
      expect(failed.run.stdout + failed.run.stderr).not.toContain(pki.password);
      expect(listFolder(failed.outDir)).toEqual([]);
    } finally {
      await server.close();
    }
  }, BUILD_TIMEOUT_MS);
});
