import { execFile } from 'node:child_process';
import { copyFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ContentCache } from '../cache.js';
import { DuoSeaError } from '../errors.js';
import { sha256Bytes, sha256File } from '../hash.js';
import type { Target } from '../targets.js';

export interface StripResult {
  path: string;
  sizeBytes: number;
  /** SHA-256 of the file at `path`. */
  sha256: string;
  /** Set when the binary was left as it is, with the reason. */
  skippedReason?: string;
}

function run(command: string, args: string[]): Promise<{ ok: boolean; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => resolve({ ok: !error, stderr }));
  });
}

/** Returns the first llvm-strip on PATH, including Debian's versioned names, or undefined. */
async function findLlvmStrip(): Promise<string | undefined> {
  for (const name of ['llvm-strip', 'llvm-strip-19', 'llvm-strip-18', 'llvm-strip-17', 'llvm-strip-16', 'llvm-strip-15', 'llvm-strip-14']) {
    if ((await run(name, ['--version'])).ok) return name;
  }
  return undefined;
}

/**
 * Strips a base binary before injection: stripping after injection would
 * damage the injected payload. The result is a content entry of the cache,
 * found through an index by the base binary's hash and the strip arguments,
 * so a rebuild strips nothing again.
 */
export async function stripBaseBinary(options: {
  basePath: string;
  baseSha256: string;
  target: Target;
  cache: ContentCache;
}): Promise<StripResult> {
  const { target, basePath } = options;
  const baseSize = (await stat(basePath)).size;
  if (target.strip.tool === 'none') return { path: basePath, sizeBytes: baseSize, sha256: options.baseSha256, skippedReason: target.strip.why };

  const cached = await cachedStrippedBinary(options);
  if (cached) return cached;

  const tool = await findLlvmStrip();
  if (!tool) {
    return {
      path: basePath,
      sizeBytes: baseSize,
      sha256: options.baseSha256,
      skippedReason: 'llvm-strip is not installed (Debian and Ubuntu: apt-get install llvm), so the base binary is not stripped',
    };
  }
  const tempPath = await options.cache.tempPath(`stripped-${target.id}`);
  await copyFile(basePath, tempPath);
  const result = await run(tool, [...target.strip.args, tempPath]);
  if (!result.ok) {
    await rm(tempPath, { force: true });
    throw new DuoSeaError({
      code: 'E_STRIP_FAILED',
      stage: 'strip',
      target: target.id,
      input: basePath,
      message: `${tool} ${target.strip.args.join(' ')} failed: ${result.stderr.trim()}`,
      hint: `Set "strip" in targets/${target.id}.json to {"tool": "none"} to build without stripping, and report the failure.`,
    });
  }
  const sha256 = await sha256File(tempPath);
  const entry = await options.cache.commit(tempPath, sha256, { kind: 'stripped', source: `${tool} ${target.strip.args.join(' ')} of ${options.baseSha256}`, target: target.id });
  await options.cache.writeJson(strippedIndexPath(options), { sha256, baseSha256: options.baseSha256, target: target.id, args: target.strip.args } satisfies StrippedRecord);
  return { path: entry, sizeBytes: (await stat(entry)).size, sha256 };
}

/** Index record that maps a base binary and the strip arguments to the stripped binary's cache entry. */
interface StrippedRecord {
  sha256: string;
  baseSha256: string;
  target: string;
  args: string[];
}

/** Returns the index record's path: one JSON file per base binary and strip arguments, renamed into place as a whole. */
function strippedIndexPath(options: { baseSha256: string; target: Target; cache: ContentCache }): string {
  const key = sha256Bytes(`${options.baseSha256}\n${options.target.strip.args.join(' ')}`).slice(0, 32);
  return path.join(options.cache.derivedDir('stripped'), `${key}-${options.target.id}.json`);
}

/** Returns the stripped binary of an earlier build, if the index names one and its cache entry still has its SHA-256. */
async function cachedStrippedBinary(options: { baseSha256: string; target: Target; cache: ContentCache }): Promise<StripResult | undefined> {
  const record = await options.cache.readJson<StrippedRecord>(strippedIndexPath(options));
  if (typeof record?.sha256 !== 'string') return undefined;
  // A corrupt stripped binary is stripped again, even offline: the base binary is all that takes.
  const entry = await options.cache.lookup(record.sha256, 'remove');
  return entry ? { path: entry, sizeBytes: (await stat(entry)).size, sha256: record.sha256 } : undefined;
}
