import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VfsResolver } from '../../../src/runtime/module-overlay.js';
import { Vfs } from '../../../src/runtime/vfs.js';
import { makePayload } from './payload-fixture.js';

const manifest = (fields: Record<string, unknown>): { content: string } => ({ content: JSON.stringify(fields) });
const script = { content: 'module.exports = 1;\n' };

/** A package tree with one case per resolution rule. The same tree is written to disk so Node's own resolver can check the expectations. */
const TREE = {
  'app/bin/cli.js': script,
  'app/lib/util.js': script,
  'app/lib/data.json': { content: '{}' },
  'app/lib/addon.node': { content: 'not really an addon' },
  'app/lib/with-main/package.json': manifest({ main: './start' }),
  'app/lib/with-main/start.js': script,
  'app/lib/main-folder/package.json': manifest({ main: 'dist' }),
  'app/lib/main-folder/dist/index.js': script,
  'app/lib/plain-folder/index.js': script,
  'app/lib/json-folder/index.json': { content: '{}' },
  'app/lib/broken-main/package.json': manifest({ main: 'missing.js' }),
  'app/lib/broken-main/index.js': script,
  'app/lib/bad-json/package.json': { content: '{ not json' },
  'app/lib/bad-json/index.js': script,
  'app/node_modules/near/index.js': script,
  'node_modules/near/index.js': script,
  'node_modules/plain/package.json': manifest({ main: 'main.js' }),
  'node_modules/plain/main.js': script,
  'node_modules/plain/sub/file.js': script,
  'node_modules/plain/sub/folder/index.js': script,
  'node_modules/@scope/pkg/package.json': manifest({ main: 'lib/index.js' }),
  'node_modules/@scope/pkg/lib/index.js': script,
  'node_modules/@scope/pkg/lib/extra.js': script,
  'node_modules/exp-string/package.json': manifest({ exports: './entry.js' }),
  'node_modules/exp-string/entry.js': script,
  'node_modules/exp-string/hidden.js': script,
  'node_modules/exp-conditions/package.json': manifest({ exports: { import: './esm.mjs', require: './cjs.cjs', default: './default.js' } }),
  'node_modules/exp-conditions/esm.mjs': script,
  'node_modules/exp-conditions/cjs.cjs': script,
  'node_modules/exp-conditions/default.js': script,
  'node_modules/exp-node/package.json': manifest({ exports: { '.': { node: './node.js', default: './default.js' } } }),
  'node_modules/exp-node/node.js': script,
  'node_modules/exp-node/default.js': script,
  'node_modules/exp-default/package.json': manifest({ exports: { import: './esm.mjs', default: './fallback.js' } }),
  'node_modules/exp-default/esm.mjs': script,
  'node_modules/exp-default/fallback.js': script,
  'node_modules/exp-import-only/package.json': manifest({ exports: { import: './esm.mjs' }, main: 'index.js' }),
  'node_modules/exp-import-only/esm.mjs': script,
  'node_modules/exp-import-only/index.js': script,
  'node_modules/exp-nested/package.json': manifest({
    exports: { '.': { node: { import: './esm.mjs', require: './node-cjs.js' }, default: './default.js' } },
  }),
  'node_modules/exp-nested/esm.mjs': script,
  'node_modules/exp-nested/node-cjs.js': script,
  'node_modules/exp-nested/default.js': script,
  'node_modules/exp-array/package.json': manifest({ exports: { '.': [{ worker: './worker.js' }, './array.js'] } }),
  'node_modules/exp-array/worker.js': script,
  'node_modules/exp-array/array.js': script,
  'node_modules/exp-patterns/package.json': manifest({
    exports: {
      '.': './index.js',
      './features/*.js': './src/features/*.js',
      './utils/*': { require: './cjs/utils/*.js' },
      './package.json': './package.json',
    },
  }),
  'node_modules/exp-patterns/index.js': script,
  'node_modules/exp-patterns/src/features/a.js': script,
  'node_modules/exp-patterns/src/features/deep/b.js': script,
  'node_modules/exp-patterns/cjs/utils/x.js': script,
  'node_modules/exp-specific/package.json': manifest({ exports: { './*': './lib/*.js', './internal/*': './private/*.js' } }),
  'node_modules/exp-specific/lib/internal/x.js': script,
  'node_modules/exp-specific/private/x.js': script,
};

let root: string;
let resolver: VfsResolver;

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'vfs-resolver-root-'));
  for (const [relativePath, file] of Object.entries(TREE)) {
    const filePath = path.join(root, relativePath);
    mkdirSync(path.dirname(filePath), { recursive: true });
    writeFileSync(filePath, file.content);
  }
  const payload = makePayload(TREE);
  resolver = new VfsResolver(new Vfs(root, payload.index, payload.data, false));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const at = (relativePath: string): string => path.join(root, relativePath);

/** Resolves `request` from a folder given relative to the root. */
const resolveFrom = (fromFolder: string, request: string): string | undefined => resolver.resolve(request, at(fromFolder));

/** Returns what Node's own CommonJS resolver finds on disk, or undefined where it throws. */
function nodeResolves(fromFolder: string, request: string): string | undefined {
  try {
    return createRequire(path.join(at(fromFolder), 'caller.js')).resolve(request);
  } catch {
    // MODULE_NOT_FOUND and ERR_PACKAGE_PATH_NOT_EXPORTED both mean "not resolvable" here.
    return undefined;
  }
}

/** Cases that Node resolves the same way on disk: from folder, request, and the expected path relative to the root, or undefined where nothing resolves. */
const CASES: [string, string, string | undefined][] = [
  ['app/bin', '../lib/util.js', 'app/lib/util.js'],
  ['app/bin', '../lib/util', 'app/lib/util.js'],
  ['app/bin', '../lib/data', 'app/lib/data.json'],
  ['app/bin', '../lib/addon', 'app/lib/addon.node'],
  ['app/bin', '../lib/missing', undefined],
  ['app/lib', './with-main', 'app/lib/with-main/start.js'],
  ['app/lib', './main-folder', 'app/lib/main-folder/dist/index.js'],
  ['app/lib', './plain-folder', 'app/lib/plain-folder/index.js'],
  ['app/lib', './json-folder', 'app/lib/json-folder/index.json'],
  ['app/lib/plain-folder', '.', 'app/lib/plain-folder/index.js'],
  ['app/lib/plain-folder', '..', undefined],
  ['app/bin', 'near', 'app/node_modules/near/index.js'],
  ['app/bin', 'plain', 'node_modules/plain/main.js'],
  ['app/bin', 'plain/sub/file', 'node_modules/plain/sub/file.js'],
  ['app/bin', 'plain/sub/folder', 'node_modules/plain/sub/folder/index.js'],
  ['node_modules/@scope/pkg/lib', 'plain', 'node_modules/plain/main.js'],
  ['app/bin', '@scope/pkg', 'node_modules/@scope/pkg/lib/index.js'],
  ['app/bin', '@scope/pkg/lib/extra', 'node_modules/@scope/pkg/lib/extra.js'],
  ['app/bin', 'exp-string', 'node_modules/exp-string/entry.js'],
  ['app/bin', 'exp-string/hidden.js', undefined],
  ['app/bin', 'exp-conditions', 'node_modules/exp-conditions/cjs.cjs'],
  ['app/bin', 'exp-node', 'node_modules/exp-node/node.js'],
  ['app/bin', 'exp-default', 'node_modules/exp-default/fallback.js'],
  ['app/bin', 'exp-import-only', undefined],
  ['app/bin', 'exp-nested', 'node_modules/exp-nested/node-cjs.js'],
  ['app/bin', 'exp-array', 'node_modules/exp-array/array.js'],
  ['app/bin', 'exp-patterns', 'node_modules/exp-patterns/index.js'],
  ['app/bin', 'exp-patterns/features/a.js', 'node_modules/exp-patterns/src/features/a.js'],
  ['app/bin', 'exp-patterns/features/deep/b.js', 'node_modules/exp-patterns/src/features/deep/b.js'],
  ['app/bin', 'exp-patterns/utils/x', 'node_modules/exp-patterns/cjs/utils/x.js'],
  ['app/bin', 'exp-patterns/package.json', 'node_modules/exp-patterns/package.json'],
  ['app/bin', 'exp-patterns/src/features/a.js', undefined],
  ['app/bin', 'not-installed', undefined],
];

describe('VfsResolver files and folders', () => {
  it('resolves a relative file with its extension', () => {
    expect(resolveFrom('app/bin', '../lib/util.js')).toBe(at('app/lib/util.js'));
  });

  it('adds .js, .json and .node in that order', () => {
    expect(resolveFrom('app/bin', '../lib/util')).toBe(at('app/lib/util.js'));
    expect(resolveFrom('app/bin', '../lib/data')).toBe(at('app/lib/data.json'));
    expect(resolveFrom('app/bin', '../lib/addon')).toBe(at('app/lib/addon.node'));
  });

  it('follows package.json main in a folder', () => {
    expect(resolveFrom('app/lib', './with-main')).toBe(at('app/lib/with-main/start.js'));
  });

  it('follows a main that names a folder', () => {
    expect(resolveFrom('app/lib', './main-folder')).toBe(at('app/lib/main-folder/dist/index.js'));
  });

  it('falls back to index.js', () => {
    expect(resolveFrom('app/lib', './plain-folder')).toBe(at('app/lib/plain-folder/index.js'));
    expect(resolveFrom('app/lib/plain-folder', '.')).toBe(at('app/lib/plain-folder/index.js'));
  });

  it('falls back to index.js when main is missing', () => {
    expect(resolveFrom('app/lib', './broken-main')).toBe(at('app/lib/broken-main/index.js'));
  });

  it('ignores a package.json it cannot parse', () => {
    expect(resolveFrom('app/lib', './bad-json')).toBe(at('app/lib/bad-json/index.js'));
  });

  it('resolves an absolute path inside the root', () => {
    expect(resolver.resolve(at('app/lib/util'), os.tmpdir())).toBe(at('app/lib/util.js'));
  });

  it('returns undefined for a missing file', () => {
    expect(resolveFrom('app/bin', '../lib/missing')).toBeUndefined();
  });
});

describe('VfsResolver packages', () => {
  it('prefers the nearest node_modules', () => {
    expect(resolveFrom('app/bin', 'near')).toBe(at('app/node_modules/near/index.js'));
    expect(resolveFrom('node_modules/plain', 'near')).toBe(at('node_modules/near/index.js'));
  });

  it('walks up to node_modules at the root', () => {
    expect(resolveFrom('app/bin', 'plain')).toBe(at('node_modules/plain/main.js'));
  });

  it('resolves from inside another package', () => {
    expect(resolveFrom('node_modules/@scope/pkg/lib', 'plain')).toBe(at('node_modules/plain/main.js'));
  });

  it('resolves a subpath without exports', () => {
    expect(resolveFrom('app/bin', 'plain/sub/file')).toBe(at('node_modules/plain/sub/file.js'));
  });

  it('resolves a scoped package and its subpath', () => {
    expect(resolveFrom('app/bin', '@scope/pkg')).toBe(at('node_modules/@scope/pkg/lib/index.js'));
    expect(resolveFrom('app/bin', '@scope/pkg/lib/extra')).toBe(at('node_modules/@scope/pkg/lib/extra.js'));
  });

  it('returns undefined for a package that is not installed', () => {
    expect(resolveFrom('app/bin', 'not-installed')).toBeUndefined();
  });
});

describe('VfsResolver exports', () => {
  it('uses a string exports for the package root only', () => {
    expect(resolveFrom('app/bin', 'exp-string')).toBe(at('node_modules/exp-string/entry.js'));
    expect(resolveFrom('app/bin', 'exp-string/hidden.js')).toBeUndefined();
  });

  it('picks the require condition over import', () => {
    expect(resolveFrom('app/bin', 'exp-conditions')).toBe(at('node_modules/exp-conditions/cjs.cjs'));
  });

  it('picks the node condition', () => {
    expect(resolveFrom('app/bin', 'exp-node')).toBe(at('node_modules/exp-node/node.js'));
  });

  it('falls back to the default condition', () => {
    expect(resolveFrom('app/bin', 'exp-default')).toBe(at('node_modules/exp-default/fallback.js'));
  });

  it('rejects import-only exports without using main', () => {
    expect(resolveFrom('app/bin', 'exp-import-only')).toBeUndefined();
  });

  it('resolves nested conditions', () => {
    expect(resolveFrom('app/bin', 'exp-nested')).toBe(at('node_modules/exp-nested/node-cjs.js'));
  });

  it('tries the entries of a fallback array in order', () => {
    expect(resolveFrom('app/bin', 'exp-array')).toBe(at('node_modules/exp-array/array.js'));
  });

  it('expands a subpath pattern', () => {
    expect(resolveFrom('app/bin', 'exp-patterns/features/a.js')).toBe(at('node_modules/exp-patterns/src/features/a.js'));
    expect(resolveFrom('app/bin', 'exp-patterns/features/deep/b.js')).toBe(at('node_modules/exp-patterns/src/features/deep/b.js'));
  });

  it('expands a pattern with conditions', () => {
    expect(resolveFrom('app/bin', 'exp-patterns/utils/x')).toBe(at('node_modules/exp-patterns/cjs/utils/x.js'));
  });

  it('rejects a subpath that exports does not list', () => {
    expect(resolveFrom('app/bin', 'exp-patterns/src/features/a.js')).toBeUndefined();
  });

  // Node orders pattern keys by specificity, so the longer prefix "./internal/*" wins over "./*"; the resolver takes the first key that matches.
  it('prefers the most specific pattern', () => {
    expect(resolveFrom('app/bin', 'exp-specific/internal/x')).toBe(at('node_modules/exp-specific/private/x.js'));
  });
});

describe('VfsResolver payload boundaries', () => {
  it('resolves the duo-sea-vfs: prefix from the root', () => {
    expect(resolver.resolve('duo-sea-vfs:app/lib/addon.node', os.tmpdir())).toBe(at('app/lib/addon.node'));
  });

  it('returns undefined for a missing duo-sea-vfs: path', () => {
    expect(resolver.resolve('duo-sea-vfs:app/lib/missing.node', at('app'))).toBeUndefined();
    expect(resolver.resolve('duo-sea-vfs:../outside.node', at('app'))).toBeUndefined();
  });

  it('returns undefined for a relative request that leaves the root', () => {
    expect(resolveFrom('app/bin', '../../../outside.js')).toBeUndefined();
  });

  it('returns undefined for an absolute path outside the root', () => {
    expect(resolver.resolve('/etc/hostname', at('app/bin'))).toBeUndefined();
  });

  it('returns undefined for a package requested from outside the root', () => {
    expect(resolver.resolve('plain', os.tmpdir())).toBeUndefined();
  });
});

describe('VfsResolver compared with Node', () => {
  it.each(CASES)('from %s, %s resolves like Node', (fromFolder, request, expected) => {
    const expectedPath = expected === undefined ? undefined : at(expected);

    expect(nodeResolves(fromFolder, request)).toBe(expectedPath);
    expect(resolveFrom(fromFolder, request)).toBe(expectedPath);
  });

  it('Node picks the longer pattern prefix', () => {
    expect(nodeResolves('app/bin', 'exp-specific/internal/x')).toBe(at('node_modules/exp-specific/private/x.js'));
  });
});
