import { chmod, copyFile } from 'node:fs/promises';
import type { Reporter } from '../events.js';
import { sha256Bytes, sha256File } from '../hash.js';
import type { Target } from '../targets.js';
import { injectBlob } from './inject.js';
import type { OutputCache } from './output-cache.js';
import { finishAfterInjection, prepareForInjection } from './sign.js';
import type { MachOSignature } from './sign-macho.js';

/** Stage results that a cached executable keeps besides its bytes. */
interface ExecutableExtra {
  signature?: MachOSignature;
  /** postject's warnings, reported again when the executable is reused. */
  warnings: string[];
  /** Messages of the signature removal, reported again when the executable is reused. */
  notes?: { level: 'info' | 'warning'; message: string }[];
}

export interface WriteExecutableOptions {
  target: Target;
  /** The stripped base binary, or the base binary when it is not stripped. */
  strippedPath: string;
  /** SHA-256 of `strippedPath` when the caller knows it, so that it is not read again. */
  strippedSha256?: string;
  blob: { blob: Buffer; blobPath: string };
  executablePath: string;
  /** The Mach-O signature identifier, the bin name. */
  identifier: string;
  /** Keychain identity for codesign; without it macOS executables are signed ad-hoc. */
  macosSignIdentity?: string;
  /** True when an Authenticode signature follows. */
  windowsSigned: boolean;
  /** Cache of executables of earlier builds; without it the executable is always made. */
  outputs?: OutputCache;
  stage: <T>(name: string, work: () => Promise<T>) => Promise<T>;
  report: Reporter;
}

/**
 * Returns whether the executable's bytes follow from its inputs alone. A
 * codesign signature made with an identity contains a signing time, so
 * such macOS executables are made every time. Windows executables that get
 * an Authenticode signature are made every time too, as the signature
 * (with a timestamp when asked) is not content-determined.
 */
export function isExecutableCacheable(options: Pick<WriteExecutableOptions, 'target' | 'macosSignIdentity' | 'windowsSigned'>): boolean {
  if (options.target.format === 'macho') return options.macosSignIdentity === undefined;
  if (options.target.format === 'pe') return !options.windowsSigned;
  return true;
}

/** Returns every input that decides the bytes of the injected and signed executable, for its cache key. */
export async function executableInputs(
  options: Pick<WriteExecutableOptions, 'target' | 'strippedPath' | 'strippedSha256' | 'blob' | 'identifier'>,
): Promise<Record<string, unknown>> {
  return {
    target: options.target.id,
    strippedSha256: options.strippedSha256 ?? (await sha256File(options.strippedPath)),
    blobSha256: sha256Bytes(options.blob.blob),
    identifier: options.identifier,
  };
}

/** The executable that writeInjectedExecutable wrote. */
export interface WrittenExecutable {
  sha256: string;
  /** The Mach-O signature of a macOS executable. */
  signature?: MachOSignature;
}

/**
 * Writes the executable: a copy of the stripped base binary without its old
 * signature, with the blob injected, then signed (macOS) or given its PE
 * checksum (Windows). With a cache, an executable of the same inputs from
 * an earlier build is copied instead.
 */
export async function writeInjectedExecutable(options: WriteExecutableOptions): Promise<WrittenExecutable> {
  const { target, executablePath, stage, report, outputs } = options;
  const inputs = outputs && isExecutableCacheable(options) ? await executableInputs(options) : undefined;
  if (outputs && inputs) {
    const description = target.format === 'macho' ? 'the injected and signed executable' : 'the injected executable';
    const restored = await outputs.restore<ExecutableExtra>({ kind: 'executable', inputs, destination: executablePath, mode: 0o755, description, target: target.id });
    if (restored) {
      // The copy's mode went through the umask.
      await chmod(executablePath, 0o755);
      for (const note of restored.extra?.notes ?? []) report({ kind: note.level, target: target.id, message: note.message });
      for (const warning of restored.extra?.warnings ?? []) report({ kind: 'warning', target: target.id, message: `postject: ${warning}` });
      return { sha256: restored.sha256, signature: restored.extra?.signature };
    }
  }

  await copyFile(options.strippedPath, executablePath);
  await chmod(executablePath, 0o755);
  const notes = await stage('unsign', () => prepareForInjection(target, executablePath));
  for (const note of notes) report({ kind: note.level, target: target.id, message: note.message });
  const injected = await stage('inject', () => injectBlob({ basePath: options.strippedPath, blobPath: options.blob.blobPath, blob: options.blob.blob, outputPath: executablePath, target }));
  for (const warning of injected.warnings) report({ kind: 'warning', target: target.id, message: `postject: ${warning}` });
  const signature = await stage(target.format === 'macho' ? 'sign' : 'checksum', () =>
    finishAfterInjection(target, executablePath, { identifier: options.identifier, signIdentity: options.macosSignIdentity }),
  );

  const sha256 = await sha256File(executablePath);
  if (outputs && inputs) {
    const extra: ExecutableExtra = { signature, warnings: injected.warnings, notes };
    await outputs.store({ kind: 'executable', inputs, filePath: executablePath, sha256, label: `executable for ${target.id}`, target: target.id, extra });
  }
  return { sha256, signature };
}
