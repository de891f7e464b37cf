import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { DuoSeaError, messageOf } from '../errors.js';
import { type XzTarget, xzArgumentsFor } from './compression.js';
import type { ArchiveEntry } from './entry.js';
import { TarStream } from './tar-gzip.js';

const execFileAsync = promisify(execFile);

/** Returns whether an `xz` command is on PATH. */
export async function isXzAvailable(): Promise<boolean> {
  try {
    await execFileAsync('xz', ['--version'], { env: xzEnvironment() });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new DuoSeaError({
      code: 'E_ARCHIVE_FAILED',
      stage: 'archive',
      input: 'xz --version',
      message: `The xz command on PATH does not run: ${messageOf(error)}.`,
      hint: 'Reinstall xz-utils, or remove the broken xz from PATH.',
      cause: error,
    });
  }
}

/** Returns the process environment without XZ_DEFAULTS and XZ_OPT, which would change xz's output. */
function xzEnvironment(): NodeJS.ProcessEnv {
  const environment = { ...process.env };
  delete environment.XZ_DEFAULTS;
  delete environment.XZ_OPT;
  return environment;
}

/**
 * Writes a tar of the executable, compressed by xz with the arguments of
 * `xzArgumentsFor`, to `destination`. Without a target, xz gets no BCJ filter.
 */
export async function writeTarXz(entry: ArchiveEntry, destination: string, target?: XzTarget): Promise<void> {
  const xzArguments = xzArgumentsFor({ target, inputBytes: entry.sizeBytes });
  const xz = spawn('xz', xzArguments, { env: xzEnvironment(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  xz.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    xz.once('error', reject);
    xz.once('close', (code, signal) => resolve({ code, signal }));
  });
  const [feeding, draining, exit] = await Promise.allSettled([
    pipeline(new TarStream(entry).readable(), xz.stdin),
    pipeline(xz.stdout, createWriteStream(destination)),
    exited,
  ]);

  if (exit.status === 'rejected') throw exit.reason;
  // When xz fails, feeding it fails too (EPIPE or a premature close), so xz's exit status and output come first.
  // When reading the executable fails, xz gets end of input and exits 0, so the feeding error is reported next.
  const { code, signal } = exit.value;
  if (code !== 0) {
    const ending = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
    throw new Error(`xz ${xzArguments.join(' ')} ${ending}: ${stderr.trim() || 'no error output'}`);
  }
  if (feeding.status === 'rejected') throw feeding.reason;
  if (draining.status === 'rejected') throw draining.reason;
}
