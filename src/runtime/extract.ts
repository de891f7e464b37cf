import type * as NodeCrypto from 'node:crypto';
import fs from 'node:fs';
import Module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { userCacheRoot } from '../defaults.js';
import type { VfsIndex } from './vfs-format.js';

/**
 * Loads node:crypto when a file is first written out. Loading it takes
 * about a fifth of the runtime's own start-up, and a run that reuses an
 * earlier extraction never needs it.
 */
function nodeCrypto(): typeof NodeCrypto {
  return Module.createRequire(process.execPath)('node:crypto') as typeof NodeCrypto;
}

/** Marker file written last into a finished extraction folder. */
const COMPLETE_MARKER = '.duo-sea-complete';

export interface PayloadRoot {
  /** Absolute folder where the program's files appear. */
  root: string;
  /**
   * True when every file marked `extract` exists as a real file under the
   * root: verified against its SHA-256 when written, and checked by size when
   * an existing folder is reused.
   */
  extracted: boolean;
  /** True when the root is a real folder; false for a root below the executable file, where no folder can exist. */
  rootIsReal: boolean;
  /** True for a folder made for this process alone, which the caller removes at exit. */
  isTemporary?: boolean;
  /** The reason extraction failed, for a clear error when the program needs one of those files. */
  extractionError?: string;
}

/**
 * Returns this user's private folder for extracted payloads, creating it with
 * mode 0700. Returns undefined when there is no such folder that only this
 * user can write, such as on a read-only system or without a home folder.
 */
function privateRunDir(): string | undefined {
  return privateCacheDir('run');
}

/**
 * Returns a folder of this user's duo-sea cache that only this user can
 * write, creating it with mode 0700, or undefined when there is none.
 */
export function privateCacheDir(name: string): string | undefined {
  const base = userCacheRoot({ env: process.env, platform: process.platform, homeDir: safeHomeDir() });
  // A home folder that does not exist, such as Debian's /nonexistent for system users, is meant to stay missing.
  if (!base || !fs.existsSync(path.dirname(base))) return undefined;
  const dir = path.join(base, 'duo-sea', name);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const info = fs.statSync(dir);
    // Another user's folder, or one that others can write, could hold planted binaries.
    if (process.platform !== 'win32') {
      if (typeof process.getuid === 'function' && info.uid !== process.getuid()) return undefined;
      if ((info.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
    }
    return dir;
  } catch {
    // An unwritable or missing cache folder is expected on locked-down hosts; callers then do without it.
    return undefined;
  }
}

function safeHomeDir(): string {
  try {
    return os.homedir();
  } catch {
    // os.homedir() throws when neither HOME nor the user database has an entry.
    return '';
  }
}

/** True when an extraction folder is complete and every extracted file still has its size. */
function isCompleteExtraction(root: string, index: VfsIndex): boolean {
  if (!fs.existsSync(path.join(root, COMPLETE_MARKER))) return false;
  for (const [relativePath, entry] of Object.entries(index.files)) {
    if (!entry.extract) continue;
    const info = fs.statSync(path.join(root, ...relativePath.split('/')), { throwIfNoEntry: false });
    if (!info || info.size !== entry.sizeBytes) return false;
  }
  return true;
}

function writeExtractedFiles(folder: string, index: VfsIndex, data: Uint8Array): void {
  for (const [relativePath, entry] of Object.entries(index.files)) {
    if (!entry.extract) continue;
    const content = data.subarray(entry.offset, entry.offset + entry.sizeBytes);
    const actual = nodeCrypto().createHash('sha256').update(content).digest('hex');
    if (actual !== entry.sha256) {
      throw new Error(`payload file ${relativePath} is damaged: SHA-256 ${actual}, expected ${entry.sha256}`);
    }
    const target = path.join(folder, ...relativePath.split('/'));
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    fs.writeFileSync(target, content, { mode: entry.mode & 0o700 });
  }
  fs.writeFileSync(path.join(folder, COMPLETE_MARKER), index.payloadId);
}

/**
 * Renames a finished staging folder to the root. When the root already
 * exists, a copy that started at the same moment finished first: its folder
 * is kept and the staging folder removed. Only a damaged root is moved aside
 * and replaced.
 */
function moveIntoPlace(staging: string, root: string, index: VfsIndex): void {
  try {
    fs.renameSync(staging, root);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM') throw error;
  }
  if (isCompleteExtraction(root, index)) {
    fs.rmSync(staging, { recursive: true, force: true });
    return;
  }
  const damaged = `${staging}-damaged`;
  fs.renameSync(root, damaged);
  fs.renameSync(staging, root);
  fs.rmSync(damaged, { recursive: true, force: true });
}

/**
 * Chooses where the program's files appear and writes out the files that
 * must be real. Extraction goes into a temporary folder that is renamed into
 * place, so two copies of the executable that start at once never see a
 * half-written folder: the second rename fails and that copy uses the first.
 */
export function preparePayloadRoot(index: VfsIndex, data: Uint8Array): PayloadRoot {
  const needsExtraction = Object.values(index.files).some((entry) => entry.extract);
  // No folder can exist below the executable, which is a regular file, so no other user can place files where the payload appears.
  const unreachableRoot = path.join(process.execPath, index.payloadId);
  if (!needsExtraction) return { root: unreachableRoot, extracted: true, rootIsReal: false };

  const runDir = privateRunDir();
  let cacheError = 'no private cache folder is writable';
  if (runDir) {
    const extracted = extractIntoRunDir(runDir, index, data);
    if (extracted.ok) return { root: extracted.root, extracted: true, rootIsReal: true };
    cacheError = extracted.error;
  }
  const temporary = extractIntoTemporaryFolder(index, data);
  if (temporary.ok) return { root: temporary.root, extracted: true, rootIsReal: true, isTemporary: true };
  return {
    root: unreachableRoot,
    extracted: false,
    rootIsReal: false,
    extractionError: `${cacheError}, and ${temporary.error}`,
  };
}

type ExtractionResult = { ok: true; root: string } | { ok: false; error: string };

function extractIntoRunDir(runDir: string, index: VfsIndex, data: Uint8Array): ExtractionResult {
  const root = path.join(runDir, index.payloadId);
  if (isCompleteExtraction(root, index)) return { ok: true, root };
  const staging = path.join(runDir, `.tmp-${index.payloadId}-${process.pid}-${nodeCrypto().randomBytes(4).toString('hex')}`);
  try {
    fs.mkdirSync(staging, { mode: 0o700 });
    writeExtractedFiles(staging, index, data);
    moveIntoPlace(staging, root, index);
    return { ok: true, root };
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (isCompleteExtraction(root, index)) return { ok: true, root };
    return { ok: false, error: `extraction into ${runDir} failed: ${messageOf(error)}` };
  }
}

/**
 * Extracts into a new private folder in the temporary folder, for this
 * process alone. mkdtemp creates it with mode 0700 under a name no other user
 * could create beforehand, so this is safe on a shared host.
 */
function extractIntoTemporaryFolder(index: VfsIndex, data: Uint8Array): ExtractionResult {
  let folder: string | undefined;
  try {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'duo-sea-'));
    writeExtractedFiles(folder, index, data);
    return { ok: true, root: folder };
  } catch (error) {
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
    return { ok: false, error: `extraction into ${os.tmpdir()} failed: ${messageOf(error)}` };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
