// Compares the outcomes that the arm64 VM recorded, with the harness's own
// comparison, writes the Markdown report and prints its table. Exits 1 when
// a command differs or the VM recorded no outcomes. Run by run.sh on the host.
// Usage: node compare.mjs --repo DIR --results DIR --report FILE
//          --qemu TEXT --machine TEXT --timings JSON
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: options } = parseArgs({
  options: {
    repo: { type: 'string' },
    results: { type: 'string' },
    report: { type: 'string' },
    qemu: { type: 'string' },
    machine: { type: 'string' },
    timings: { type: 'string' },
  },
});

const lib = path.join(options.repo, 'lib');
const { compareOutcomes } = await import(path.join(lib, 'conformance', 'compare.js'));
const { codeSpan, formatArgs, summarizeFailure } = await import(path.join(lib, 'conformance', 'report.js'));

const outcomesPath = path.join(options.results, 'outcomes.json');
if (!existsSync(outcomesPath)) {
  const log = await readFile(path.join(options.results, 'payload.log'), 'utf8').catch(() => '(no payload.log)');
  process.stderr.write(`The VM recorded no outcomes (${outcomesPath} is missing). Its payload log:\n${log}\n`);
  process.exit(1);
}
const outcomes = JSON.parse(await readFile(outcomesPath, 'utf8'));
const facts = Object.fromEntries(
  (await readFile(path.join(options.results, 'vm-facts.txt'), 'utf8'))
    .split('\n')
    .filter((line) => line.includes(': '))
    .map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)]),
);
const job = JSON.parse(await readFile(path.join(options.results, '..', 'payload', 'job.json'), 'utf8'));
const duoSeaVersion = JSON.parse(await readFile(path.join(options.repo, 'package.json'), 'utf8')).version;
const timings = JSON.parse(options.timings);

const commands = outcomes.map(({ args, expected, got }) => {
  const differences = compareOutcomes(expected, got);
  return { args, differences, passed: differences.length === 0, expected, got };
});
const passCount = commands.filter((command) => command.passed).length;

const seconds = (milliseconds) => `${(milliseconds / 1000).toFixed(1)} s`;
const table = [
  '| command | result | first difference | node | executable |',
  '|---|---|---|---|---|',
  ...commands.map(
    (command) =>
      `| ${codeSpan(formatArgs(command.args))} | ${command.passed ? 'pass' : '**FAIL**'} | ${command.passed ? '' : codeSpan(summarizeFailure(command))} | ${seconds(command.expected.durationMs)} | ${seconds(command.got.durationMs)} |`,
  ),
];

const report = [
  '# linux-arm64 conformance of srt in a full-system arm64 VM',
  '',
  `Under qemu-user, srt's arm64 \`apply-seccomp\` helper cannot create a user`,
  'namespace (`unshare(CLONE_NEWUSER)` returns EINVAL in a multi-threaded',
  'process, and qemu-user runs every guest program multi-threaded), so',
  "srt's commands fail there with `node` and with the executable alike. This",
  'run boots a real arm64 Linux kernel under qemu-system-aarch64 (TCG,',
  'no KVM) and runs the same commands inside it, where bubblewrap and user',
  'namespaces work natively. `test/arm64-vm/run.sh` makes this report.',
  '',
  'For contrast, `unshare --user --map-root-user true` run through',
  'qemu-aarch64-static in the same Debian arm64 root file system fails with',
  '"Invalid argument", and `docs/conformance-linux-arm64.md` lists these',
  'commands as failing under qemu-user.',
  '',
  `- Date: ${new Date().toISOString()}`,
  `- Entry: ${job.entry.spec}, ${job.entry.commands.length} commands from the corpus`,
  `- duo-sea: ${duoSeaVersion}, executable built with \`--target linux-arm64 --archive tar.gz\``,
  `- Emulator: ${options.qemu}, ${options.machine}`,
  `- VM: Debian ${facts.debian} arm64, kernel ${facts.kernel}, ${facts.cpus} CPUs, no network device`,
  `- Node in the VM: ${facts.node}, the linux-arm64 Node binary that the executable's build starts from, for the reference runs`,
  `- Tools in the VM: bubblewrap ${facts.bwrap?.replace(/^bubblewrap /, '')}, socat ${facts.socat}, ${facts.rg}`,
  `- User namespaces in the VM: \`unshare --user\` ${facts['unshare --user']}`,
  `- Runs: as root, each in fresh scratch folders, environment \`PATH\`, \`HOME\`, \`TMPDIR\`, \`LANG=C.UTF-8\`, \`TERM=dumb\`, no \`node\` on the executable's \`PATH\`, scratch paths replaced by tokens`,
  '',
  `**${passCount} of ${commands.length} commands pass.**`,
  '',
  ...table,
  '',
  'The node and executable columns are the run times of each command inside',
  'the emulated VM, so they measure TCG emulation more than the programs.',
  '',
  '## Timings',
  '',
  '| step | time |',
  '|---|---|',
  ...Object.entries(timings).map(([step, timeSeconds]) => `| ${step} | ${timeSeconds} s |`),
  '',
];
await writeFile(options.report, report.join('\n'));
process.stdout.write(`${passCount} of ${commands.length} commands pass\n${table.join('\n')}\n`);
process.exitCode = passCount === commands.length ? 0 : 1;
