import { existsSync, mkdirSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PayloadRoot } from '../../../src/runtime/extract.js';
import type { FixtureFile } from './payload-fixture.js';
import { RuntimeChild } from './runtime-child.js';

// Each case runs preparePayloadRoot in a child process, so that its environment (XDG_CACHE_HOME, HOME, TMPDIR) is the test's own.

const PAYLOAD_ID = 'payload-extract-0001';
const TOOL_TEXT = '#!/bin/sh\necho packaged tool\n';
const ADDON_TEXT = 'pretend native addon bytes';

const FILES: Record<string, FixtureFile> = {
  'app/cli.js': { content: 'require("./build/addon.node");\n', mode: 0o755 },
  'app/bin/tool': { content: TOOL_TEXT, mode: 0o755, extract: true },
  'app/build/addon.node': { content: ADDON_TEXT, mode: 0o644, extract: true },
};

let child: RuntimeChild;
let tempDir: string;
let env: Record<string, string>;
let runDir: string;
let root: string;

beforeAll(async () => {
  child = await RuntimeChild.create();
});

afterAll(async () => {
  await child.dispose();
});

beforeEach(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-extract-'));
  env = { XDG_CACHE_HOME: path.join(tempDir, 'cache'), HOME: path.join(tempDir, 'home'), TMPDIR: path.join(tempDir, 'tmp') };
  runDir = path.join(tempDir, 'cache', 'duo-sea', 'run');
  root = path.join(runDir, PAYLOAD_ID);
  return () => rm(tempDir, { recursive: true, force: true });
});

function prepare(files: Record<string, FixtureFile> = FILES, extraEnv: Record<string, string> = {}): Promise<PayloadRoot> {
  return child.evaluate<PayloadRoot>(
    `const { index, data } = makePayload(${JSON.stringify(files)}, ${JSON.stringify(PAYLOAD_ID)});
     return preparePayloadRoot(index, data);`,
    { env: { ...env, ...extraEnv } },
  );
}

async function permissionBits(filePath: string): Promise<number> {
  return (await stat(filePath)).mode & 0o777;
}

describe('preparePayloadRoot extraction', () => {
  it('writes the extracted files under the run folder', async () => {
    const result = await prepare();

    expect(result).toEqual({ root, extracted: true, rootIsReal: true });
    expect(await readFile(path.join(root, 'app/bin/tool'), 'utf8')).toBe(TOOL_TEXT);
    expect(await readFile(path.join(root, 'app/build/addon.node'), 'utf8')).toBe(ADDON_TEXT);
    expect(existsSync(path.join(root, 'app/cli.js'))).toBe(false);
    expect(await readFile(path.join(root, '.duo-sea-complete'), 'utf8')).toBe(PAYLOAD_ID);
  });

  it('keeps the owner bits of each file mode', async () => {
    await prepare();

    expect(await permissionBits(path.join(root, 'app/bin/tool'))).toBe(0o700);
    expect(await permissionBits(path.join(root, 'app/build/addon.node'))).toBe(0o600);
  });

  it('makes the run and payload folders private', async () => {
    await prepare();

    expect(await permissionBits(runDir)).toBe(0o700);
    expect(await permissionBits(root)).toBe(0o700);
    expect(await permissionBits(path.join(root, 'app/bin'))).toBe(0o700);
  });

  it('tightens a run folder that others can write', async () => {
    await mkdir(runDir, { recursive: true });
    await chmod(runDir, 0o777);

    const result = await prepare();

    expect(result.extracted).toBe(true);
    expect(await permissionBits(runDir)).toBe(0o700);
  });

  it('leaves no staging folder behind', async () => {
    await prepare();

    expect(await readdir(runDir)).toEqual([PAYLOAD_ID]);
  });

  it('uses HOME/.cache when XDG_CACHE_HOME is relative', async () => {
    mkdirSync(path.join(tempDir, 'home'));
    const result = await prepare(FILES, { XDG_CACHE_HOME: 'relative/cache' });

    expect(result).toEqual({ root: path.join(tempDir, 'home', '.cache', 'duo-sea', 'run', PAYLOAD_ID), extracted: true, rootIsReal: true });
  });

  it('leaves a missing HOME missing', async () => {
    mkdirSync(path.join(tempDir, 'tmp'));
    const result = await prepare(FILES, { XDG_CACHE_HOME: 'relative/cache' });

    expect(existsSync(path.join(tempDir, 'home'))).toBe(false);
    expect(result.isTemporary).toBe(true);
    expect(result.extracted).toBe(true);
  });

  it('skips extraction without extract files', async () => {
    const result = await prepare({ 'app/cli.js': { content: 'console.log(1);\n' } });

    expect(result.extracted).toBe(true);
    expect(result.rootIsReal).toBe(false);
    expect(result.root.endsWith(`${path.sep}${PAYLOAD_ID}`)).toBe(true);
    expect((await stat(path.dirname(result.root))).isFile()).toBe(true);
    expect(existsSync(runDir)).toBe(false);
  });
});

describe('preparePayloadRoot reuse', () => {
  it('reuses a complete folder', async () => {
    await prepare();
    const before = await stat(path.join(root, 'app/bin/tool'));

    const result = await prepare();

    const after = await stat(path.join(root, 'app/bin/tool'));
    expect(result).toEqual({ root, extracted: true, rootIsReal: true });
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it('extracts again after a file was deleted', async () => {
    await prepare();
    await unlink(path.join(root, 'app/build/addon.node'));

    const result = await prepare();

    expect(result).toEqual({ root, extracted: true, rootIsReal: true });
    expect(await readFile(path.join(root, 'app/build/addon.node'), 'utf8')).toBe(ADDON_TEXT);
    expect(await readdir(runDir)).toEqual([PAYLOAD_ID]);
  });

  it('extracts again after a file changed size', async () => {
    await prepare();
    await writeFile(path.join(root, 'app/bin/tool'), 'truncated');

    await prepare();

    expect(await readFile(path.join(root, 'app/bin/tool'), 'utf8')).toBe(TOOL_TEXT);
  });

  it('extracts again when the completion marker is missing', async () => {
    await prepare();
    await unlink(path.join(root, '.duo-sea-complete'));
    await writeFile(path.join(root, 'app/build/addon.node'), 'X'.repeat(ADDON_TEXT.length));

    await prepare();

    expect(await readFile(path.join(root, 'app/build/addon.node'), 'utf8')).toBe(ADDON_TEXT);
  });

  // The doc comment promises that a second copy's rename fails and it uses the first copy's folder, but the code deletes
  // the existing folder before its rename, so files of a copy that is already running disappear for a moment.
  it('keeps a folder another copy finished', async () => {
    const result = await child.evaluate<{ presentDuringSecondRename: boolean[]; result: PayloadRoot }>(
      `const { index, data } = makePayload(${JSON.stringify(FILES)}, ${JSON.stringify(PAYLOAD_ID)});
       const originalWriteFileSync = fs.writeFileSync;
       const originalRenameSync = fs.renameSync;
       let otherCopy;
       const presentDuringSecondRename = [];
       fs.writeFileSync = function (file, ...rest) {
         if (otherCopy === undefined && String(file).endsWith('.duo-sea-complete')) {
           otherCopy = 'running';
           // A second copy of the executable starts now and finishes its extraction before this one renames.
           otherCopy = preparePayloadRoot(index, data);
         }
         return originalWriteFileSync.call(this, file, ...rest);
       };
       fs.renameSync = function (from, to) {
         if (typeof otherCopy === 'object' && to === otherCopy.root) {
           presentDuringSecondRename.push(fs.existsSync(path.join(otherCopy.root, 'app/build/addon.node')));
         }
         return originalRenameSync.call(this, from, to);
       };
       const result = preparePayloadRoot(index, data);
       return { presentDuringSecondRename, result };`,
      { env },
    );

    expect(result.result).toEqual({ root, extracted: true, rootIsReal: true });
    expect(result.presentDuringSecondRename).toEqual([true]);
  });
});

describe('preparePayloadRoot failures', () => {
  it('extracts into a private temporary folder when the cache is unwritable', async () => {
    await mkdir(path.join(tempDir, 'tmp'));

    const result = await prepare(FILES, { XDG_CACHE_HOME: '/etc/hostname/cache' });

    expect(result.extracted).toBe(true);
    expect(result.rootIsReal).toBe(true);
    expect(path.dirname(result.root)).toBe(path.join(tempDir, 'tmp'));
    expect(path.basename(result.root)).toMatch(/^duo-sea-/);
    expect(result.isTemporary).toBe(true);
    expect(await permissionBits(result.root)).toBe(0o700);
    expect(await readFile(path.join(result.root, 'app/bin/tool'), 'utf8')).toBe(TOOL_TEXT);
  });

  it('mounts below the executable when nothing is writable', async () => {
    const result = await prepare(FILES, { XDG_CACHE_HOME: '/etc/hostname/cache' });

    expect(result.extracted).toBe(false);
    expect(result.rootIsReal).toBe(false);
    expect((await stat(path.dirname(result.root))).isFile()).toBe(true);
    expect(result.extractionError).toContain('no private cache folder is writable');
    expect(result.extractionError).toContain(`extraction into ${path.join(tempDir, 'tmp')} failed`);
    expect(existsSync(path.join(tempDir, 'tmp'))).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)('falls back on a run folder of another user', async () => {
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    await chown(runDir, 4321, 4321);

    const result = await prepare();

    expect(result.extracted).toBe(false);
    expect(result.rootIsReal).toBe(false);
    expect(await readdir(runDir)).toEqual([]);
  });

  it('rejects a file whose SHA-256 does not match', async () => {
    const damaged: Record<string, FixtureFile> = { ...FILES, 'app/build/addon.node': { ...FILES['app/build/addon.node'], sha256: '0'.repeat(64) } };

    const result = await prepare(damaged);

    expect(result.rootIsReal).toBe(false);
    expect(result.extracted).toBe(false);
    expect(result.extractionError).toMatch(new RegExp(`^extraction into ${runDir} failed: payload file app/build/addon\\.node is damaged`));
    expect(result.extractionError).toContain(`expected ${'0'.repeat(64)}`);
  });

  it('leaves no staging folder after a failed extraction', async () => {
    const damaged: Record<string, FixtureFile> = { ...FILES, 'app/build/addon.node': { ...FILES['app/build/addon.node'], sha256: '0'.repeat(64) } };

    await prepare(damaged);

    expect(await readdir(runDir)).toEqual([]);
  });
});
