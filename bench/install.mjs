import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { assertSucceeded, runCommand } from './exec.mjs';
import { packageName, packageVersion } from './programs.mjs';

async function readJson(file) {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Installs npm specs into a prefix folder with `npm install --ignore-scripts`,
 * unless the exact versions are there already, and returns the folders of
 * the installed packages by name.
 */
export async function ensureInstalled(prefix, specs) {
  const folders = new Map(specs.map((spec) => [packageName(spec), path.join(prefix, 'node_modules', packageName(spec))]));
  const installed = await Promise.all(specs.map(async (spec) => (await readJson(path.join(folders.get(packageName(spec)), 'package.json')))?.version === packageVersion(spec)));
  if (!installed.every(Boolean)) {
    await mkdir(prefix, { recursive: true });
    const result = await runCommand('npm', ['install', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...specs]);
    assertSucceeded(result, `npm install ${specs.join(' ')}`);
  }
  return folders;
}

/** Returns the absolute path of a package's bin script. */
export async function binScript(packageFolder, binName) {
  const manifest = await readJson(path.join(packageFolder, 'package.json'));
  const relative = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[binName];
  if (!relative) throw new Error(`${manifest.name} has no bin named ${binName}`);
  return path.join(packageFolder, relative);
}
