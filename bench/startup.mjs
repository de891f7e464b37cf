import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertSucceeded, runCommand } from './exec.mjs';

/** Quotes one argument for hyperfine's `--shell=none` parser, which splits words as a POSIX shell does. */
function quote(argument) {
  return /^[\w@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replaceAll("'", "'\\''")}'`;
}

export async function hyperfineVersion() {
  try {
    const result = await runCommand('hyperfine', ['--version']);
    return result.code === 0 ? result.stdout.trim().replace(/^hyperfine /, '') : undefined;
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Times each command `runs` times with hyperfine (no shell, output to a pipe) and returns the wall times in seconds by id. */
async function hyperfineRound(commands, runs, warmup, context) {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-bench-hyperfine-'));
  try {
    const jsonPath = path.join(scratch, 'round.json');
    const args = ['--shell=none', '--style', 'none', '--output', 'pipe', '--warmup', String(warmup), '--runs', String(runs), '--export-json', jsonPath];
    for (const command of commands) args.push('--command-name', command.id, command.argv.map(quote).join(' '));
    assertSucceeded(await runCommand('hyperfine', args, { cwd: context.cwd, env: context.env }), 'hyperfine');
    const { results } = JSON.parse(await readFile(jsonPath, 'utf8'));
    return Object.fromEntries(results.map((result) => [result.command, result.times]));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Times the commands without hyperfine: wall time around a synchronous spawn, which adds the same fork cost to every command. */
function hrtimeRound(commands, runs, warmup, context) {
  const times = {};
  for (const command of commands) {
    const once = () => {
      const start = process.hrtime.bigint();
      const result = spawnSync(command.argv[0], command.argv.slice(1), { cwd: context.cwd, env: context.env, stdio: ['ignore', 'pipe', 'pipe'] });
      if (result.status !== 0) throw new Error(`${command.id} exited with ${result.status ?? result.signal}`);
      return Number(process.hrtime.bigint() - start) / 1e9;
    };
    for (let index = 0; index < warmup; index++) once();
    times[command.id] = Array.from({ length: runs }, once);
  }
  return times;
}

/**
 * Times every command in `rounds` rounds of `runs / rounds` runs each. Each
 * round starts from the next command in turn, so a slow phase of the
 * machine falls on every command alike. The first round warms each command
 * up `warmup` times, later rounds once.
 */
export async function timeInterleaved(commands, options) {
  const perRound = Math.max(1, Math.ceil(options.runs / options.rounds));
  const times = Object.fromEntries(commands.map((command) => [command.id, []]));
  for (let round = 0; round < options.rounds; round++) {
    const rotated = [...commands.slice(round % commands.length), ...commands.slice(0, round % commands.length)];
    const warmup = round === 0 ? options.warmup : 1;
    const measured = options.hyperfine ? await hyperfineRound(rotated, perRound, warmup, options) : hrtimeRound(rotated, perRound, warmup, options);
    for (const [id, values] of Object.entries(measured)) times[id].push(...values);
  }
  return times;
}
