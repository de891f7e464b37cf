import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import { buildPayload } from '../../../src/stages/payload.js';
import { describeTrimmed, globMatcher, packageDirOf, trimPayload, type TrimCandidate } from '../../../src/stages/payload-trim.js';
import { findTarget } from '../../../src/targets.js';

const PROGRAM_DIR = 'node_modules/cli';
let rootDir: string;

beforeEach(async () => {
  rootDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-payload-trim-'));
});

afterEach(async () => {
  await rm(rootDir, { recursive: true, force: true });
});

/** Writes files below rootDir and returns them as trim candidates, in the order given. */
async function writeTree(files: Record<string, string>, programs: string[] = []): Promise<TrimCandidate[]> {
  const candidates: TrimCandidate[] = [];
  for (const [relativePath, content] of Object.entries(files)) {
    const absolutePath = path.join(rootDir, relativePath);
    await mkdir(path.dirname(absolutePath), { recursive: true });
    await writeFile(absolutePath, content);
    candidates.push({ relativePath, absolutePath, sizeBytes: Buffer.byteLength(content), isProgram: programs.includes(relativePath) });
  }
  return candidates;
}

async function trimmedPaths(files: Record<string, string>, options: { keepSourceMaps?: boolean; keepPatterns?: string[]; programs?: string[] } = {}): Promise<string[]> {
  const candidates = await writeTree(files, options.programs);
  const result = await trimPayload(candidates, { programPackageDir: PROGRAM_DIR, keepSourceMaps: options.keepSourceMaps ?? false, keepPatterns: options.keepPatterns ?? [] });
  return result.trimmed.map((file) => file.relativePath);
}

describe('trimPayload', () => {
  it('drops declarations of a package that does not read them', async () => {
    const trimmed = await trimmedPaths({ 'node_modules/zod/index.js': 'module.exports = {};', 'node_modules/zod/index.d.ts': 'export {};', 'node_modules/zod/v4.d.cts': '', 'node_modules/zod/v4.d.mts': '' });

    expect(trimmed).toEqual(['node_modules/zod/index.d.ts', 'node_modules/zod/v4.d.cts', 'node_modules/zod/v4.d.mts']);
  });

  it('keeps declarations when the package JavaScript mentions .d.ts', async () => {
    const trimmed = await trimmedPaths({
      'node_modules/compiler/lib/tsc.js': 'const libFile = "lib." + name + ".d.ts";',
      'node_modules/compiler/lib/lib.es5.d.ts': 'interface Array<T> {}',
    });

    expect(trimmed).toEqual([]);
  });

  it('keeps declarations when a native program mentions .d.ts', async () => {
    const trimmed = await trimmedPaths(
      { 'node_modules/@ts/linux-x64/lib/tsc': '\x7fELF\0\0lib.es5.d.ts\0', 'node_modules/@ts/linux-x64/lib/lib.es5.d.ts': 'interface Array<T> {}' },
      { programs: ['node_modules/@ts/linux-x64/lib/tsc'] },
    );

    expect(trimmed).toEqual([]);
  });

  it('does not let one package keep the declarations of another', async () => {
    const trimmed = await trimmedPaths({ 'node_modules/compiler/tsc.js': '".d.ts"', 'node_modules/zod/index.d.ts': 'export {};' });

    expect(trimmed).toEqual(['node_modules/zod/index.d.ts']);
  });

  it('drops source maps unless asked to keep them', async () => {
    const files = { 'node_modules/cli/dist/cli.js': '//# sourceMappingURL=cli.js.map', 'node_modules/cli/dist/cli.js.map': '{}' };

    expect(await trimmedPaths(files)).toEqual(['node_modules/cli/dist/cli.js.map']);
  });

  it('keeps source maps with keepSourceMaps', async () => {
    const files = { 'node_modules/cli/dist/cli.js': '//# sourceMappingURL=cli.js.map', 'node_modules/cli/dist/cli.js.map': '{}' };

    expect(await trimmedPaths(files, { keepSourceMaps: true })).toEqual([]);
  });

  it('drops READMEs and changelogs of dependencies only', async () => {
    const trimmed = await trimmedPaths({
      'node_modules/cli/README.md': '# cli',
      'node_modules/zod/README.md': '# zod',
      'node_modules/zod/CHANGELOG.md': '',
      'node_modules/zod/History.md': '',
      'node_modules/zod/readme': '',
      'node_modules/zod/LICENSE': 'MIT',
      'node_modules/zod/NOTICE.md': '',
      'node_modules/zod/COPYING.txt': '',
      'node_modules/zod/readme.js': 'module.exports = 1;',
    });

    expect(trimmed).toEqual(['node_modules/zod/README.md', 'node_modules/zod/CHANGELOG.md', 'node_modules/zod/History.md', 'node_modules/zod/readme']);
  });

  it('drops a test folder that no kept file names', async () => {
    const trimmed = await trimmedPaths({
      'node_modules/forge/package.json': '{"name":"forge","scripts":{"test":"mocha tests/"},"directories":{"test":"tests"}}',
      'node_modules/forge/lib/index.js': 'module.exports = 1; // latest/ contest',
      'node_modules/forge/tests/unit/a.js': 'require("../../lib/index.js");',
      'node_modules/forge/src/__tests__/b.test.js': '',
    });

    expect(trimmed).toEqual(['node_modules/forge/tests/unit/a.js', 'node_modules/forge/src/__tests__/b.test.js']);
  });

  it('keeps a test folder that a file of its package names', async () => {
    const trimmed = await trimmedPaths({ 'node_modules/forge/lib/index.js': 'require("../test/fixtures.js");', 'node_modules/forge/test/fixtures.js': '' });

    expect(trimmed).toEqual([]);
  });

  it('keeps a test folder named as a quoted path segment', async () => {
    const trimmed = await trimmedPaths({ 'node_modules/forge/lib/index.js': 'path.join(__dirname, "..", "tests", name);', 'node_modules/forge/tests/data.json': '{}' });

    expect(trimmed).toEqual([]);
  });

  it('keeps a test folder that another package names with the package', async () => {
    const trimmed = await trimmedPaths({ 'node_modules/cli/index.js': 'require("forge/test/helper.js");', 'node_modules/forge/test/helper.js': '' });

    expect(trimmed).toEqual([]);
  });

  it('drops a test folder that only dropped test folders name', async () => {
    const trimmed = await trimmedPaths({
      'node_modules/forge/index.js': '',
      'node_modules/forge/test/a.js': 'require("../tests/b.js");',
      'node_modules/forge/tests/b.js': '',
    });

    expect(trimmed).toEqual(['node_modules/forge/test/a.js', 'node_modules/forge/tests/b.js']);
  });

  it("keeps the program's own test folder", async () => {
    expect(await trimmedPaths({ 'node_modules/cli/index.js': '', 'node_modules/cli/test/a.js': '' })).toEqual([]);
  });

  it('keeps files that a keep pattern matches', async () => {
    const trimmed = await trimmedPaths({ 'node_modules/zod/index.d.ts': '', 'node_modules/zod/index.js.map': '' }, { keepPatterns: ['node_modules/zod/**/*.d.ts'] });

    expect(trimmed).toEqual(['node_modules/zod/index.js.map']);
  });

  it('reports keep patterns that match nothing left out', async () => {
    const candidates = await writeTree({ 'node_modules/zod/index.d.ts': '', 'node_modules/zod/index.js': '' });
    const result = await trimPayload(candidates, { programPackageDir: PROGRAM_DIR, keepSourceMaps: false, keepPatterns: ['*.d.ts', 'zod/**'] });

    expect(result.unusedKeepPatterns).toEqual(['zod/**']);
  });
});

describe('trimPayload on typescript 6', () => {
  it('keeps the lib declarations that tsc reads', async () => {
    const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
    const libDir = path.join(repoRoot, 'node_modules', 'typescript', 'lib');
    const candidates: TrimCandidate[] = [];
    for (const name of (await readdir(libDir)).sort()) {
      const absolutePath = path.join(libDir, name);
      const info = await stat(absolutePath);
      if (info.isFile()) candidates.push({ relativePath: `node_modules/typescript/lib/${name}`, absolutePath, sizeBytes: info.size, isProgram: false });
    }
    const result = await trimPayload(candidates, { programPackageDir: 'node_modules/typescript', keepSourceMaps: false, keepPatterns: [] });
    const keptPaths = result.kept.map((file) => file.relativePath);

    expect(keptPaths).toContain('node_modules/typescript/lib/lib.es5.d.ts');
    expect(result.trimmed.filter((file) => file.reason === 'type-declaration')).toEqual([]);
  });
});

describe('buildPayload', () => {
  it('leaves trimmed files out of the index', async () => {
    await writeTree({ 'node_modules/cli/package.json': '{"name":"cli"}', 'node_modules/cli/index.js': '', 'node_modules/zod/index.d.ts': 'export {};' });
    const outDir = path.join(rootDir, 'out');
    await mkdir(outDir);

    const payload = await buildPayload({ rootDir, entry: 'node_modules/cli/index.js', target: findTarget('linux-x64'), outDir });

    expect(Object.keys(payload.index.files)).toEqual(['node_modules/cli/index.js', 'node_modules/cli/package.json']);
    expect(payload.trimmed).toEqual([{ relativePath: 'node_modules/zod/index.d.ts', sizeBytes: 10, reason: 'type-declaration' }]);
  });
});

describe('packageDirOf', () => {
  it.each([
    ['node_modules/zod/index.js', 'node_modules/zod'],
    ['node_modules/@scope/name/lib/a.js', 'node_modules/@scope/name'],
    ['node_modules/a/node_modules/b/c.js', 'node_modules/a/node_modules/b'],
    ['node_modules/.bin', undefined],
    ['package.json', undefined],
  ])('%s is in %s', (relativePath, expected) => {
    expect(packageDirOf(relativePath)).toBe(expected);
  });
});

describe('globMatcher', () => {
  it.each([
    ['*.d.ts', 'node_modules/zod/lib/index.d.ts', true],
    ['node_modules/zod/**', 'node_modules/zod/lib/index.d.ts', true],
    ['node_modules/zod/**/*.map', 'node_modules/zod/index.js.map', true],
    ['node_modules/zod/*.map', 'node_modules/zod/lib/index.js.map', false],
    ['./node_modules/zod/README.md', 'node_modules/zod/README.md', true],
    ['node_modules/zo?/README.md', 'node_modules/zod/README.md', true],
    ['node_modules/zod/README.md', 'node_modules/zod/README.mdx', false],
  ])('%s against %s is %s', (pattern, relativePath, expected) => {
    expect(globMatcher(pattern)(relativePath)).toBe(expected);
  });

  it('rejects an empty pattern', () => {
    const error = (() => {
      try {
        globMatcher(' ');
      } catch (caught) {
        return caught;
      }
      return undefined;
    })() as DuoSeaError;

    expect(error).toBeInstanceOf(DuoSeaError);
    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.hint).toMatch(/--keep "node_modules\/zod/);
  });
});

describe('describeTrimmed', () => {
  it('sums files per reason', () => {
    const line = describeTrimmed([
      { relativePath: 'a.d.ts', sizeBytes: 2048, reason: 'type-declaration' },
      { relativePath: 'b.d.ts', sizeBytes: 1024, reason: 'type-declaration' },
      { relativePath: 'a.js.map', sizeBytes: 100, reason: 'source-map' },
    ]);

    expect(line).toBe('payload: left out 3 files (3.10 KiB) that the program does not read: 2 type declarations (3.00 KiB), 1 source maps (100 B); --keep GLOB keeps them');
  });
});
