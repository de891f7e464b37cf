import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FixtureFile } from './payload-fixture.js';
import { RuntimeChild } from './runtime-child.js';

// Every case runs in its own child process because installFsOverlay patches the process-wide fs module.

const TIMES_MS = 1_700_000_000_000;
const DATA_TEXT = 'héllo payload\n';
const TOOL_TEXT = 'packaged tool bytes';

const FILES: Record<string, FixtureFile> = {
  'app/cli.js': { content: 'module.exports = 1;\n', mode: 0o755 },
  'app/lib/data.txt': { content: DATA_TEXT },
  'app/lib/empty.txt': { content: '' },
  'app/lib/nested/deep.json': { content: '{"deep":true}' },
  'app/bin/tool': { content: TOOL_TEXT, mode: 0o755, extract: true },
  'app/bin/README.md': { content: 'packaged readme' },
};

let child: RuntimeChild;
let tempDir: string;
let root: string;

beforeAll(async () => {
  child = await RuntimeChild.create();
});

afterAll(async () => {
  await child.dispose();
});

beforeEach(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-fs-overlay-'));
  root = path.join(tempDir, 'payload');
  await writeFile(path.join(tempDir, 'real.txt'), 'real file outside the root');
  return () => rm(tempDir, { recursive: true, force: true });
});

/** Mounts FILES at `root` in a child process, runs `body` there and returns its result. */
function withOverlay<T>(body: string, options: { extracted?: boolean } = {}): Promise<T> {
  const setup = [
    `const root = argv[0];`,
    `const tempDir = argv[1];`,
    `const { index, data } = makePayload(${JSON.stringify(FILES)});`,
    `installFsOverlay(new Vfs(root, index, data, ${options.extracted === true}), ${TIMES_MS});`,
  ].join('\n');
  return child.evaluate<T>(`${setup}\n${body}`, { args: [root, tempDir] });
}

describe('installFsOverlay readFileSync', () => {
  it('returns the payload bytes as a Buffer', async () => {
    const result = await withOverlay<{ isBuffer: boolean; hex: string }>(`
      const content = fs.readFileSync(path.join(root, 'app/lib/data.txt'));
      return { isBuffer: Buffer.isBuffer(content), hex: content.toString('hex') };
    `);

    expect(result.isBuffer).toBe(true);
    expect(result.hex).toBe(Buffer.from(DATA_TEXT, 'utf8').toString('hex'));
  });

  it('decodes utf8 given as a string or an option', async () => {
    const result = await withOverlay<string[]>(`
      const file = path.join(root, 'app/lib/data.txt');
      return [fs.readFileSync(file, 'utf8'), fs.readFileSync(file, { encoding: 'utf8' })];
    `);

    expect(result).toEqual([DATA_TEXT, DATA_TEXT]);
  });

  it('returns a copy that writes do not reach', async () => {
    const result = await withOverlay<string>(`
      const file = path.join(root, 'app/lib/data.txt');
      fs.readFileSync(file).fill(0x21);
      return fs.readFileSync(file, 'utf8');
    `);

    expect(result).toBe(DATA_TEXT);
  });

  it('reads an empty file', async () => {
    const result = await withOverlay<number>(`return fs.readFileSync(path.join(root, 'app/lib/empty.txt')).length;`);

    expect(result).toBe(0);
  });

  it('accepts a file: URL', async () => {
    const result = await withOverlay<string>(`
      return fs.readFileSync(url.pathToFileURL(path.join(root, 'app/lib/data.txt')), 'utf8');
    `);

    expect(result).toBe(DATA_TEXT);
  });

  it('accepts a relative path from the working directory', async () => {
    const result = await withOverlay<string>(`
      process.chdir(tempDir);
      return fs.readFileSync('payload/app/lib/data.txt', 'utf8');
    `);

    expect(result).toBe(DATA_TEXT);
  });

  it('rejects a folder with EISDIR', async () => {
    const result = await withOverlay<string>(`return errorCode(() => fs.readFileSync(path.join(root, 'app/lib')));`);

    expect(result).toBe('EISDIR');
  });

  it('gives ENOENT for a missing payload path', async () => {
    const result = await withOverlay<string>(`return errorCode(() => fs.readFileSync(path.join(root, 'app/lib/missing.txt')));`);

    expect(result).toBe('ENOENT');
  });
});

describe('installFsOverlay statSync', () => {
  it('describes a file with its size, mode and times', async () => {
    const result = await withOverlay<Record<string, unknown>>(`
      const stats = fs.statSync(path.join(root, 'app/lib/data.txt'));
      return { isFile: stats.isFile(), isDirectory: stats.isDirectory(), size: stats.size, mode: stats.mode & 0o777, mtimeMs: stats.mtimeMs, mtime: stats.mtime.getTime() };
    `);

    expect(result).toEqual({
      isFile: true,
      isDirectory: false,
      size: Buffer.byteLength(DATA_TEXT),
      mode: 0o644,
      mtimeMs: TIMES_MS,
      mtime: TIMES_MS,
    });
  });

  it('describes an implied folder and the root as folders', async () => {
    const result = await withOverlay<boolean[][]>(`
      return [path.join(root, 'app/lib'), root].map((folder) => {
        const stats = fs.statSync(folder);
        return [stats.isDirectory(), stats.isFile()];
      });
    `);

    expect(result).toEqual([
      [true, false],
      [true, false],
    ]);
  });

  // makeStats ignores the options argument, so the sizes and times stay numbers.
  it('returns bigint fields for bigint: true', async () => {
    const result = await withOverlay<string>(`return typeof fs.statSync(path.join(root, 'app/lib/data.txt'), { bigint: true }).size;`);

    expect(result).toBe('bigint');
  });

  it('serves lstatSync and the promise stat', async () => {
    const result = await withOverlay<number[]>(`
      const file = path.join(root, 'app/cli.js');
      return [fs.lstatSync(file).mode & 0o777, (await fs.promises.stat(file)).mode & 0o777];
    `);

    expect(result).toEqual([0o755, 0o755]);
  });
});

describe('installFsOverlay existsSync', () => {
  it('finds files and implied folders', async () => {
    const result = await withOverlay<boolean[]>(`
      return ['app/lib/data.txt', 'app/lib/nested', 'app/lib/missing.txt'].map((name) => fs.existsSync(path.join(root, name)));
    `);

    expect(result).toEqual([true, true, false]);
  });
});

describe('installFsOverlay readdirSync', () => {
  it('lists names sorted', async () => {
    const result = await withOverlay<string[]>(`return fs.readdirSync(path.join(root, 'app/lib'));`);

    expect(result).toEqual(['data.txt', 'empty.txt', 'nested']);
  });

  it('returns Dirent entries with their types', async () => {
    const result = await withOverlay<unknown[]>(`
      const folder = path.join(root, 'app/lib');
      return fs.readdirSync(folder, { withFileTypes: true }).map((entry) => ({
        name: entry.name,
        isFile: entry.isFile(),
        isDirectory: entry.isDirectory(),
        parentIsFolder: entry.parentPath === folder,
      }));
    `);

    expect(result).toEqual([
      { name: 'data.txt', isFile: true, isDirectory: false, parentIsFolder: true },
      { name: 'empty.txt', isFile: true, isDirectory: false, parentIsFolder: true },
      { name: 'nested', isFile: false, isDirectory: true, parentIsFolder: true },
    ]);
  });

  it('lists the root', async () => {
    const result = await withOverlay<string[]>(`return fs.readdirSync(root);`);

    expect(result).toEqual(['app']);
  });

  // The overlay ignores the recursive option (Node 20.1 and later), so it lists the top folder only.
  it('lists nested entries with recursive', async () => {
    const result = await withOverlay<string[]>(`return fs.readdirSync(path.join(root, 'app/lib'), { recursive: true }).sort();`);

    expect(result).toEqual(['data.txt', 'empty.txt', 'nested', path.join('nested', 'deep.json')]);
  });

  it('rejects a file with ENOTDIR', async () => {
    const result = await withOverlay<string>(`return errorCode(() => fs.readdirSync(path.join(root, 'app/cli.js')));`);

    expect(result).toBe('ENOTDIR');
  });

  // Vfs.relative returns '.' for the root with a trailing separator, which is how fileURLToPath returns `new URL('./', rootUrl)`.
  it('lists the root given as a folder URL', async () => {
    const result = await withOverlay<string[] | string>(`
      const rootUrl = url.pathToFileURL(root + path.sep);
      try { return fs.readdirSync(rootUrl); } catch (error) { return error.code; }
    `);

    expect(result).toEqual(['app']);
  });
});

describe('installFsOverlay asynchronous calls', () => {
  it('serves fs.promises.readFile', async () => {
    const result = await withOverlay<string[]>(`
      const file = path.join(root, 'app/lib/data.txt');
      return [await fs.promises.readFile(file, 'utf8'), (await fs.promises.readFile(file)).toString('hex')];
    `);

    expect(result).toEqual([DATA_TEXT, Buffer.from(DATA_TEXT).toString('hex')]);
  });

  it('serves callback readFile with and without an encoding', async () => {
    const result = await withOverlay<unknown[]>(`
      const file = path.join(root, 'app/lib/data.txt');
      const read = (...args) => new Promise((resolve, reject) => fs.readFile(file, ...args, (error, content) => (error ? reject(error) : resolve(content))));
      const text = await read('utf8');
      const bytes = await read();
      return [text, Buffer.isBuffer(bytes), bytes.toString('utf8')];
    `);

    expect(result).toEqual([DATA_TEXT, true, DATA_TEXT]);
  });

  it('passes a callback readFile error to the callback', async () => {
    const result = await withOverlay<string>(`
      return new Promise((resolve) => fs.readFile(path.join(root, 'app/lib'), (error) => resolve(error ? error.code : 'no error')));
    `);

    expect(result).toBe('EISDIR');
  });

  it('serves fs.promises.readdir with file types', async () => {
    const result = await withOverlay<unknown[]>(`
      const entries = await fs.promises.readdir(path.join(root, 'app/bin'), { withFileTypes: true });
      return entries.map((entry) => [entry.name, entry.isFile()]);
    `);

    expect(result).toEqual([
      ['README.md', true],
      ['tool', true],
    ]);
  });

  it('passes true to the exists callback', async () => {
    const result = await withOverlay<boolean>(`
      return new Promise((resolve) => fs.exists(path.join(root, 'app/lib/nested'), resolve));
    `);

    expect(result).toBe(true);
  });
});

describe('installFsOverlay createReadStream', () => {
  const readStream = (streamArguments: string): string => `
    const stream = fs.createReadStream(path.join(root, 'app/lib/data.txt')${streamArguments});
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    return { types: chunks.map((chunk) => typeof chunk), text: chunks.map((chunk) => chunk.toString()).join(''), path: stream.path };
  `;

  it('streams the content', async () => {
    const result = await withOverlay<{ types: string[]; text: string; path: string }>(readStream(''));

    expect(result.text).toBe(DATA_TEXT);
    expect(result.types).toEqual(['object']);
    expect(result.path).toBe(path.join(root, 'app/lib/data.txt'));
  });

  it('streams an inclusive byte range', async () => {
    const result = await withOverlay<{ text: string }>(readStream(', { start: 7, end: 13 }'));

    expect(result.text).toBe('payload');
  });

  it('decodes with an encoding option', async () => {
    const result = await withOverlay<{ types: string[]; text: string }>(readStream(", { encoding: 'utf8' }"));

    expect(result.types).toEqual(['string']);
    expect(result.text).toBe(DATA_TEXT);
  });

  // The overlay reads options only from an object, but fs.createReadStream also takes the encoding as a string.
  it('decodes with an encoding string', async () => {
    const result = await withOverlay<{ types: string[] }>(readStream(", 'utf8'"));

    expect(result.types).toEqual(['string']);
  });
});

describe('installFsOverlay file descriptors', () => {
  it('reads through openSync, readSync and closeSync', async () => {
    const result = await withOverlay<unknown>(`
      const fd = fs.openSync(path.join(root, 'app/lib/data.txt'), 'r');
      const buffer = Buffer.alloc(4);
      const first = fs.readSync(fd, buffer, 0, 4, null);
      const firstText = buffer.toString('latin1');
      const second = fs.readSync(fd, buffer, 0, 4, null);
      const secondText = buffer.toString('latin1');
      const size = fs.fstatSync(fd).size;
      fs.closeSync(fd);
      return { first, firstText, second, secondText, size };
    `);

    const bytes = Buffer.from(DATA_TEXT);
    expect(result).toEqual({
      first: 4,
      firstText: bytes.subarray(0, 4).toString('latin1'),
      second: 4,
      secondText: bytes.subarray(4, 8).toString('latin1'),
      size: bytes.length,
    });
  });

  it('reads at a position without moving the file position', async () => {
    const result = await withOverlay<string[]>(`
      const fd = fs.openSync(path.join(root, 'app/lib/data.txt'));
      const buffer = Buffer.alloc(7);
      fs.readSync(fd, buffer, { position: 7 });
      const atPosition = buffer.toString('utf8');
      fs.readSync(fd, buffer, 0, 1, null);
      const next = buffer.subarray(0, 1).toString('utf8');
      fs.closeSync(fd);
      return [atPosition, next];
    `);

    expect(result).toEqual(['payload', 'h']);
  });

  it('returns 0 bytes at the end of the file', async () => {
    const result = await withOverlay<number>(`
      const fd = fs.openSync(path.join(root, 'app/lib/data.txt'), 'r');
      const read = fs.readSync(fd, Buffer.alloc(8), 0, 8, 1000);
      fs.closeSync(fd);
      return read;
    `);

    expect(result).toBe(0);
  });

  it('forgets a closed descriptor', async () => {
    const result = await withOverlay<string>(`
      const fd = fs.openSync(path.join(root, 'app/lib/data.txt'), 'r');
      fs.closeSync(fd);
      return errorCode(() => fs.readSync(fd, Buffer.alloc(1), 0, 1, null));
    `);

    expect(result).toBe('EBADF');
  });

  it('rejects opening for writing with EROFS', async () => {
    const result = await withOverlay<string[]>(`
      const file = path.join(root, 'app/lib/data.txt');
      return ['w', 'a', 'r+'].map((flags) => errorCode(() => fs.openSync(file, flags)));
    `);

    expect(result).toEqual(['EROFS', 'EROFS', 'EROFS']);
  });

  it('rejects opening a folder with EISDIR', async () => {
    const result = await withOverlay<string>(`return errorCode(() => fs.openSync(path.join(root, 'app/lib'), 'r'));`);

    expect(result).toBe('EISDIR');
  });
});

describe('installFsOverlay access', () => {
  it('allows reading and rejects W_OK with EROFS', async () => {
    const result = await withOverlay<string[]>(`
      const file = path.join(root, 'app/lib/data.txt');
      return [
        errorCode(() => fs.accessSync(file)),
        errorCode(() => fs.accessSync(file, fs.constants.R_OK)),
        errorCode(() => fs.accessSync(file, fs.constants.W_OK)),
        await fs.promises.access(file, fs.constants.W_OK).then(() => 'no error', (error) => error.code),
      ];
    `);

    expect(result).toEqual(['no error', 'no error', 'EROFS', 'EROFS']);
  });

  it('names the path and syscall in the EROFS error', async () => {
    const result = await withOverlay<Record<string, unknown>>(`
      try {
        fs.accessSync(path.join(root, 'app/lib/data.txt'), fs.constants.W_OK);
        return {};
      } catch (error) {
        return { code: error.code, errno: error.errno, syscall: error.syscall, path: error.path, message: error.message };
      }
    `);

    const file = path.join(root, 'app/lib/data.txt');
    expect(result).toEqual({ code: 'EROFS', errno: -30, syscall: 'access', path: file, message: `EROFS: read-only file system, access '${file}'` });
  });
});

describe('installFsOverlay writes', () => {
  it('rejects writeFileSync of a Buffer with EROFS', async () => {
    const result = await withOverlay<string>(`
      return errorCode(() => fs.writeFileSync(path.join(root, 'app/lib/data.txt'), Buffer.from('changed')));
    `);

    expect(result).toBe('EROFS');
  });

  // Node 20.20 writes utf8 strings through binding.writeFileUtf8, which skips fs.openSync, so the write reaches the extraction folder.
  it('rejects writeFileSync of a string with EROFS', async () => {
    await mkdir(path.join(root, 'app/bin'), { recursive: true });
    await writeFile(path.join(root, 'app/bin/tool'), TOOL_TEXT);

    const result = await withOverlay<string>(
      `return errorCode(() => fs.writeFileSync(path.join(root, 'app/bin/README.md'), 'changed'));`,
      { extracted: true },
    );

    expect(result).toBe('EROFS');
    expect(await readdir(path.join(root, 'app/bin'))).toEqual(['tool']);
  });
});

describe('installFsOverlay real file system', () => {
  it('reaches real files outside the root', async () => {
    const result = await withOverlay<unknown[]>(`
      const real = path.join(tempDir, 'real.txt');
      return [fs.readFileSync(real, 'utf8'), fs.statSync(real).size, fs.existsSync(real), fs.readdirSync(tempDir).includes('real.txt')];
    `);

    expect(result).toEqual(['real file outside the root', 26, true, true]);
  });

  it('reaches a sibling with the root prefix', async () => {
    await mkdir(`${root}-sibling`);
    await writeFile(path.join(`${root}-sibling`, 'file.txt'), 'sibling');

    const result = await withOverlay<string>(`return fs.readFileSync(root + '-sibling/file.txt', 'utf8');`);

    expect(result).toBe('sibling');
  });

  it('reads extracted files from disk', async () => {
    await mkdir(path.join(root, 'app/bin'), { recursive: true });
    await writeFile(path.join(root, 'app/bin/tool'), 'extracted copy on disk');

    const result = await withOverlay<string[]>(
      `return [fs.readFileSync(path.join(root, 'app/bin/tool'), 'utf8'), fs.readFileSync(path.join(root, 'app/bin/README.md'), 'utf8')];`,
      { extracted: true },
    );

    expect(result).toEqual(['extracted copy on disk', 'packaged readme']);
  });

  it('serves extract files after failed extraction', async () => {
    const result = await withOverlay<string>(`return fs.readFileSync(path.join(root, 'app/bin/tool'), 'utf8');`);

    expect(result).toBe(TOOL_TEXT);
  });

  it('reports the payload path from realpathSync', async () => {
    const result = await withOverlay<string[]>(`
      const file = path.join(root, 'app/lib/data.txt');
      return [fs.realpathSync(file), fs.realpathSync.native(file), await fs.promises.realpath(file)];
    `);

    const file = path.join(root, 'app/lib/data.txt');
    expect(result).toEqual([file, file, file]);
  });
});
