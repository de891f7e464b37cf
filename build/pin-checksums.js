#!/usr/bin/env node
// Pins the SHA-256 of every target's Node base binary for one Node version:
// downloads each registry package, checks npm's integrity, hashes the binary
// and writes checksums/node-v<version>.sha256. Run it from a trusted network
// and review the file before committing it.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ContentCache } from '../lib/cache.js';
import { BUNDLED_CHECKSUMS_DIR, checksumFileName, checksumKey } from '../lib/checksums.js';
import { defaultBuildCacheDir } from '../lib/defaults.js';
import { downloadBaseBinary, listBaseVersions } from '../lib/stages/base-binary.js';
import { allTargets } from '../lib/targets.js';
import os from 'node:os';

const nodeVersion = process.argv[2];
const checksumsDir = path.resolve(process.argv[3] ?? BUNDLED_CHECKSUMS_DIR);
if (!nodeVersion || !/^\d+\.\d+\.\d+$/.test(nodeVersion)) {
  console.error('Usage: npm run pin-checksums -- <node version, such as 26.10.0> [checksums folder, default: checksums/]');
  process.exit(2);
}

const cache = new ContentCache(defaultBuildCacheDir({ env: process.env, platform: process.platform, homeDir: os.homedir() }));
const lines = [];
for (const target of allTargets()) {
  // musl targets have no npm package; their binaries come from a mirror and are checked against its SHASUMS256.txt.
  if (!target.base) continue;
  const versions = await listBaseVersions(target, process.cwd());
  if (!versions.includes(nodeVersion)) {
    console.error(`${target.id}: ${target.base.package} has no ${nodeVersion}, skipped`);
    continue;
  }
  const downloaded = await downloadBaseBinary({ target, nodeVersion, cache, report: () => {}, cwd: process.cwd() });
  await rm(downloaded.tempFile, { force: true });
  lines.push(`${downloaded.sha256}  ${checksumKey(target.base.package, nodeVersion, target.base.binaryPath)}`);
  console.error(`${target.id}: ${downloaded.sha256}`);
}
await mkdir(checksumsDir, { recursive: true });
const file = path.join(checksumsDir, checksumFileName(nodeVersion));
await writeFile(file, lines.sort().join('\n') + '\n');
console.log(`wrote ${file}`);
