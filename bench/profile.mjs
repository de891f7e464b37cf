import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertSucceeded, runCommand } from './exec.mjs';
import { median } from './stats.mjs';

/** Sampling interval of the CPU profiles in microseconds; Node's default of 1000 is too coarse for a 50 ms start. */
export const PROFILE_INTERVAL_US = 100;
export const PROFILE_NODE_OPTIONS = ['--cpu-prof', `--cpu-prof-interval=${PROFILE_INTERVAL_US}`];

/** Returns the payload id in a duo-sea SEA blob, which its self-check mode expects in DUO_SEA_SELF_CHECK. */
export function payloadIdOf(blob) {
  const match = /"payloadId":"([0-9a-f]+)"/.exec(blob.toString('latin1'));
  if (!match) throw new Error('the SEA blob has no duo-sea index with a payloadId');
  return match[1];
}

/**
 * Makes a SEA executable whose main script is empty, from the same stripped
 * base, with duo-sea's own ELF injection: it starts as fast as a single
 * executable application can, so it separates Node's SEA start from
 * duo-sea's runtime.
 */
export async function makeEmptySea(options) {
  const folder = path.join(options.workDir, 'empty-sea');
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'main.js'), '');
  const config = { main: 'main.js', output: 'sea.blob', disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false };
  await writeFile(path.join(folder, 'sea-config.json'), JSON.stringify(config));
  assertSucceeded(await runCommand(options.nodePath, ['--experimental-sea-config', 'sea-config.json'], { cwd: folder }), 'node --experimental-sea-config');
  const lib = (file) => import(pathToFileURL(path.join(options.repoDir, 'lib', ...file.split('/'))).href);
  const { appendNoteSegment } = await lib('formats/elf.js');
  const { setSeaFuse } = await lib('stages/inject.js');
  const target = JSON.parse(await readFile(path.join(options.repoDir, 'targets', 'linux-x64.json'), 'utf8'));
  const image = appendNoteSegment(await readFile(options.strippedBasePath), 'NODE_SEA_BLOB', await readFile(path.join(folder, 'sea.blob')));
  setSeaFuse(image, target, options.strippedBasePath);
  const executable = path.join(folder, 'empty-sea');
  await writeFile(executable, image);
  await chmod(executable, 0o755);
  return executable;
}

/**
 * Sorts each sample of a CPU profile into one bucket by its stack. A frame
 * in the program's files makes it the program's. Else a frame below
 * duo-sea-main.cjs makes it duo-sea's runtime, split into compiling the
 * program and the rest. Else it is Node's (bootstrap and module loading).
 * Garbage collection, V8 work outside JavaScript (`(program)`) and idle
 * time have buckets of their own. Returns milliseconds per bucket, the
 * profile's span and the runtime bucket's functions by self time.
 */
export function bucketProfile(profile, isProgramUrl) {
  const parents = new Map();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const buckets = { program: 0, runtimeCompile: 0, runtime: 0, nodeInternals: 0, gc: 0, v8Native: 0, idle: 0 };
  const runtimeFunctions = {};
  profile.samples.forEach((nodeId, index) => {
    const ms = (profile.timeDeltas[index + 1] ?? profile.timeDeltas[index]) / 1000;
    const bucket = bucketOf(nodeId, byId, parents, isProgramUrl);
    buckets[bucket] += ms;
    if (bucket === 'runtime') {
      const frame = byId.get(nodeId).callFrame;
      const name = `${frame.functionName || '(top level)'} (${frame.url || 'native'})`;
      runtimeFunctions[name] = (runtimeFunctions[name] ?? 0) + ms;
    }
  });
  return { ...buckets, spanMs: (profile.endTime - profile.startTime) / 1000, runtimeFunctions };
}

function bucketOf(leafId, byId, parents, isProgramUrl) {
  const leaf = byId.get(leafId).callFrame.functionName;
  if (leaf === '(garbage collector)') return 'gc';
  if (leaf === '(idle)') return 'idle';
  if (leaf === '(program)' || leaf === '(root)') return 'v8Native';
  let inRuntime = false;
  let compiling = false;
  for (let id = leafId; id !== undefined; id = parents.get(id)) {
    const frame = byId.get(id).callFrame;
    if (isProgramUrl(frame.url)) return 'program';
    if (frame.url.includes('duo-sea-main')) inRuntime = true;
    if (frame.functionName === 'compileProgram') compiling = true;
  }
  if (compiling) return 'runtimeCompile';
  return inRuntime ? 'runtime' : 'nodeInternals';
}

/** Adds up the buckets of the processes of one run; the span is the longest process's. */
function combineProcesses(profiles) {
  const combined = { processes: profiles.length, runtimeFunctions: {} };
  for (const profile of profiles) {
    for (const [key, value] of Object.entries(profile)) {
      if (key === 'runtimeFunctions') {
        for (const [name, ms] of Object.entries(value)) combined.runtimeFunctions[name] = (combined.runtimeFunctions[name] ?? 0) + ms;
      } else if (key === 'spanMs') {
        combined.spanMs = Math.max(combined.spanMs ?? 0, value);
      } else {
        combined[key] = (combined[key] ?? 0) + value;
      }
    }
  }
  return combined;
}

/**
 * Runs a command that writes a CPU profile into its working folder, once
 * to warm up (duo-sea writes out its helper programs on the first start)
 * and then `runs` times. Returns the median of each bucket, summed over
 * the processes of a run, and the functions of duo-sea's runtime bucket by
 * their median self time.
 */
export async function profileRuns(options) {
  const perRun = [];
  for (let run = -1; run < options.runs; run++) {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-bench-profile-'));
    try {
      assertSucceeded(await runCommand(options.argv[0], options.argv.slice(1), { cwd, env: options.env }), options.argv.join(' '));
      // A program that starts copies of itself, as Gemini CLI does, leaves one profile per process.
      const files = (await readdir(cwd)).filter((name) => name.endsWith('.cpuprofile'));
      if (files.length === 0) throw new Error(`${options.argv.join(' ')} wrote no CPU profile`);
      const profiles = [];
      for (const file of files) profiles.push(bucketProfile(JSON.parse(await readFile(path.join(cwd, file), 'utf8')), options.isProgramUrl));
      if (run >= 0) perRun.push(combineProcesses(profiles));
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  }
  const buckets = Object.keys(perRun[0]).filter((key) => key !== 'runtimeFunctions');
  const summary = Object.fromEntries(buckets.map((key) => [key, median(perRun.map((run) => run[key]))]));
  const names = new Set(perRun.flatMap((run) => Object.keys(run.runtimeFunctions)));
  const runtimeFunctions = [...names].map((name) => [name, median(perRun.map((run) => run.runtimeFunctions[name] ?? 0))]).filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]);
  return { ...summary, runtimeFunctions: runtimeFunctions.slice(0, 8) };
}
