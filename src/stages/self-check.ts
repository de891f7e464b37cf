import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuoSeaError } from '../errors.js';
import { SELF_CHECK_ENV } from '../runtime/vfs-format.js';
import type { Target } from '../targets.js';

export interface Host {
  platform: string;
  arch: string;
}

/** The way the build can start a target's executable here: directly, through an emulator, or not at all. */
export type Launcher = { command: string; prefix: string[] } | { skipReason: string };

function commandExists(command: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(command, ['--version'], { timeout: 10_000 }, (error) => resolve(!error || (error as { code?: unknown }).code !== 'ENOENT'));
  });
}

/** Returns how to run a target's executable on `host`. The host is a parameter so every case is testable. */
export async function findLauncher(target: Target, host: Host, exists = commandExists): Promise<Launcher> {
  if (target.os !== host.platform) return { skipReason: `a ${target.os} executable cannot run on this ${host.platform} host` };
  if (target.arch === host.arch) return { command: '', prefix: [] };
  for (const emulator of target.emulators ?? []) {
    if (await exists(emulator)) return { command: emulator, prefix: [] };
  }
  const names = (target.emulators ?? []).join(' or ');
  return { skipReason: names ? `no emulator for ${target.arch} was found (${names}; Debian: apt-get install qemu-user-static)` : `no emulator for ${target.arch} is known` };
}

export interface SelfCheckResult {
  /** Whether V8 took the program's code cache when the executable compiled the program. */
  codeCache: 'accepted' | 'rejected' | 'none';
}

/**
 * Starts the executable with the self-check variable set to its payload id;
 * the runtime then prints the id and exits before the program runs. This
 * proves that Node found the blob and the runtime read the payload.
 */
export async function runSelfCheck(options: {
  executablePath: string;
  payloadId: string;
  target: Target;
  launcher: { command: string; prefix: string[] };
}): Promise<SelfCheckResult> {
  const { executablePath, payloadId, target, launcher } = options;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-check-'));
  const command = launcher.command || executablePath;
  const args = launcher.command ? [...launcher.prefix, executablePath] : [];
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        command,
        args,
        { cwd: scratch, timeout: 120_000, env: { PATH: process.env.PATH ?? '', HOME: scratch, [SELF_CHECK_ENV]: payloadId } },
        (error, out, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`.trim())) : resolve(out)),
      );
    });
    if (!stdout.startsWith(`duo-sea self-check ${payloadId} `)) {
      throw new Error(`unexpected output: ${JSON.stringify(stdout.slice(0, 200))}`);
    }
    const codeCache = /code-cache=(accepted|rejected|none)/.exec(stdout)?.[1];
    return { codeCache: (codeCache ?? 'none') as SelfCheckResult['codeCache'] };
  } catch (error) {
    throw new DuoSeaError({
      code: 'E_SELF_CHECK_FAILED',
      stage: 'self-check',
      target: target.id,
      input: executablePath,
      message: `The built executable did not start: ${error instanceof Error ? error.message : String(error)}`,
      hint: 'The injected binary is broken; report it with the package, target and Node version.',
      cause: error,
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Text that the option check prints, so that an option which exits before the script runs (`--version`) fails it. */
const NODE_OPTIONS_MARKER = 'duo-sea node options accepted';

/**
 * Returns Node's error output up to its first `bad option` line. After a V8
 * flag with an illegal value, Node 26 also lists internal V8 flags of its own
 * as bad options, which would only mislead.
 */
function firstRejection(stderr: string, nodePath: string): string {
  const lines: string[] = [];
  for (const line of stderr.trim().split('\n')) {
    if (line === 'Try --help for options') continue;
    // Node starts the line with the path it ran from, which is a cache path here.
    lines.push(line.replace(`${nodePath}: `, 'node: '));
    if (line.includes(': bad option: ')) break;
  }
  return lines.join('\n');
}

/**
 * Runs `nodePath` with the options and a one-line script, and returns Node's
 * error output, or undefined when Node ran the script. Node 20 and 26 print
 * `node: bad option: …` or `illegal value for flag …` and exit with 9.
 */
async function nodeRejection(nodePath: string, nodeOptions: readonly string[]): Promise<string | undefined> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-check-'));
  try {
    return await new Promise<string | undefined>((resolve) => {
      execFile(
        nodePath,
        [...nodeOptions, '-e', `process.stdout.write(${JSON.stringify(NODE_OPTIONS_MARKER)})`],
        { cwd: scratch, timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: scratch } },
        (error, stdout, stderr) => {
          if (!error && stdout === NODE_OPTIONS_MARKER) {
            resolve(undefined);
            return;
          }
          const message = firstRejection(stderr, nodePath);
          resolve(message || (error ? error.message : `Node exited before running the program and printed ${JSON.stringify(stdout.slice(0, 200))}`));
        },
      );
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Rejects `--node-option` values that Node does not accept, by starting the
 * builder Node with them before any target is built. The SEA executables get
 * the same options through the blob's execArgv, so an option that fails here
 * would stop every executable from starting.
 */
export async function checkNodeOptions(options: { nodePath: string; nodeVersion: string; nodeOptions: readonly string[] }): Promise<void> {
  const { nodePath, nodeVersion, nodeOptions } = options;
  if (nodeOptions.length === 0) return;
  const rejection = await nodeRejection(nodePath, nodeOptions);
  if (rejection === undefined) return;

  // Retry each option alone to name the one that Node rejects. When each passes alone, the combination is at fault.
  let rejected = nodeOptions.join(' ');
  let message = rejection;
  for (const option of nodeOptions) {
    const alone = await nodeRejection(nodePath, [option]);
    if (alone === undefined) continue;
    rejected = option;
    message = alone;
    break;
  }
  throw new DuoSeaError({
    code: 'E_INVALID_OPTION',
    stage: 'options',
    input: `--node-option ${rejected}`,
    message: `Node ${nodeVersion} rejects the node option ${rejected}: ${message}`,
    hint: `Pass only options that node ${nodeVersion} accepts on its command line (node --help lists them), or leave out --node-option ${rejected}.`,
  });
}
