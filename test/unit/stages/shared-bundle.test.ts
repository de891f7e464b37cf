import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../../src/events.js';
import { SharedBundles, hashInstalledTree } from '../../../src/stages/shared-bundle.js';

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-shared-bundle-'));
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Writes an installed tree with a bin script that requires a dependency, and returns its root. */
async function installedTree(name: string, dependencySource = 'module.exports = 42;\n'): Promise<string> {
  const rootDir = path.join(workDir, name);
  const files: Record<string, string> = {
    'package.json': '{"name":"duo-sea-install","private":true}\n',
    'node_modules/tool/package.json': '{"name":"tool","version":"1.0.0","bin":{"tool":"cli.js"}}\n',
    'node_modules/tool/cli.js': "console.log(require('dep'));\n",
    'node_modules/dep/package.json': '{"name":"dep","version":"1.0.0"}\n',
    'node_modules/dep/index.js': dependencySource,
  };
  for (const [relativePath, content] of Object.entries(files)) {
    const filePath = path.join(rootDir, ...relativePath.split('/'));
    await mkdir(path.dirname(filePath), { recursive: true });
    await writeFile(filePath, content);
  }
  return rootDir;
}

function bundleOptions(rootDir: string, targetId: string) {
  return { rootDir, entryPath: path.join(rootDir, 'node_modules', 'tool', 'cli.js'), nodeVersion: '26.10.0', targetId };
}

describe('hashInstalledTree', () => {
  it('matches for the same files in two folders', async () => {
    expect(await hashInstalledTree(await installedTree('a'))).toBe(await hashInstalledTree(await installedTree('b')));
  });

  it('differs for one changed file', async () => {
    const changed = await installedTree('b', 'module.exports = 43;\n');
    expect(await hashInstalledTree(changed)).not.toBe(await hashInstalledTree(await installedTree('a')));
  });

  it('differs for an added symbolic link', async () => {
    const linked = await installedTree('b');
    await mkdir(path.join(linked, 'node_modules', '.bin'));
    await symlink('../tool/cli.js', path.join(linked, 'node_modules', '.bin', 'tool'));
    expect(await hashInstalledTree(linked)).not.toBe(await hashInstalledTree(await installedTree('a')));
  });

  it('ignores npm install records', async () => {
    const recorded = await installedTree('b');
    await writeFile(path.join(recorded, 'node_modules', '.package-lock.json'), '{}');
    expect(await hashInstalledTree(recorded)).toBe(await hashInstalledTree(await installedTree('a')));
  });
});

describe('SharedBundles', () => {
  it('shares the bundle of the same files', async () => {
    const events: BuildEvent[] = [];
    const bundles = new SharedBundles((event) => events.push(event));

    const first = await bundles.bundle(bundleOptions(await installedTree('a'), 'linux-x64'));
    const second = await bundles.bundle(bundleOptions(await installedTree('b'), 'darwin-arm64'));

    expect(second).toBe(first);
    expect(events).toContainEqual({ kind: 'info', target: 'darwin-arm64', message: 'reused the bundle of linux-x64, whose installed files are the same' });
  });

  it('bundles other files again', async () => {
    const bundles = new SharedBundles(() => undefined);

    const first = await bundles.bundle(bundleOptions(await installedTree('a'), 'linux-x64'));
    const second = await bundles.bundle(bundleOptions(await installedTree('b', 'module.exports = 43;\n'), 'darwin-arm64'));

    expect(second).not.toBe(first);
    expect(second.programCode).toContain('43');
  });

  it('bundles again for another Node version', async () => {
    const bundles = new SharedBundles(() => undefined);
    const rootDir = await installedTree('a');

    const first = await bundles.bundle(bundleOptions(rootDir, 'linux-x64'));
    const second = await bundles.bundle({ ...bundleOptions(rootDir, 'linux-x64'), nodeVersion: '24.11.0' });

    expect(second).not.toBe(first);
  });

  it('gives the bundle that esbuild gives one target alone', async () => {
    const rootA = await installedTree('a');
    const shared = new SharedBundles(() => undefined);
    await shared.bundle(bundleOptions(rootA, 'linux-x64'));

    const reused = await shared.bundle(bundleOptions(await installedTree('b'), 'win-x64'));
    const alone = await new SharedBundles(() => undefined).bundle(bundleOptions(await installedTree('c'), 'win-x64'));

    expect(reused.programCode).toBe(alone.programCode);
  });
});
