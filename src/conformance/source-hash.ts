import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { sha256File } from '../hash.js';

async function listFiles(folder: string, prefix = ''): Promise<string[]> {
  if (!existsSync(folder)) return [];
  const files: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await listFiles(path.join(folder, entry.name), relative)));
    else if (entry.isFile()) files.push(relative);
  }
  return files;
}

/**
 * Returns a SHA-256 over duo-sea's compiled code (`lib/**\/*.js` without the
 * harness itself), its targets, its install scripts and its lockfile: what decides how an
 * executable is built.
 */
export async function computeSourceHash(repoRoot: string): Promise<string> {
  const libFiles = (await listFiles(path.join(repoRoot, 'lib')))
    .filter((file) => file.endsWith('.js') && !file.startsWith('conformance/'))
    .map((file) => `lib/${file}`);
  const targetFiles = (await listFiles(path.join(repoRoot, 'targets'))).map((file) => `targets/${file}`);
  const scriptFiles = (await listFiles(path.join(repoRoot, 'release-scripts'))).map((file) => `release-scripts/${file}`);
  const files = [...libFiles, ...targetFiles, ...scriptFiles, 'package-lock.json'].filter((file) => existsSync(path.join(repoRoot, file))).sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file}\0${await sha256File(path.join(repoRoot, file))}\n`);
  return hash.digest('hex');
}
