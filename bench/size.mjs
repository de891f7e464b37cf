import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { extractSeaBlob } from './blob.mjs';
import { assertSucceeded, runCommand } from './exec.mjs';

/** The floor's compression: xz's strongest preset, one thread, so the input stays one block. */
export const FLOOR_XZ_ARGUMENTS = ['--compress', '--stdout', '--format=xz', '--check=crc64', '-9', '--threads=1'];

async function sha256OfFile(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/** Compressed sizes by input SHA-256 and xz arguments, kept in the work folder so that a second run skips xz. */
class XzSizeCache {
  constructor(file) {
    this.file = file;
  }

  async load() {
    try {
      this.sizes = JSON.parse(await readFile(this.file, 'utf8'));
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
      this.sizes = {};
    }
  }

  /** Returns the size of the input compressed by `xz ARGS`; the input is a file path or a Buffer. */
  async size(input, args) {
    const sha256 = Buffer.isBuffer(input) ? createHash('sha256').update(input).digest('hex') : await sha256OfFile(input);
    const key = `${sha256} ${args.join(' ')}`;
    if (this.sizes[key] === undefined) {
      this.sizes[key] = await compressedSize(input, args);
      await writeFile(this.file, `${JSON.stringify(this.sizes, null, 1)}\n`);
    }
    return this.sizes[key];
  }
}

function compressedSize(input, args) {
  return new Promise((resolve, reject) => {
    const environment = { ...process.env };
    delete environment.XZ_OPT;
    delete environment.XZ_DEFAULTS;
    const xz = spawn('xz', args, { env: environment, stdio: ['pipe', 'pipe', 'inherit'] });
    let sizeBytes = 0;
    xz.stdout.on('data', (chunk) => (sizeBytes += chunk.length));
    xz.once('error', reject);
    xz.once('close', (code) => (code === 0 ? resolve(sizeBytes) : reject(new Error(`xz ${args.join(' ')} exited with code ${code}`))));
    xz.stdin.on('error', reject);
    if (Buffer.isBuffer(input)) xz.stdin.end(input);
    else createReadStream(input).pipe(xz.stdin);
  });
}

/** Runs async jobs with at most `limit` at a time and returns their results in order. */
export async function mapLimited(items, limit, job) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await job(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Strips a raw base binary with the tool and arguments of duo-sea's target table, into the
 * work folder, so the floor does not depend on duo-sea's cache layout for
 * stripped binaries. Returns the raw binary for targets that are not stripped.
 */
async function strippedBase(repoDir, workDir, rawPath, targetId) {
  const target = JSON.parse(await readFile(path.join(repoDir, 'targets', `${targetId}.json`), 'utf8'));
  if (target.strip.tool === 'none') return rawPath;
  const output = path.join(workDir, 'stripped', `${path.basename(rawPath)}-${targetId}`);
  const done = await stat(output).then(() => true, () => false);
  if (!done) {
    await mkdir(path.dirname(output), { recursive: true });
    await rm(`${output}.tmp`, { force: true });
    assertSucceeded(await runCommand(target.strip.tool, [...target.strip.args, rawPath, '-o', `${output}.tmp`]), `${target.strip.tool} ${rawPath}`);
    await runCommand('mv', [`${output}.tmp`, output]);
  }
  return output;
}

/**
 * Writes a copy of a stripped base whose ICU data keeps the locales of
 * `languages` only, with duo-sea's own code from `lib/`, so that the floor
 * of a build with --icu-locales starts from the same bytes as its executable.
 */
async function icuTrimmedBase(repoDir, strippedPath, languages) {
  const output = `${strippedPath}-icu-${languages.join('-')}`;
  if (await stat(output).then(() => true, () => false)) return output;
  const { findIcuPackage, keepLanguages } = await import(pathToFileURL(path.join(repoDir, 'lib', 'formats', 'icu-data.js')).href);
  const binary = await readFile(strippedPath);
  keepLanguages(binary, findIcuPackage(binary), languages);
  await writeFile(`${output}.tmp`, binary);
  await runCommand('mv', [`${output}.tmp`, output]);
  return output;
}

/**
 * Measures, per target of a duo-sea build: the raw and stripped base, the
 * executable, its archives and the floor, which is `xz -9` of the stripped
 * base plus `xz -9` of the SEA blob taken out of the executable.
 */
export async function measureDuoSeaSizes(options) {
  const cache = new XzSizeCache(path.join(options.workDir, 'xz-sizes.json'));
  await cache.load();
  return mapLimited(options.build.manifest.targets, options.jobs, async (target) => {
    const rawPath = path.join(options.cacheDir, 'sha256', target.base.sha256.slice(0, 2), target.base.sha256);
    const fullStrippedPath = await strippedBase(options.repoDir, options.workDir, rawPath, target.id);
    const strippedPath = options.icuLanguages ? await icuTrimmedBase(options.repoDir, fullStrippedPath, options.icuLanguages) : fullStrippedPath;
    const strippedBytes = (await stat(strippedPath)).size;
    const blob = await extractSeaBlob(options.repoDir, path.join(options.build.outDir, target.file));
    const [baseXz9Bytes, blobXz9Bytes] = [await cache.size(strippedPath, FLOOR_XZ_ARGUMENTS), await cache.size(blob, FLOOR_XZ_ARGUMENTS)];
    return {
      target: target.id,
      baseRawBytes: target.base.sizeBytes,
      baseStrippedBytes: target.base.strippedSizeBytes ?? target.base.sizeBytes,
      // The bench strips the base itself. On Mach-O files llvm-strip 14 rewrites the code signature, whose identifier is the
      // output file name, so the size differs from duo-sea's by a few bytes there. duo-sea removes that signature anyway.
      strippedDeltaBytes: strippedBytes - (target.base.strippedSizeBytes ?? target.base.sizeBytes),
      executableBytes: target.sizeBytes,
      blobBytes: blob.length,
      archives: Object.fromEntries(target.archives.map((archive) => [archive.type, archive.sizeBytes])),
      baseXz9Bytes,
      blobXz9Bytes,
      floorBytes: baseXz9Bytes + blobXz9Bytes,
    };
  });
}

/**
 * Writes a peer's executable into the same archives as duo-sea's linux-x64
 * executable, with duo-sea's own archive code from `lib/` and the same
 * target (so the same xz filters and dictionary), and returns their sizes.
 */
export async function measurePeerArchives(options) {
  const { writeArchives } = await import(pathToFileURL(path.join(options.repoDir, 'lib', 'stages', 'archive.js')).href);
  const { xzArgumentsFor } = await import(pathToFileURL(path.join(options.repoDir, 'lib', 'archive', 'compression.js')).href);
  const { findTarget } = await import(pathToFileURL(path.join(options.repoDir, 'lib', 'targets.js')).href);
  const target = findTarget('linux-x64');
  const sha256 = await sha256OfFile(options.executable);
  const { size } = await stat(options.executable);
  // The sizes are kept by executable and xz settings, so a change of settings measures again.
  const settings = createHash('sha256').update(JSON.stringify(xzArgumentsFor({ target, inputBytes: size }))).digest('hex');
  const outDir = path.join(options.workDir, 'peer-archives', `${sha256.slice(0, 16)}-${settings.slice(0, 8)}`);
  const recordPath = path.join(outDir, 'sizes.json');
  try {
    return JSON.parse(await readFile(recordPath, 'utf8'));
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const { archives } = await writeArchives({
    executablePath: options.executable,
    entryName: options.entryName,
    baseName: 'peer',
    types: ['tar.gz', 'tar.xz'],
    outDir,
    mtime: new Date('1985-10-26T08:15:00Z'),
    target,
  });
  const sizes = Object.fromEntries(archives.map((archive) => [archive.type, archive.sizeBytes]));
  for (const archive of archives) await rm(archive.path, { force: true });
  await writeFile(recordPath, JSON.stringify(sizes));
  return sizes;
}
