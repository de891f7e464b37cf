import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { build as buildFunction } from '../build.js';
import type { ContentCache as ContentCacheClass } from '../cache.js';
import type { fetchBaseBinary as fetchBaseBinaryFunction } from '../stages/base-binary.js';
import { ConformanceError } from './errors.js';
import { computeSourceHash } from './source-hash.js';

/** Functions and data of a frozen copy of duo-sea that the harness uses. */
export interface DuoSeaSnapshot {
  root: string;
  sourceHash: string;
  tool: { name: string; version: string };
  build: typeof buildFunction;
  fetchBaseBinary: typeof fetchBaseBinaryFunction;
  ContentCache: typeof ContentCacheClass;
}

const COPY_ATTEMPTS = 5;
const COPY_RETRY_DELAY_MS = 3_000;

/** Copies what `build()` loads at run time: compiled code without the harness, targets, checksums, install scripts and manifests. */
async function copyDuoSea(repoRoot: string, destination: string): Promise<void> {
  await rm(destination, { recursive: true, force: true });
  await mkdir(destination, { recursive: true });
  await cp(path.join(repoRoot, 'lib'), path.join(destination, 'lib'), {
    recursive: true,
    filter: (source) => !source.startsWith(path.join(repoRoot, 'lib', 'conformance')) && !source.endsWith('.map'),
  });
  for (const folder of ['targets', 'checksums', 'release-scripts']) {
    await cp(path.join(repoRoot, folder), path.join(destination, folder), { recursive: true });
  }
  for (const file of ['package.json', 'package-lock.json']) {
    if (existsSync(path.join(repoRoot, file))) await copyFile(path.join(repoRoot, file), path.join(destination, file));
  }
  await symlink(path.join(repoRoot, 'node_modules'), path.join(destination, 'node_modules'));
}

/**
 * Copies duo-sea's compiled code into `destination` and loads `build()`
 * from the copy. A build reads some of its code from disk only when it
 * first needs it (the runtime that goes into each executable), so loading
 * from the repository while `tsc` rewrites `lib/` could mix two versions.
 * The copy is retried until it matches the repository, because a copy made
 * while `tsc` is writing can catch half of its output.
 */
export async function snapshotDuoSea(repoRoot: string, destination: string): Promise<DuoSeaSnapshot> {
  for (let attempt = 1; attempt <= COPY_ATTEMPTS; attempt++) {
    const before = await computeSourceHash(repoRoot);
    await copyDuoSea(repoRoot, destination);
    const copied = await computeSourceHash(destination);
    const after = await computeSourceHash(repoRoot);
    if (before === copied && copied === after) return loadSnapshot(destination, copied);
    await sleep(COPY_RETRY_DELAY_MS);
  }
  throw new ConformanceError({
    code: 'E_SOURCE_CHANGING',
    message: `duo-sea's compiled code in ${path.join(repoRoot, 'lib')} changed during each of ${COPY_ATTEMPTS} attempts to copy it.`,
    hint: 'Run the harness again when no compiler is writing lib/.',
  });
}

async function loadSnapshot(root: string, sourceHash: string): Promise<DuoSeaSnapshot> {
  const load = (relativePath: string): Promise<Record<string, unknown>> => import(pathToFileURL(path.join(root, 'lib', relativePath)).href);
  const { name, version } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  return {
    root,
    sourceHash,
    tool: { name, version },
    build: (await load('build.js')).build as typeof buildFunction,
    fetchBaseBinary: (await load('stages/base-binary.js')).fetchBaseBinary as typeof fetchBaseBinaryFunction,
    ContentCache: (await load('cache.js')).ContentCache as typeof ContentCacheClass,
  };
}
