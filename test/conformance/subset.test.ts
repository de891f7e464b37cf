import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCorpus } from '../../src/conformance/corpus.js';
import { formatArgs, summarizeFailure } from '../../src/conformance/report.js';
import type { ConformanceRun } from '../../src/conformance/results.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const harnessCli = path.join(repoRoot, 'lib', 'conformance', 'cli.js');
const corpusPath = process.env.DUO_SEA_CORPUS ?? path.join(repoRoot, '..', 'shared', 'corpus', 'corpus.json');

/**
 * Entries that together have every trait of the corpus, chosen among those
 * that passed with duo-sea 0.1.0, so that a failure here is a regression.
 * The Gemini CLI is the only entry with `wasm`. Its build took 37 s on a
 * 2-core VM, and later runs take its executable from the cache.
 */
const SUBSET = ['figlet', 'sass', 'esbuild', '@biomejs/biome', '@google/gemini-cli', '@anthropic-ai/sandbox-runtime'];

/** Maximum time in ms of the whole harness run, long enough to build every executable of the subset on a cold cache. */
const HARNESS_TIMEOUT_MS = 30 * 60_000;

/** Runs the harness CLI as a child process, because a run takes minutes and a blocked test worker loses its link to vitest. */
function runHarness(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [harnessCli, ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], timeout: HARNESS_TIMEOUT_MS });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

describe.skipIf(!existsSync(corpusPath))('conformance subset', () => {
  let run: ConformanceRun;
  let jsonPath: string;

  beforeAll(async () => {
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-conformance-subset-'));
    jsonPath = path.join(outDir, 'conformance.json');
    const result = await runHarness([corpusPath, '--only', SUBSET.join(','), '--report', path.join(outDir, 'conformance.md'), '--json', jsonPath]);
    if (!existsSync(jsonPath)) throw new Error(`the harness wrote no report (exit ${result.status}):\n${result.stderr.slice(-4000)}`);
    run = JSON.parse(readFileSync(jsonPath, 'utf8')) as ConformanceRun;
  }, HARNESS_TIMEOUT_MS);

  it('covers every trait of the corpus', async () => {
    const corpus = await readCorpus(corpusPath);
    const allTraits = new Set(corpus.flatMap((entry) => entry.traits));
    const subsetTraits = new Set(corpus.filter((entry) => SUBSET.includes(entry.name)).flatMap((entry) => entry.traits));
    expect([...allTraits].filter((trait) => !subsetTraits.has(trait))).toEqual([]);
  });

  it.each(SUBSET)('%s matches node', (name) => {
    const entry = run.entries.find((candidate) => candidate.name === name);
    expect(entry, `${name} is missing from the report`).toBeDefined();
    const failures = entry!.targets.flatMap((target) =>
      target.commands
        .filter((command) => !command.passed)
        .map((command) => {
          const setupMessage = command.notRun ? ` (${command.notRun.message.split('\n')[0]})` : '';
          return `${target.target} ${formatArgs(command.args)}: ${summarizeFailure(command)}${setupMessage}`;
        }),
    );
    expect(failures, `full outputs of failures: ${jsonPath}`).toEqual([]);
  });
});
