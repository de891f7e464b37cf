import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ContentCache } from '../cache.js';
import { DuoSeaError } from '../errors.js';
import { sha256Bytes, sha256File } from '../hash.js';
import type { Target } from '../targets.js';

export interface StripResult {
  path: string;
  sizeBytes: number;
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
 * damage the injected payload. The result is cached by the base binary's
 * hash and the strip arguments, so a rebuild strips nothing again.
 */
export async function stripBaseBinary(options: {
  basePath: string;
  baseSha256: string;
  target: Target;
  cache: ContentCache;
}): Promise<StripResult> {
  const { target, basePath } = options;
  const baseSize = (await stat(basePath)).size;
  if (target.strip.tool === 'none') return { path: basePath, sizeBytes: baseSize, skippedReason: target.strip.why };

  const key = sha256Bytes(`${options.baseSha256}\n${target.strip.args.join(' ')}`).slice(0, 32);
  const strippedPath = path.join(options.cache.derivedDir('stripped'), `${key}-${target.id}`);
  const hashPath = `${strippedPath}.sha256`;
  // A cached result is used only while it still has the hash recorded when it was made.
  if (existsSync(strippedPath) && existsSync(hashPath)) {
    if ((await readFile(hashPath, 'utf8')).trim() === (await sha256File(strippedPath))) {
      return { path: strippedPath, sizeBytes: (await stat(strippedPath)).size };
    }
  }

  const tool = await findLlvmStrip();
  if (!tool) {
    return {
      path: basePath,
      sizeBytes: baseSize,
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
  await mkdir(path.dirname(strippedPath), { recursive: true });
  await writeFile(`${tempPath}.sha256`, `${await sha256File(tempPath)}\n`);
  await rename(tempPath, strippedPath);
  await rename(`${tempPath}.sha256`, hashPath);
  return { path: strippedPath, sizeBytes: (await stat(strippedPath)).size };
}
