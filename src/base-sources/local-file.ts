import { chmod, copyFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError, messageOf } from '../errors.js';
import { sha256File } from '../hash.js';
import type { Target } from '../targets.js';
import { SEA_SENTINEL_FUSE } from '../stages/inject.js';
import { binaryMismatch, fileContains } from './binary-check.js';
import type { BaseBinary, BaseSource, SourceContext, Unavailable } from './source.js';

const STAGE = 'base-binary';

/**
 * Node binaries that the user passes per target (`--node-binary
 * TARGET=PATH`). Nothing vouches for them but the user, so duo-sea checks
 * that each is an executable of the target's format, CPU and C library and
 * carries the Node version string, copies it into the cache and records its
 * SHA-256.
 */
export class LocalFileSource implements BaseSource {
  /** Files already checked, so that the target selection and the build read each once. */
  private readonly checked = new Map<string, Promise<void>>();

  constructor(
    private readonly files: ReadonlyMap<string, string>,
    private readonly context: SourceContext,
  ) {}

  private fileFor(target: Target): string {
    const file = this.files.get(target.id);
    if (!file) throw new Error(`No --node-binary was given for ${target.id}.`);
    return file;
  }

  /** Checks the file. A named file is always the target's source, so a bad file is an error, never a reason to skip the target. */
  async unavailable(target: Target): Promise<Unavailable | undefined> {
    await this.check(target, this.fileFor(target));
    return undefined;
  }

  async fetch(target: Target): Promise<BaseBinary> {
    const file = this.fileFor(target);
    await this.check(target, file);
    const { cache } = this.context;

    // The copy is hashed, not the original, so the recorded SHA-256 is that of the bytes the build uses.
    const temp = await cache.tempPath(`node-binary-${target.id}`);
    try {
      await copyFile(file, temp);
      const sha256 = await sha256File(temp);
      const cached = await cache.lookup(sha256);
      let entry = cached;
      if (!entry) {
        await chmod(temp, 0o755);
        entry = await cache.commit(temp, sha256, { kind: 'base', source: `file:${path.basename(file)}`, target: target.id });
      }
      return { path: entry, sha256, sizeBytes: (await stat(entry)).size, source: `file:${path.basename(file)}` };
    } finally {
      await rm(temp, { force: true });
    }
  }

  private check(target: Target, file: string): Promise<void> {
    let pending = this.checked.get(target.id);
    if (!pending) {
      pending = checkLocalBinary(target, file, this.context.nodeVersion);
      this.checked.set(target.id, pending);
    }
    return pending;
  }
}

function invalidFile(target: Target, file: string, details: { message: string; expected?: string; found?: string; hint: string; cause?: unknown }): DuoSeaError {
  return new DuoSeaError({ code: 'E_BASE_BINARY_INVALID', stage: STAGE, target: target.id, input: file, ...details });
}

async function checkLocalBinary(target: Target, file: string, nodeVersion: string): Promise<void> {
  const info = await stat(file).catch((error: unknown) => {
    throw invalidFile(target, file, { message: `--node-binary ${target.id}=${file} cannot be read: ${messageOf(error)}.`, hint: 'Pass the path of an existing Node binary.', cause: error });
  });
  if (!info.isFile()) {
    throw invalidFile(target, file, { message: `--node-binary ${target.id}=${file} is not a file.`, hint: 'Pass the path of the Node binary itself, such as node-v<version>-linux-x64/bin/node.' });
  }

  const mismatch = await binaryMismatch(file, target);
  if (mismatch) {
    throw invalidFile(target, file, {
      message: `--node-binary ${target.id}=${file} is not a Node binary for ${target.id}.`,
      ...mismatch,
      hint: `Pass the Node ${nodeVersion} binary of ${target.id}.`,
    });
  }

  // A file with the fuse set already carries a SEA blob: it is a packaged program, such as an executable duo-sea built, not Node.
  if (await fileContains(file, Buffer.from(`${SEA_SENTINEL_FUSE}:1`))) {
    throw invalidFile(target, file, {
      message: `--node-binary ${target.id}=${file} is a single executable application, not a plain Node binary: its SEA fuse is already set.`,
      expected: 'a Node binary without an injected program',
      found: 'the SEA fuse set',
      hint: `Pass the unmodified Node ${nodeVersion} binary of ${target.id}, not an executable that duo-sea or another tool built.`,
    });
  }
  // Every Node build contains its version string (process.version), so its absence proves another version; its presence does not prove this one.
  if (!(await fileContains(file, Buffer.from(`v${nodeVersion}`)))) {
    throw invalidFile(target, file, {
      message: `--node-binary ${target.id}=${file} is not Node ${nodeVersion}: it does not contain the version string v${nodeVersion}.`,
      expected: `Node v${nodeVersion}`,
      found: `no v${nodeVersion} in the file`,
      hint: `Pass the Node ${nodeVersion} binary of ${target.id}, or build with --node set to the binary's version.`,
    });
  }
}
