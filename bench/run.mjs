#!/usr/bin/env node
/*
 * Benchmarks duo-sea against `bun build --compile` and @yao-pkg/pkg's SEA
 * mode on real npm programs. It measures executable and archive sizes
 * against a compression floor, start-up time and memory against `node -e 0`
 * of the same Node, and duo-sea's build time with a cold and a warm cache.
 * Run it with `npm run build && npm run bench`. docs/benchmarks.md
 * describes the method, and `npm run bench -- --help` the options.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractSeaBlob } from './blob.mjs';
import { measureBuildTimes } from './build-time.mjs';
import { cleanEnvironment, firstErrorLine, runCommand, runMeasured } from './exec.mjs';
import { binScript, ensureInstalled } from './install.mjs';
import { parseOptions, USAGE } from './options.mjs';
import { makeEmptySea, payloadIdOf, PROFILE_NODE_OPTIONS, profileRuns } from './profile.mjs';
import { DEFAULT_TARGETS, packageName } from './programs.mjs';
import { writeReport } from './report.mjs';
import { mapLimited, measureDuoSeaSizes, measurePeerArchives } from './size.mjs';
import { median, summarize } from './stats.mjs';
import { hyperfineVersion, timeInterleaved } from './startup.mjs';
import { describeSystem, loadAverage } from './system.mjs';
import { buildWithBun, buildWithDuoSea, buildWithPkg, duoSeaExecutable } from './tools.mjs';

const REPO_DIR = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const PEER_SPECS = { bun: '@oven/bun-linux-x64@1.4.5', pkg: '@yao-pkg/pkg@6.23.0' };
const HOST_TARGET = 'linux-x64';
/** Runs of each command under /usr/bin/time for its peak RSS. */
const RSS_RUNS = 3;
/** Programs whose start-up the profile part breaks down. */
const PROFILED_PROGRAMS = ['srt', 'gemini'];
/** The duo-sea option that the size and start-up parts also measure, on srt for linux-x64. */
const ICU_VARIANT_ARGS = ['--icu-locales', 'en'];
const ICU_VARIANT = `duo-sea ${ICU_VARIANT_ARGS.join(' ')}`;

function log(message) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function installEverything(options) {
  const installs = {};
  for (const program of options.programs) {
    const folder = (await ensureInstalled(path.join(options.workDir, 'programs', program.id), [program.spec])).get(packageName(program.spec));
    installs[program.id] = { folder, binScript: await binScript(folder, program.bin) };
  }
  const peers = options.tools.filter((tool) => tool !== 'duo-sea');
  const peerSpecs = [...new Set(peers.map((tool) => (tool === 'pkg' ? PEER_SPECS.pkg : PEER_SPECS.bun)))];
  const peerFolders = peerSpecs.length > 0 ? await ensureInstalled(path.join(options.workDir, 'peers'), peerSpecs) : new Map();
  return { installs, bunPath: peerFolders.has('@oven/bun-linux-x64') ? path.join(peerFolders.get('@oven/bun-linux-x64'), 'bin', 'bun') : undefined, pkgFolder: peerFolders.get('@yao-pkg/pkg') };
}

/** Builds each program with duo-sea (srt for `--targets`, the others for linux-x64) and returns the builds by program id. */
async function buildDuoSea(options, results, buildTime) {
  const builds = {};
  for (const program of options.programs) {
    if (buildTime?.program === program.id) {
      builds[program.id] = { ...buildTime.builds['all-warm'], cacheDir: buildTime.cacheDir };
      continue;
    }
    const targets = program.allTargets ? options.targets : [HOST_TARGET];
    log(`duo-sea: building ${program.spec} for ${targets.join(', ')}`);
    const build = await buildWithDuoSea({ repoDir: REPO_DIR, workDir: options.workDir, spec: program.spec, targets, outDir: path.join(options.workDir, 'builds', program.id, 'duo-sea'), cacheDir: options.cacheDir, verbose: options.verbose });
    if (build.error) throw new Error(`duo-sea could not build ${program.spec}: ${build.error}`);
    builds[program.id] = { ...build, cacheDir: options.cacheDir };
  }
  // srt once more for linux-x64 with English locale data only, the option that trades Intl locales for size.
  const icuProgram = options.programs.find((program) => program.allTargets);
  if (icuProgram && (options.parts.includes('size') || options.parts.includes('startup'))) {
    log(`duo-sea: building ${icuProgram.spec} for ${HOST_TARGET} with ${ICU_VARIANT_ARGS.join(' ')}`);
    const outDir = path.join(options.workDir, 'builds', icuProgram.id, 'duo-sea-icu-en');
    const build = await buildWithDuoSea({ repoDir: REPO_DIR, workDir: options.workDir, spec: icuProgram.spec, targets: [HOST_TARGET], extraArgs: ICU_VARIANT_ARGS, outDir, cacheDir: options.cacheDir, verbose: options.verbose });
    if (build.error) throw new Error(`duo-sea could not build ${icuProgram.spec} with ${ICU_VARIANT_ARGS.join(' ')}: ${build.error}`);
    builds[icuProgram.id].icuVariant = { ...build, cacheDir: options.cacheDir };
  }
  results.duoSeaBuilds = Object.fromEntries(Object.entries(builds).map(([id, build]) => [id, { wallSeconds: build.wallSeconds, peakRssKiB: build.peakRssKiB, stages: build.stages, targets: build.manifest.targets.map((target) => target.id) }]));
  return builds;
}

/** Returns the raw base binary of the host target from the duo-sea cache: the `node` that the executables contain. */
function hostNodeOf(build) {
  const target = build.manifest.targets.find((candidate) => candidate.id === HOST_TARGET);
  return { nodePath: path.join(build.cacheDir, 'sha256', target.base.sha256.slice(0, 2), target.base.sha256), nodeVersion: build.manifest.node.version };
}

async function buildPeers(options, setup, node) {
  const peerBuilds = {};
  for (const program of options.programs) {
    peerBuilds[program.id] = {};
    const outRoot = path.join(options.workDir, 'builds', program.id);
    const install = setup.installs[program.id];
    for (const tool of options.tools.filter((candidate) => candidate !== 'duo-sea')) {
      log(`${tool}: building ${program.spec}`);
      const outDir = path.join(outRoot, tool);
      const build =
        tool === 'pkg'
          ? await buildWithPkg({ outDir, bin: program.bin, pkgFolder: setup.pkgFolder, packageFolder: install.folder, ...node })
          : await buildWithBun({ outDir, bin: program.bin, bunPath: setup.bunPath, entry: install.binScript, bytecode: tool === 'bun-bytecode' });
      peerBuilds[program.id][tool] = build;
      if (build.error) log(`${tool}: ${program.id} failed to build: ${build.error}`);
    }
  }
  return peerBuilds;
}

async function measureSizes(options, duoSeaBuilds, peerBuilds) {
  const sizes = {};
  for (const program of options.programs) {
    log(`size: ${program.id} (xz -9 of each stripped base and blob, cached in the work folder)`);
    const duoSea = await measureDuoSeaSizes({ repoDir: REPO_DIR, workDir: options.workDir, cacheDir: duoSeaBuilds[program.id].cacheDir, build: duoSeaBuilds[program.id], jobs: options.jobs });
    const built = Object.entries(peerBuilds[program.id] ?? {}).filter(([, build]) => !build.error);
    log(`size: ${program.id} archives of ${built.map(([tool]) => tool).join(', ') || 'no peer'}`);
    const archives = await mapLimited(built, options.jobs, ([, build]) => measurePeerArchives({ repoDir: REPO_DIR, workDir: options.workDir, executable: build.executable, entryName: program.bin }));
    const peers = Object.fromEntries(built.map(([tool, build], index) => [tool, { executableBytes: build.sizeBytes, archives: archives[index] }]));
    sizes[program.id] = { duoSea, peers };
    const variant = duoSeaBuilds[program.id].icuVariant;
    if (variant) {
      const [row] = await measureDuoSeaSizes({ repoDir: REPO_DIR, workDir: options.workDir, cacheDir: variant.cacheDir, build: variant, jobs: options.jobs, icuLanguages: ['en'] });
      sizes[program.id].icuVariant = { args: ICU_VARIANT_ARGS, ...row };
    }
  }
  return sizes;
}

/** Prepares an empty working folder with the program's input files and a fresh HOME. */
async function prepareRunContext(program) {
  const root = await mkdtemp(path.join(os.tmpdir(), `duo-sea-bench-${program.id}-`));
  const cwd = path.join(root, 'cwd');
  const home = path.join(root, 'home');
  await mkdir(cwd);
  await mkdir(home);
  for (const [name, content] of Object.entries(program.files)) await writeFile(path.join(cwd, name), content);
  return { root, cwd, env: cleanEnvironment(home) };
}

/** Preload that writes the public built-in modules loaded by the end of the run, as JSON, to the file in its variable. */
const BUILTINS_PRELOAD = `
const { builtinModules } = require('node:module');
const { writeFileSync } = require('node:fs');
process.on('exit', () => {
  const loaded = process.moduleLoadList.filter((name) => name.startsWith('NativeModule ')).map((name) => name.slice('NativeModule '.length));
  writeFileSync(process.env.DUO_SEA_BENCH_BUILTINS, JSON.stringify(loaded.filter((name) => builtinModules.includes(name))));
});
`;

/**
 * Returns the public built-in modules that \`node <bin script> ARGS\` loads
 * and \`node -e 0\` does not, in load order, so that a row can time loading
 * them alone: the part of a program's start that no packaging can remove.
 */
async function builtinsLoadedBy(nodePath, binScript, args, runContext) {
  const preload = path.join(runContext.root, 'builtins-preload.cjs');
  const output = path.join(runContext.root, 'builtins.json');
  await writeFile(preload, BUILTINS_PRELOAD);
  const loadedBy = async (argv) => {
    await rm(output, { force: true });
    await runCommand(nodePath, ['--require', preload, ...argv], { cwd: runContext.cwd, env: { ...runContext.env, DUO_SEA_BENCH_BUILTINS: output }, timeoutMs: 120_000 });
    return JSON.parse(await readFile(output, 'utf8'));
  };
  const baseline = new Set(await loadedBy(['-e', '0']));
  return (await loadedBy([binScript, ...args])).filter((name) => !baseline.has(name));
}

/** Lists the commands to time for one program command: floors first, then each tool's executable. */
function startupCommands(program, command, context) {
  const commands = [
    { id: 'node -e 0', argv: [context.nodePath, '-e', '0'], floor: true },
    { id: 'node <bin>', argv: [context.nodePath, context.binScript, ...command.args] },
  ];
  if (command === program.commands[0]) {
    const load = `for (const name of ${JSON.stringify(context.builtins)}) require('node:' + name)`;
    commands.push({ id: 'node -e <the built-ins that node <bin> loads>', argv: [context.nodePath, '-e', load], floor: true });
    commands.push({ id: 'empty SEA', argv: [context.emptySea], floor: true });
    commands.push({ id: 'duo-sea self-check', argv: ['/usr/bin/env', `DUO_SEA_SELF_CHECK=${context.payloadId}`, context.executables['duo-sea']] });
  }
  // Node's compile cache for the modules a program loads outside its bundle: duo-sea's executables keep one in the
  // user's cache folder, so two more rows show a start without it and node with its own.
  commands.push({ id: 'node <bin>, compile cache', argv: ['/usr/bin/env', `NODE_COMPILE_CACHE=${path.join(context.home, 'node-compile-cache')}`, context.nodePath, context.binScript, ...command.args] });
  for (const [tool, executable] of Object.entries(context.executables)) commands.push({ id: tool, argv: [executable, ...command.args] });
  commands.push({ id: 'duo-sea, compile cache off', argv: ['/usr/bin/env', 'NODE_DISABLE_COMPILE_CACHE=1', context.executables['duo-sea'], ...command.args] });
  return commands;
}

async function peakRssKiB(argv, runContext) {
  const values = [];
  for (let run = 0; run < RSS_RUNS; run++) values.push((await runMeasured(argv[0], argv.slice(1), { cwd: runContext.cwd, env: runContext.env })).peakRssKiB);
  return median(values);
}

async function measureStartup(options, setup, duoSeaBuilds, peerBuilds, node, emptySea) {
  const hyperfine = Boolean(await hyperfineVersion());
  const startup = {};
  for (const program of options.programs) {
    const executables = { 'duo-sea': duoSeaExecutable(duoSeaBuilds[program.id], HOST_TARGET) };
    for (const [tool, build] of Object.entries(peerBuilds[program.id] ?? {})) if (!build.error) executables[tool] = build.executable;
    if (duoSeaBuilds[program.id].icuVariant) executables[ICU_VARIANT] = duoSeaExecutable(duoSeaBuilds[program.id].icuVariant, HOST_TARGET);
    const payloadId = payloadIdOf(await extractSeaBlob(REPO_DIR, executables['duo-sea']));
    startup[program.id] = {};
    for (const command of program.commands) {
      const runContext = await prepareRunContext(program);
      try {
        const builtins = command === program.commands[0] ? await builtinsLoadedBy(node.nodePath, setup.installs[program.id].binScript, command.args, runContext) : [];
        const all = startupCommands(program, command, { nodePath: node.nodePath, binScript: setup.installs[program.id].binScript, executables, payloadId, emptySea, home: runContext.env.HOME, builtins });
        const failures = {};
        const working = [];
        for (const candidate of all) {
          const result = await runCommand(candidate.argv[0], candidate.argv.slice(1), { cwd: runContext.cwd, env: runContext.env, timeoutMs: 120_000 });
          if (result.code === 0) working.push(candidate);
          else failures[candidate.id] = firstErrorLine(result);
        }
        log(`startup: ${program.id} ${command.label}: ${working.length} commands, ${options.runs} runs each, load ${loadAverage().join(' ')}`);
        const loadBefore = loadAverage();
        const times = await timeInterleaved(working, { runs: options.runs, rounds: options.rounds, warmup: options.warmup, hyperfine, cwd: runContext.cwd, env: runContext.env });
        const rows = {};
        for (const candidate of working) rows[candidate.id] = { ...summarize(times[candidate.id]), peakRssKiB: await peakRssKiB(candidate.argv, runContext) };
        startup[program.id][command.label] = { rows, failures, loadBefore, loadAfter: loadAverage(), method: hyperfine ? 'hyperfine' : 'hrtime' };
      } finally {
        await rm(runContext.root, { recursive: true, force: true });
      }
    }
  }
  return startup;
}

/** Profiles the first command (`--version`) of srt and gemini, where selected, with duo-sea and with node running the installed package. */
async function measureProfiles(options, setup, node) {
  const profiles = {};
  for (const program of options.programs.filter((candidate) => PROFILED_PROGRAMS.includes(candidate.id))) profiles[program.id] = await measureProfile(options, setup, node, program);
  return profiles;
}

async function measureProfile(options, setup, node, program) {
  const command = program.commands[0];
  log(`profile: building ${program.spec} with ${PROFILE_NODE_OPTIONS.join(' ')}`);
  const build = await buildWithDuoSea({ repoDir: REPO_DIR, workDir: options.workDir, spec: program.spec, targets: [HOST_TARGET], archives: ['tar.gz'], nodeOptions: PROFILE_NODE_OPTIONS, outDir: path.join(options.workDir, 'builds', program.id, 'duo-sea-profile'), cacheDir: options.cacheDir, verbose: options.verbose });
  if (build.error) throw new Error(`the profiling build failed: ${build.error}`);
  const runContext = await prepareRunContext(program);
  try {
    const isProgramUrl = (url) => url.includes('/node_modules/');
    const duoSea = await profileRuns({ argv: [duoSeaExecutable(build, HOST_TARGET), ...command.args], env: runContext.env, runs: options.profileRuns, isProgramUrl });
    const nodeBin = await profileRuns({ argv: [node.nodePath, ...PROFILE_NODE_OPTIONS, setup.installs[program.id].binScript, ...command.args], env: runContext.env, runs: options.profileRuns, isProgramUrl });
    return { program: program.id, command: command.label, runs: options.profileRuns, duoSea, nodeBin };
  } finally {
    await rm(runContext.root, { recursive: true, force: true });
  }
}

/** Parts of a result that a run may leave out, with the key each is stored under. */
const RESULT_PARTS = { 'build-time': 'buildTime', size: 'sizes', startup: 'startup', profile: 'profile' };

/**
 * Copies the parts that this run did not measure from the previous
 * results.json, each with the run facts it was measured under, so that one
 * part can be measured again, for example when the machine is quieter.
 */
async function mergePreviousParts(results, workDir) {
  let previous;
  try {
    previous = JSON.parse(await readFile(path.join(workDir, 'results.json'), 'utf8'));
  } catch (error) {
    if (error.code === 'ENOENT') return;
    throw error;
  }
  // Results from before the profile part covered several programs hold one profile, not one per program.
  if (previous.profile?.program) previous.profile = { [previous.profile.program]: previous.profile };
  results.mergedFrom = {};
  const runFacts = (label) => previous.mergedFrom?.[label] ?? { date: previous.system.date, loadAtStart: previous.loadAtStart, loadAtEnd: previous.loadAtEnd };
  for (const [part, key] of Object.entries(RESULT_PARTS)) {
    if (previous[key] === undefined) continue;
    if (results[key] === undefined) {
      results[key] = previous[key];
      results.mergedFrom[`${part} part`] = runFacts(`${part} part`);
    } else if (key === 'sizes' || key === 'startup' || key === 'profile') {
      // These are keyed by program, so the programs that this run left out are kept.
      for (const [program, value] of Object.entries(previous[key])) {
        if (results[key][program] !== undefined) continue;
        results[key][program] = value;
        results.mergedFrom[`${part} part for ${program}`] = runFacts(`${part} part for ${program}`);
      }
    }
  }
  results.versions.programs = { ...previous.versions.programs, ...results.versions.programs };
  results.versions.peers = { ...previous.versions.peers, ...results.versions.peers };
  results.versions.bunRuntime ??= previous.versions.bunRuntime;
  // The builds table describes the builds that the size and start-up parts measured.
  if (!results.options.parts.includes('size') && !results.options.parts.includes('startup')) {
    results.peerBuilds = previous.peerBuilds;
    results.duoSeaBuilds = previous.duoSeaBuilds;
  }
}

async function main() {
  const options = parseOptions(process.argv.slice(2), REPO_DIR);
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (options.reportOnly) {
    if (!options.report) throw new Error('--report-only and --no-report together leave nothing to do');
    await writeReport(options.report, JSON.parse(await readFile(path.join(options.workDir, 'results.json'), 'utf8')));
    return;
  }
  const started = Date.now();
  await mkdir(options.workDir, { recursive: true });
  const results = { system: await describeSystem(REPO_DIR), options: { ...options, programs: options.programs.map((program) => program.id) }, loadAtStart: loadAverage() };
  log(`work folder ${options.workDir}, load ${results.loadAtStart.join(' ')}`);

  const setup = await installEverything(options);
  results.versions = { programs: Object.fromEntries(options.programs.map((program) => [program.id, program.spec])), peers: Object.fromEntries(options.tools.filter((tool) => tool !== 'duo-sea').map((tool) => [tool, tool === 'pkg' ? PEER_SPECS.pkg : PEER_SPECS.bun])) };
  if (setup.bunPath) results.versions.bunRuntime = (await runCommand(setup.bunPath, ['--version'])).stdout.trim();

  let buildTime;
  const buildTimeProgram = options.programs.find((program) => program.allTargets);
  if (options.parts.includes('build-time') && buildTimeProgram) {
    const measured = await measureBuildTimes({ repoDir: REPO_DIR, workDir: options.workDir, spec: buildTimeProgram.spec, oneTarget: HOST_TARGET, allTargets: DEFAULT_TARGETS, verbose: options.verbose, log, loadAverage });
    buildTime = { program: buildTimeProgram.id, ...measured };
    results.buildTime = { program: buildTimeProgram.id, spec: buildTimeProgram.spec, builds: Object.fromEntries(Object.entries(measured.builds).map(([key, build]) => [key, { wallSeconds: build.wallSeconds, peakRssKiB: build.peakRssKiB, stages: build.stages, targets: build.targets, loadAverageAfter: build.loadAverageAfter }])) };
  }

  const duoSeaBuilds = await buildDuoSea(options, results, buildTime);
  const node = hostNodeOf(Object.values(duoSeaBuilds)[0]);
  results.versions.node = node.nodeVersion;
  const peerBuilds = await buildPeers(options, setup, node);
  results.peerBuilds = Object.fromEntries(Object.entries(peerBuilds).map(([id, builds]) => [id, Object.fromEntries(Object.entries(builds).map(([tool, build]) => [tool, { wallSeconds: build.wallSeconds, peakRssKiB: build.peakRssKiB, error: build.error, note: build.note, sizeBytes: build.sizeBytes }]))]));

  if (options.parts.includes('size')) results.sizes = await measureSizes(options, duoSeaBuilds, peerBuilds);
  if (options.parts.includes('startup') || options.parts.includes('profile')) {
    const strippedPath = path.join(options.workDir, 'stripped', `${path.basename(node.nodePath)}-${HOST_TARGET}`);
    const strippedBasePath = await stat(strippedPath).then(() => strippedPath, () => node.nodePath);
    const emptySea = await makeEmptySea({ repoDir: REPO_DIR, workDir: options.workDir, nodePath: node.nodePath, strippedBasePath });
    if (options.parts.includes('startup')) results.startup = await measureStartup(options, setup, duoSeaBuilds, peerBuilds, node, emptySea);
    if (options.parts.includes('profile')) results.profile = await measureProfiles(options, setup, node);
  }
  results.loadAtEnd = loadAverage();
  results.totalSeconds = Math.round((Date.now() - started) / 1000);
  if (options.merge) await mergePreviousParts(results, options.workDir);

  await writeFile(path.join(options.workDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  if (options.report) await writeReport(options.report, results);
  log(`done in ${results.totalSeconds} s; results in ${path.join(options.workDir, 'results.json')}${options.report ? ` and ${options.report}` : ''}`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : error}\n`);
  process.exitCode = 1;
});
