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
}): Promise<void> {
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
