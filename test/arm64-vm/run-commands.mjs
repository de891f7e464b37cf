// Runs one corpus entry's commands inside the arm64 VM, first with `node`
// running the installed package, then with the executable, the way duo-sea's
// conformance harness does on the host. It imports the harness's own
// process, scratch and normalization code from the payload, so both run
// commands with the same environment, scratch folders and timeouts.
// Usage: node run-commands.mjs JOB_JSON OUTCOMES_JSON
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const [jobPath, outcomesPath] = process.argv.slice(2);
const job = JSON.parse(await readFile(jobPath, 'utf8'));
const payloadDir = path.dirname(jobPath);
const conformance = path.join(payloadDir, 'duo-sea', 'conformance');
const { normalizeOutcome } = await import(path.join(conformance, 'compare.js'));
const { runProcess } = await import(path.join(conformance, 'process-run.js'));
const { createNodeBinFolder, createNodelessBinFolder, createScratch, runEnvironment, scratchReplacements } = await import(
  path.join(conformance, 'scratch.js')
);

const workDir = '/tmp/conformance';
const nodeBinFolder = await createNodeBinFolder(path.join(workDir, 'node-bin'), path.join(payloadDir, 'node'));
const nodelessBinFolder = await createNodelessBinFolder(path.join(workDir, 'nodeless-bin'));
const nodePath = `${nodeBinFolder}:${nodelessBinFolder}`;

/** Runs one command in fresh scratch folders and returns its outcome with the scratch paths replaced by tokens. */
async function runOneSide(command, side) {
  const scratch = await createScratch(path.join(workDir, 'runs'), side.label, job.entry.files);
  try {
    const outcome = await runProcess({
      command: side.command,
      args: [...side.argsPrefix, ...command.args],
      cwd: scratch.cwd,
      env: runEnvironment(scratch, side.pathValue(command)),
      stdin: command.stdin,
      timeoutMs: job.commandTimeoutMs,
    });
    return normalizeOutcome(outcome, await scratchReplacements(scratch));
  } finally {
    await rm(scratch.root, { recursive: true, force: true });
  }
}

const reference = {
  label: 'ref',
  command: path.join(nodeBinFolder, 'node'),
  argsPrefix: [path.join(payloadDir, job.referenceScript)],
  pathValue: () => nodePath,
};
const executable = {
  label: 'exe',
  command: path.join(payloadDir, job.executable),
  argsPrefix: [],
  pathValue: (command) => (command.spawnsNode ? nodePath : nodelessBinFolder),
};

const outcomes = [];
for (const command of job.entry.commands) {
  const expected = await runOneSide(command, reference);
  process.stdout.write(`ref ${JSON.stringify(command.args)}: ${expected.durationMs} ms\n`);
  outcomes.push({ args: command.args, expected });
}
for (const [index, command] of job.entry.commands.entries()) {
  const got = await runOneSide(command, executable);
  process.stdout.write(`exe ${JSON.stringify(command.args)}: ${got.durationMs} ms\n`);
  outcomes[index].got = got;
}
await writeFile(outcomesPath, `${JSON.stringify(outcomes, null, 2)}\n`);
