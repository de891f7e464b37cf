import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstErrorLine, runMeasured } from './exec.mjs';

const PKG_SEA_DRIVER = fileURLToPath(new URL('./pkg-sea-driver.cjs', import.meta.url));

/** Stage durations from duo-sea's progress lines, such as `[linux-x64] archive done in 89.6 s`, in ms by target and stage. */
export function parseStageDurations(stderr) {
  const stages = {};
  for (const match of stderr.matchAll(/^(?:\[([\w-]+)\] )?([\w-]+) done in ([\d.]+) (ms|s)$/gm)) {
    const [, target = 'all', stage, value, unit] = match;
    stages[target] ??= {};
    stages[target][stage] = Number(value) * (unit === 's' ? 1000 : 1);
  }
  return stages;
}

/**
 * Builds with duo-sea's CLI from this repository (`lib/cli.js`, made by
 * `npm run build`) into a fresh output folder and returns the build's wall
 * time, peak RSS, stage durations and manifest.
 */
export async function buildWithDuoSea(options) {
  await rm(options.outDir, { recursive: true, force: true });
  const args = [path.join(options.repoDir, 'lib', 'cli.js'), 'build', options.spec, '--out', options.outDir];
  for (const target of options.targets) args.push('--target', target);
  for (const archive of options.archives ?? []) args.push('--archive', archive);
  for (const nodeOption of options.nodeOptions ?? []) args.push(`--node-option=${nodeOption}`);
  args.push(...(options.extraArgs ?? []));
  if (options.cacheDir) args.push('--cache', options.cacheDir);
  const result = await runMeasured(process.execPath, args, { cwd: options.workDir, echoStderr: options.verbose });
  const build = { tool: 'duo-sea', wallSeconds: result.wallSeconds, peakRssKiB: result.peakRssKiB, stages: parseStageDurations(result.stderr) };
  if (result.code !== 0) return { ...build, error: firstErrorLine(result) };
  const manifest = JSON.parse(await readFile(path.join(options.outDir, 'manifest.json'), 'utf8'));
  return { ...build, manifest, outDir: options.outDir };
}

/** Returns the path of duo-sea's executable for a target in a build's output folder. */
export function duoSeaExecutable(build, targetId) {
  const target = build.manifest.targets.find((candidate) => candidate.id === targetId);
  return path.join(build.outDir, target.file);
}

/**
 * Builds a linux-x64 executable with `bun build --compile`. With
 * `bytecode`, bun's default output format for bytecode is CommonJS, which
 * rejects top-level await. The build then retries with `--format=esm` and
 * records that it did.
 */
export async function buildWithBun(options) {
  await mkdir(options.outDir, { recursive: true });
  const outfile = path.join(options.outDir, options.bin);
  await rm(outfile, { force: true });
  const base = ['build', '--compile', ...(options.bytecode ? ['--bytecode'] : []), options.entry, '--outfile', outfile];
  const tool = options.bytecode ? 'bun-bytecode' : 'bun';
  let result = await runMeasured(options.bunPath, base, { cwd: options.outDir });
  let note;
  if (result.code !== 0 && options.bytecode) {
    note = `\`--bytecode\` alone failed (${firstErrorLine(result)}), built with \`--bytecode --format=esm\``;
    result = await runMeasured(options.bunPath, [...base, '--format=esm'], { cwd: options.outDir });
  }
  const build = { tool, wallSeconds: result.wallSeconds, peakRssKiB: result.peakRssKiB, note };
  if (result.code !== 0) return { ...build, error: firstErrorLine(result) };
  return { ...build, executable: outfile, sizeBytes: (await stat(outfile)).size };
}

/**
 * Builds a linux-x64 executable with @yao-pkg/pkg's enhanced SEA mode, the
 * mode `pkg --sea` uses for a package with a package.json. Its command line
 * downloads Node from nodejs.org, so a driver calls its `seaEnhanced()` with
 * `nodePath`, under the same Node binary, because pkg's SEA mode needs a
 * host Node of 22 or later.
 */
export async function buildWithPkg(options) {
  await mkdir(options.outDir, { recursive: true });
  const output = path.join(options.outDir, options.bin);
  await rm(output, { force: true });
  const nodeMajor = options.nodeVersion.split('.')[0];
  const args = [PKG_SEA_DRIVER, options.pkgFolder, options.packageFolder, `node${nodeMajor}-linux-x64`, output, options.nodePath];
  const result = await runMeasured(options.nodePath, args, { cwd: options.outDir });
  const build = { tool: 'pkg', wallSeconds: result.wallSeconds, peakRssKiB: result.peakRssKiB };
  if (result.code !== 0) return { ...build, error: firstErrorLine(result) };
  return { ...build, executable: output, sizeBytes: (await stat(output)).size };
}
