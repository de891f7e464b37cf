import { readFile, writeFile } from 'node:fs/promises';

export const START_MARKER = '<!-- bench:results:start -->';
export const END_MARKER = '<!-- bench:results:end -->';

const MiB = 1024 * 1024;
const mib = (bytes) => (bytes === undefined ? '–' : (bytes / MiB).toFixed(2));
const ms = (value) => (value === undefined ? '–' : value.toFixed(1));
const ratio = (value) => (value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(2));
function verdict(met) {
  if (met === undefined) return 'not measured';
  return met ? '**met**' : '**missed**';
}
const isNumeric = (cell) => /^[\d.,–×+= -]*$/.test(cell) || /^(fails|build failed):/.test(cell);

/** Renders a Markdown table; columns whose cells are all numbers are right-aligned. */
function table(header, rows) {
  const alignments = header.map((cell, index) => (index > 0 && rows.every((row) => isNumeric(row[index] ?? '')) ? '---:' : '---'));
  return [`| ${header.join(' | ')} |`, `| ${alignments.join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

function machineSection(results) {
  const system = results.system;
  const peers = Object.entries(results.versions.peers ?? {}).map(([tool, spec]) => `${tool}: \`${spec}\``);
  if (results.versions.bunRuntime) peers.push(`bun runtime ${results.versions.bunRuntime}`);
  return [
    `Run on ${system.date.slice(0, 16).replace('T', ' ')} UTC, in ${Math.round(results.totalSeconds / 60)} min.`,
    '',
    `- Machine: ${system.nproc} CPUs (\`nproc\`), ${system.cpuModel}, ${system.memoryGiB} GiB RAM, Linux ${system.kernel}.`,
    `- Load average (1, 5, 15 min): ${results.loadAtStart.join(', ')} at the start, ${results.loadAtEnd.join(', ')} at the end.`,
    `- Node in every executable and for \`node\` rows: ${results.versions.node}; Node running duo-sea and the benchmark: ${system.hostNode}.`,
    `- duo-sea ${system.duoSea}; ${peers.join('; ') || 'no peers'}.`,
    `- Programs: ${Object.values(results.versions.programs).map((spec) => `\`${spec}\``).join(', ')}.`,
    ...Object.entries(results.mergedFrom ?? {}).map(([part, run]) => `- The ${part} comes from an earlier run on ${run.date.slice(0, 16).replace('T', ' ')} UTC (load ${run.loadAtStart.join(', ')} at its start, ${run.loadAtEnd.join(', ')} at its end).`),
    `- ${system.xz ?? 'xz missing'}; hyperfine ${system.hyperfine ?? 'missing (timed with process.hrtime)'}; ${system.llvmStrip ?? 'llvm-strip missing'}.`,
  ].join('\n');
}

/** Evaluates the goals from the measurements; each entry has the goal, the numbers and whether it was met. */
export function evaluateGoals(results) {
  const goals = [];
  const srtSize = results.sizes?.srt?.duoSea.find((row) => row.target === 'linux-x64');
  const floorRatio = srtSize ? srtSize.archives['tar.xz'] / srtSize.floorBytes : undefined;
  goals.push({ goal: 'srt linux-x64 .tar.xz ≤ 1.02 × floor', measured: srtSize ? `${mib(srtSize.archives['tar.xz'])} MiB vs ${mib(srtSize.floorBytes)} MiB: ${ratio(floorRatio)} ×` : '–', met: floorRatio === undefined ? undefined : floorRatio <= 1.02 });
  for (const tool of ['bun', 'bun-bytecode']) {
    const peer = results.sizes?.srt?.peers[tool];
    const bunRatio = srtSize && peer ? srtSize.archives['tar.xz'] / peer.archives['tar.xz'] : undefined;
    goals.push({ goal: `srt linux-x64 .tar.xz ≤ 0.70 × ${tool} executable in the same .tar.xz`, measured: peer ? `${mib(srtSize.archives['tar.xz'])} MiB vs ${mib(peer.archives['tar.xz'])} MiB: ${ratio(bunRatio)} ×` : '–', met: bunRatio === undefined ? undefined : bunRatio <= 0.7 });
  }
  const variant = results.sizes?.srt?.icuVariant;
  if (variant) {
    const label = `srt linux-x64 with \`${variant.args.join(' ')}\``;
    const variantFloor = variant.archives['tar.xz'] / variant.floorBytes;
    goals.push({ goal: `${label}: .tar.xz ≤ 1.02 × its floor`, measured: `${mib(variant.archives['tar.xz'])} MiB vs ${mib(variant.floorBytes)} MiB: ${ratio(variantFloor)} ×`, met: variantFloor <= 1.02 });
    for (const tool of ['bun', 'bun-bytecode']) {
      const peer = results.sizes.srt.peers[tool];
      if (!peer) continue;
      const bunRatio = variant.archives['tar.xz'] / peer.archives['tar.xz'];
      goals.push({ goal: `${label}: .tar.xz ≤ 0.70 × ${tool} executable in the same .tar.xz`, measured: `${mib(variant.archives['tar.xz'])} MiB vs ${mib(peer.archives['tar.xz'])} MiB: ${ratio(bunRatio)} ×`, met: bunRatio <= 0.7 });
    }
  }
  const srtVersion = results.startup?.srt?.['--version']?.rows;
  const versionRatio = srtVersion?.['duo-sea'] && srtVersion['node -e 0'] ? srtVersion['duo-sea'].medianMs / srtVersion['node -e 0'].medianMs : undefined;
  goals.push({ goal: 'srt --version ≤ 1.5 × node -e 0', measured: versionRatio === undefined ? '–' : `${ms(srtVersion['duo-sea'].medianMs)} ms vs ${ms(srtVersion['node -e 0'].medianMs)} ms: ${ratio(versionRatio)} ×`, met: versionRatio === undefined ? undefined : versionRatio <= 1.5 });
  const geminiVersion = results.startup?.gemini?.['--version']?.rows;
  const geminiRatio = geminiVersion?.['duo-sea'] && geminiVersion['node <bin>'] ? geminiVersion['duo-sea'].medianMs / geminiVersion['node <bin>'].medianMs : undefined;
  goals.push({ goal: 'gemini --version ≤ node running the installed package', measured: geminiRatio === undefined ? '–' : `${ms(geminiVersion['duo-sea'].medianMs)} ms vs ${ms(geminiVersion['node <bin>'].medianMs)} ms: ${ratio(geminiRatio)} ×`, met: geminiRatio === undefined ? undefined : geminiRatio <= 1 });
  const builds = results.buildTime?.builds;
  const buildRatio = builds ? builds['all-warm'].wallSeconds / builds['one-warm'].wallSeconds : undefined;
  goals.push({ goal: 'five default targets, warm cache ≤ 2 × one target', measured: builds ? `${builds['all-warm'].wallSeconds} s vs ${builds['one-warm'].wallSeconds} s: ${ratio(buildRatio)} ×` : '–', met: buildRatio === undefined ? undefined : buildRatio <= 2 });
  return goals;
}

function goalsSection(results) {
  return table(['goal', 'measured', 'result'], evaluateGoals(results).map((goal) => [goal.goal, goal.measured, verdict(goal.met)]));
}

/** Notes how far the benchmark's own strip, which the floor uses, is from duo-sea's. */
function strippedNote(row) {
  const delta = row.strippedDeltaBytes ?? (row.strippedMatches === false ? undefined : 0);
  if (delta === 0) return '';
  return delta === undefined ? ' (floor from another strip)' : ` (floor from a strip ${delta > 0 ? '+' : ''}${delta} B)`;
}

function duoSeaSizeSection(id, sizes) {
  const rows = sizes.duoSea.map((row) => {
    const smallest = row.archives['tar.xz'] ?? row.archives.zip ?? row.archives['tar.gz'];
    return [row.target, mib(row.baseRawBytes), mib(row.baseStrippedBytes) + strippedNote(row), mib(row.blobBytes), mib(row.executableBytes), mib(row.archives['tar.gz']), mib(row.archives['tar.xz']), mib(row.archives.zip), `${mib(row.baseXz9Bytes)} + ${mib(row.blobXz9Bytes)} = ${mib(row.floorBytes)}`, ratio(smallest / row.floorBytes)];
  });
  return [`**${id}**, duo-sea, every target it was built for (MiB; floor = \`xz -9\` of the stripped base + \`xz -9\` of the SEA blob; the last column divides the smallest archive by the floor):`, '', table(['target', 'raw base', 'stripped base', 'SEA blob', 'executable', '.tar.gz', '.tar.xz', '.zip', 'floor', 'smallest ÷ floor'], rows)].join('\n');
}

function linuxSizeSection(results) {
  const rows = [];
  for (const [id, sizes] of Object.entries(results.sizes)) {
    const duoSea = sizes.duoSea.find((row) => row.target === 'linux-x64');
    rows.push([`${id}`, 'duo-sea', mib(duoSea.executableBytes), mib(duoSea.archives['tar.gz']), mib(duoSea.archives['tar.xz']), '1.00']);
    const variant = sizes.icuVariant;
    if (variant) rows.push([id, `duo-sea \`${variant.args.join(' ')}\` (floor ${mib(variant.floorBytes)})`, mib(variant.executableBytes), mib(variant.archives['tar.gz']), mib(variant.archives['tar.xz']), ratio(duoSea.archives['tar.xz'] / variant.archives['tar.xz'])]);
    for (const [tool, peer] of Object.entries(sizes.peers)) rows.push([id, tool, mib(peer.executableBytes), mib(peer.archives['tar.gz']), mib(peer.archives['tar.xz']), ratio(duoSea.archives['tar.xz'] / peer.archives['tar.xz'])]);
    for (const [tool, build] of Object.entries(results.peerBuilds[id] ?? {})) if (build.error) rows.push([id, tool, `build failed: ${build.error.replaceAll('|', '\\|')}`, '', '', '']);
  }
  return ['linux-x64, every tool (MiB; peers\' archives are written with duo-sea\'s archive code, so with the same settings):', '', table(['program', 'tool', 'executable', '.tar.gz', '.tar.xz', 'duo-sea .tar.xz ÷ this .tar.xz'], rows)].join('\n');
}

function startupSection(results) {
  const parts = [];
  for (const [id, commands] of Object.entries(results.startup)) {
    for (const [label, measured] of Object.entries(commands)) {
      const floor = measured.rows['node -e 0']?.medianMs;
      const nodeBin = measured.rows['node <bin>']?.medianMs;
      const rows = Object.entries(measured.rows).map(([tool, row]) => [tool, ms(row.medianMs), ms(row.minMs), ms(row.p90Ms), ms(row.iqrMs), ratio(row.medianMs / floor), ratio(row.medianMs / nodeBin), mib(row.peakRssKiB * 1024)]);
      for (const [tool, line] of Object.entries(measured.failures)) rows.push([tool, `fails: ${line.replaceAll('|', '\\|')}`, '', '', '', '', '', '']);
      parts.push(`**${id} ${label}** (${measured.rows['node -e 0']?.runs ?? '?'} runs each, ${measured.method}; load ${measured.loadBefore.join(', ')} before, ${measured.loadAfter.join(', ')} after):`, '', table(['command', 'median ms', 'min ms', 'p90 ms', 'IQR ms', '÷ node -e 0', '÷ node <bin>', 'peak RSS MiB'], rows), '');
    }
  }
  return parts.join('\n');
}

function stageTotals(stages) {
  const totals = {};
  for (const [target, byStage] of Object.entries(stages)) {
    if (target === 'all') continue;
    for (const [stage, value] of Object.entries(byStage)) totals[stage] = (totals[stage] ?? 0) + value;
  }
  return totals;
}

function buildTimeSection(results) {
  const builds = results.buildTime.builds;
  const rows = Object.entries(builds).map(([key, build]) => {
    const totals = stageTotals(build.stages);
    const top = Object.entries(totals).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([stage, value]) => `${stage} ${(value / 1000).toFixed(1)}`).join(', ');
    return [key, String(build.targets.length), build.wallSeconds.toFixed(1), mib(build.peakRssKiB * 1024), top, build.loadAverageAfter.join(', ')];
  });
  return [`duo-sea building \`${results.buildTime.spec}\` with every archive type (cold: an empty \`--cache\`, npm's cache kept; warm: the same command again). Stage times are summed over targets, which run two at a time, so they add up to more than the wall time:`, '', table(['build', 'targets', 'wall s', 'peak RSS MiB', 'largest stages (s, summed)', 'load after'], rows)].join('\n');
}

function peerBuildSection(results) {
  const rows = [];
  for (const [id, builds] of Object.entries(results.peerBuilds)) {
    const duoSea = results.duoSeaBuilds[id];
    rows.push([id, `duo-sea (${duoSea.targets.length} target${duoSea.targets.length > 1 ? 's' : ''}, all archives)`, duoSea.wallSeconds.toFixed(1), mib(duoSea.peakRssKiB * 1024), '']);
    for (const [tool, build] of Object.entries(builds)) rows.push([id, tool, build.wallSeconds.toFixed(1), mib(build.peakRssKiB * 1024), (build.error ? `failed: ${build.error}` : build.note ?? '').replaceAll('|', '\\|')]);
  }
  return ['Builds for the size and start-up parts (peers build linux-x64 only, without archives):', '', table(['program', 'tool', 'wall s', 'peak RSS MiB', 'note'], rows)].join('\n');
}

function profileSection(profile) {
  const labels = { program: "program's own modules (with the built-ins they load)", runtimeCompile: "duo-sea runtime: compiling the program's bundle", runtime: 'duo-sea runtime: other (index, payload root, overlays)', nodeInternals: 'Node internals outside both (bootstrap, module loader)', gc: 'garbage collection', v8Native: 'V8 outside JavaScript (`(program)`)', idle: 'idle (waiting, for example for a child process)', spanMs: 'profiled span of the longest process', processes: 'processes that wrote a profile' };
  const rows = Object.entries(labels).map(([key, label]) => (key === 'processes' ? [label, String(profile.duoSea[key] ?? 1), String(profile.nodeBin[key] ?? 1)] : [label, ms(profile.duoSea[key]), ms(profile.nodeBin[key])]));
  const functions = (profile.duoSea.runtimeFunctions ?? []).map(([name, value]) => [`\`${name}\``, ms(value)]);
  return [
    `CPU profiles of \`${profile.program} ${profile.command}\` (\`--cpu-prof --cpu-prof-interval=100\`, after one warm-up run, median over ${profile.runs} runs of each bucket summed over the run's processes, ms; the profiler itself slows the run, and it starts after Node's own bootstrap):`,
    '',
    table(['bucket', 'duo-sea executable', 'node <bin>'], rows),
    '',
    "The functions with the most self time in duo-sea's runtime bucket (other than compiling the bundle):",
    '',
    table(['function (script)', 'ms'], functions),
  ].join('\n');
}

/** Renders the generated part of the report. */
export function renderResults(results) {
  const sections = ['### Run', '', machineSection(results), '', '### Goals', '', goalsSection(results)];
  if (results.sizes) {
    sections.push('', '### Size', '', linuxSizeSection(results));
    for (const [id, sizes] of Object.entries(results.sizes)) sections.push('', duoSeaSizeSection(id, sizes));
  }
  if (results.startup) sections.push('', '### Start-up', '', startupSection(results).trimEnd());
  // Results before the profile part covered several programs held one profile.
  const profiles = results.profile?.program ? { [results.profile.program]: results.profile } : (results.profile ?? {});
  for (const profile of Object.values(profiles)) sections.push('', `### Where ${profile.program} ${profile.command} spends its time`, '', profileSection(profile));
  if (results.buildTime) sections.push('', '### Build time', '', buildTimeSection(results));
  if (results.peerBuilds) sections.push('', peerBuildSection(results));
  return sections.join('\n');
}

/** Replaces the marked section of the report file with the results, creating the file when it does not exist. */
export async function writeReport(file, results) {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
    text = `# Benchmarks\n\n${START_MARKER}\n${END_MARKER}\n`;
  }
  const start = text.indexOf(START_MARKER);
  const end = text.indexOf(END_MARKER);
  if (start === -1 || end < start) throw new Error(`${file} has no ${START_MARKER} ... ${END_MARKER} section to replace`);
  await writeFile(file, `${text.slice(0, start + START_MARKER.length)}\n${renderResults(results)}\n${text.slice(end)}`);
}
