import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendNoteSegment, ElfFormatError, encodeNote, findNote, readElfLayout } from '../../../src/formats/elf.js';

// /bin/echo is a real position-independent executable on every Debian machine, so the test can run the result.
const ECHO = '/bin/echo';
const workDir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-elf-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function writeExecutable(name: string, image: Buffer): string {
  const file = path.join(workDir, name);
  writeFileSync(file, image);
  chmodSync(file, 0o755);
  return file;
}

describe('appendNoteSegment', () => {
  const base = readFileSync(ECHO);
  const description = Buffer.from('payload bytes that Node would read');
  const injected = appendNoteSegment(base, 'NODE_SEA_BLOB', description);

  it('keeps the executable runnable', () => {
    const run = spawnSync(writeExecutable('echo-with-note', injected), ['still', 'runs'], { encoding: 'utf8' });

    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('still runs\n');
    expect(run.status).toBe(0);
  });

  it('makes the note findable', () => {
    expect(findNote(injected, 'NODE_SEA_BLOB')?.toString()).toBe(description.toString());
  });

  it('leaves every byte outside the header unchanged', () => {
    const changed: number[] = [];
    for (let offset = 0; offset < base.length; offset++) if (base[offset] !== injected[offset]) changed.push(offset);

    // Only e_phoff (bytes 32-39) and e_phnum (bytes 56-57) may change.
    expect(changed.every((offset) => (offset >= 32 && offset < 40) || offset === 56 || offset === 57)).toBe(true);
  });

  it('maps the new table at its file offset plus the first segment delta', () => {
    const layout = readElfLayout(injected);
    const phdr = layout.programHeaders.find((header) => header.type === 6);
    const loads = layout.programHeaders.filter((header) => header.type === 1);
    const first = loads[0];
    const added = loads[loads.length - 1];

    expect(layout.programHeaders).toHaveLength(readElfLayout(base).programHeaders.length + 2);
    expect(phdr?.offset).toBe(layout.programHeaderOffset);
    expect(phdr?.vaddr).toBe(layout.programHeaderOffset + first.vaddr - first.offset);
    expect(added.offset).toBe(layout.programHeaderOffset);
    expect(loads.map((header) => header.vaddr)).toEqual([...loads.map((header) => header.vaddr)].sort((a, b) => a - b));
  });

  it('places the new segment above every other', () => {
    const layout = readElfLayout(base);
    const memoryEnd = Math.max(...layout.programHeaders.filter((header) => header.type === 1).map((header) => header.vaddr + header.memsz));
    const added = readElfLayout(injected).programHeaders.filter((header) => header.type === 1).at(-1);

    expect(added?.vaddr).toBeGreaterThanOrEqual(memoryEnd);
  });
});

describe('readElfLayout', () => {
  it('rejects a file that is not ELF', () => {
    expect(() => readElfLayout(Buffer.from('MZ not an ELF file at all, just text padded out to the header size.'))).toThrow(ElfFormatError);
  });

  it('rejects a 32-bit ELF file', () => {
    const image = Buffer.from(readFileSync(ECHO));
    image[4] = 1;

    expect(() => readElfLayout(image)).toThrow(/32-bit/);
  });

  it('rejects a relocatable object', () => {
    const image = Buffer.from(readFileSync(ECHO));
    image.writeUInt16LE(1, 16);

    expect(() => readElfLayout(image)).toThrow(/not an executable/);
  });
});

describe('encodeNote', () => {
  it('pads name and description to 4 bytes', () => {
    const note = encodeNote('ABC', 7, Buffer.from([1, 2, 3, 4, 5]));

    expect(note.readUInt32LE(0)).toBe(4);
    expect(note.readUInt32LE(4)).toBe(5);
    expect(note.readUInt32LE(8)).toBe(7);
    expect(note.length).toBe(12 + 4 + 8);
  });
});
