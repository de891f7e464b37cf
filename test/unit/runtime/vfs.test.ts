import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Vfs, type VfsNode } from '../../../src/runtime/vfs.js';
import { makePayload } from './payload-fixture.js';

const ROOT = path.join(os.tmpdir(), 'vfs-test-root');

const PAYLOAD = makePayload({
  'app/cli.js': { content: 'console.log("cli");\n', mode: 0o755 },
  'app/lib/util.js': { content: 'module.exports = 42;\n' },
  'app/lib/deep/more/file.txt': { content: 'deep' },
  'app/bin/tool': { content: 'tool bytes', mode: 0o755, extract: true },
  'README.md': { content: '# readme\n' },
});

function makeVfs(extracted = false): Vfs {
  return new Vfs(ROOT, PAYLOAD.index, PAYLOAD.data, extracted);
}

const at = (relativePath: string): string => path.join(ROOT, relativePath);

/** Returns the sorted child names of a folder node, or undefined for a file or a missing node. */
function sortedChildren(node: VfsNode | undefined): string[] | undefined {
  return node?.kind === 'directory' ? [...node.children].sort() : undefined;
}

describe('Vfs lookup', () => {
  it('finds a file with its entry', () => {
    const node = makeVfs().lookup(at('app/lib/util.js'));

    expect(node).toEqual({ kind: 'file', relativePath: 'app/lib/util.js', entry: PAYLOAD.index.files['app/lib/util.js'] });
  });

  it('finds implied folders with their children', () => {
    const vfs = makeVfs();

    expect(sortedChildren(vfs.lookup(at('app')))).toEqual(['bin', 'cli.js', 'lib']);
    expect(sortedChildren(vfs.lookup(at('app/lib/deep')))).toEqual(['more']);
    expect(sortedChildren(vfs.lookup(at('app/lib/deep/more')))).toEqual(['file.txt']);
  });

  it('finds the root as a folder', () => {
    const node = makeVfs().lookup(ROOT);

    expect(node?.relativePath).toBe('');
    expect(sortedChildren(node)).toEqual(['README.md', 'app']);
  });

  it('returns undefined for a missing path', () => {
    const vfs = makeVfs();

    expect(vfs.lookup(at('app/lib/missing.js'))).toBeUndefined();
    expect(vfs.lookup(at('app/lib/util'))).toBeUndefined();
  });

  it('ignores a trailing separator on a folder', () => {
    expect(makeVfs().lookup(at('app/lib') + path.sep)?.kind).toBe('directory');
  });

  it('returns undefined for a path outside the root', () => {
    expect(makeVfs().lookup(path.join(os.tmpdir(), 'README.md'))).toBeUndefined();
  });
});

describe('Vfs relative', () => {
  it('returns the path with forward slashes', () => {
    expect(makeVfs().relative(at('app/lib/util.js'))).toBe('app/lib/util.js');
  });

  it('returns an empty string for the root', () => {
    expect(makeVfs().relative(ROOT)).toBe('');
  });

  it('returns undefined for a sibling that shares the root prefix', () => {
    expect(makeVfs().relative(`${ROOT}-other${path.sep}app`)).toBeUndefined();
  });

  it('returns undefined for a parent folder', () => {
    expect(makeVfs().relative(path.dirname(ROOT))).toBeUndefined();
  });

  it('returns undefined when .. climbs out of the root', () => {
    const vfs = makeVfs();

    expect(vfs.relative(`${ROOT}${path.sep}..${path.sep}etc${path.sep}passwd`)).toBeUndefined();
    expect(vfs.relative(`${ROOT}${path.sep}app${path.sep}..${path.sep}..${path.sep}vfs-test-root-other`)).toBeUndefined();
  });

  it('resolves .. that stays inside the root', () => {
    expect(makeVfs().relative(`${ROOT}${path.sep}app${path.sep}bin${path.sep}..${path.sep}lib${path.sep}util.js`)).toBe('app/lib/util.js');
  });

  // path.normalize turns the empty rest of `root/` and `root/app/..` into '.', which the index does not contain.
  it('returns empty for the root with a trailing separator', () => {
    const vfs = makeVfs();

    expect(vfs.relative(ROOT + path.sep)).toBe('');
    expect(vfs.relative(`${ROOT}${path.sep}app${path.sep}..`)).toBe('');
  });

  // A name that starts with two dots is inside the root, but the check is a plain startsWith('..').
  it('keeps a name that starts with two dots', () => {
    expect(makeVfs().relative(at('..config'))).toBe('..config');
  });
});

describe('Vfs absolute', () => {
  it('joins a payload path onto the root', () => {
    expect(makeVfs().absolute('app/lib/util.js')).toBe(path.join(ROOT, 'app', 'lib', 'util.js'));
    expect(makeVfs().absolute('')).toBe(ROOT);
  });
});

describe('Vfs virtualNode', () => {
  it('serves an extract file when extraction failed', () => {
    const node = makeVfs(false).virtualNode(at('app/bin/tool'));

    expect(node?.kind).toBe('file');
    expect(node?.relativePath).toBe('app/bin/tool');
  });

  it('leaves an extracted file to the disk', () => {
    expect(makeVfs(true).virtualNode(at('app/bin/tool'))).toBeUndefined();
  });

  it('serves other files and folders after extraction', () => {
    const vfs = makeVfs(true);

    expect(vfs.virtualNode(at('app/lib/util.js'))?.kind).toBe('file');
    expect(vfs.virtualNode(at('app/bin'))?.kind).toBe('directory');
  });
});

describe('Vfs content', () => {
  it('returns the bytes of each file', () => {
    const vfs = makeVfs();

    expect(vfs.content(PAYLOAD.index.files['app/lib/util.js']).toString('utf8')).toBe('module.exports = 42;\n');
    expect(vfs.content(PAYLOAD.index.files['README.md']).toString('utf8')).toBe('# readme\n');
    expect(vfs.content(PAYLOAD.index.files['app/bin/tool']).toString('utf8')).toBe('tool bytes');
  });

  it('reads from data that starts inside a larger buffer', () => {
    const padded = new Uint8Array(PAYLOAD.data.length + 11).fill(0x2a);
    padded.set(PAYLOAD.data, 11);
    const vfs = new Vfs(ROOT, PAYLOAD.index, padded.subarray(11), false);

    expect(vfs.content(PAYLOAD.index.files['app/cli.js']).toString('utf8')).toBe('console.log("cli");\n');
  });

  it('shares memory with the payload', () => {
    const data = new Uint8Array(PAYLOAD.data);
    const vfs = new Vfs(ROOT, PAYLOAD.index, data, false);
    const entry = PAYLOAD.index.files['app/bin/tool'];

    data[entry.offset] = 'T'.charCodeAt(0);

    expect(vfs.content(entry).toString('utf8')).toBe('Tool bytes');
  });
});
