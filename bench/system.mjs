import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from './exec.mjs';
import { hyperfineVersion } from './startup.mjs';

async function firstLineOf(command, args, options) {
  try {
    const result = await runCommand(command, args, options);
    return result.code === 0 ? result.stdout.trim().split('\n')[0] : undefined;
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

async function llvmStripVersion() {
  try {
    const result = await runCommand('llvm-strip', ['--version']);
    const version = /version ([\d.]+)/.exec(result.stdout)?.[1];
    return version ? `llvm-strip ${version}` : undefined;
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Returns the 1-, 5- and 15-minute load averages, rounded to two decimals. */
export function loadAverage() {
  return os.loadavg().map((value) => Math.round(value * 100) / 100);
}

/** Describes the machine and the versions of every tool the benchmark uses. */
export async function describeSystem(repoDir) {
  const cpuInfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuInfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const manifest = JSON.parse(await readFile(path.join(repoDir, 'package.json'), 'utf8'));
  const commit = await firstLineOf('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoDir });
  const dirty = (await runCommand('git', ['status', '--porcelain', '--', 'src'], { cwd: repoDir }).catch(() => ({ stdout: '' }))).stdout.trim() !== '';
  return {
    date: new Date().toISOString(),
    nproc: os.availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: os.release(),
    hostNode: process.version,
    duoSea: `${manifest.version}${commit ? ` (${commit}${dirty ? ', with uncommitted changes in src/' : ''})` : ''}`,
    xz: await firstLineOf('xz', ['--version']),
    hyperfine: await hyperfineVersion(),
    llvmStrip: await llvmStripVersion(),
  };
}
