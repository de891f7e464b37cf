import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCorpusIssues, parseCorpus, readCorpus, selectEntries, type CorpusIssue } from '../../src/conformance/corpus.js';
import { ConformanceError } from '../../src/conformance/errors.js';

function validEntry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'figlet',
    spec: 'figlet@1.12.0',
    bin: 'figlet',
    traits: ['esm', 'reads-own-files'],
    files: { 'dir/input.txt': 'x\n' },
    commands: [{ args: ['-f', 'Standard', 'hi'], note: 'reads a font' }],
    ...overrides,
  };
}

function issuesOf(data: unknown): CorpusIssue[] {
  return findCorpusIssues(data).issues;
}

/** Returns the ConformanceError that `call` throws, failing the test when it throws nothing or something else. */
function thrownBy(call: () => unknown): ConformanceError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(ConformanceError);
    return error as ConformanceError;
  }
  throw new Error('expected a ConformanceError, but nothing was thrown');
}

describe('parseCorpus', () => {
  it('converts a valid entry', () => {
    const [entry] = parseCorpus([validEntry({ extra_specs: ['@swc/core@1.16.22'], commands: [{ args: ['run'], stdin: 'in', spawns_node: true }] })], 'corpus.json');
    expect(entry).toEqual({
      name: 'figlet',
      spec: 'figlet@1.12.0',
      packageName: 'figlet',
      bin: 'figlet',
      extraSpecs: ['@swc/core@1.16.22'],
      traits: ['esm', 'reads-own-files'],
      files: { 'dir/input.txt': 'x\n' },
      commands: [{ args: ['run'], stdin: 'in', spawnsNode: true, note: undefined }],
    });
  });

  it('takes the package name from a scoped spec', () => {
    const [entry] = parseCorpus([validEntry({ spec: '@biomejs/biome@2.6.9' })], 'corpus.json');
    expect(entry.packageName).toBe('@biomejs/biome');
  });

  it('defaults stdin, spawns_node, files and extra_specs', () => {
    const [entry] = parseCorpus([validEntry({ files: undefined, commands: [{ args: [] }] })], 'corpus.json');
    expect(entry.files).toEqual({});
    expect(entry.extraSpecs).toEqual([]);
    expect(entry.commands[0]).toMatchObject({ stdin: '', spawnsNode: false });
  });

  it('lists every invalid field in one error', () => {
    const error = thrownBy(() => parseCorpus([validEntry({ bin: 3, traits: ['fast'] }), validEntry({ name: 'other', commands: [] })], 'corpus.json'));
    expect(error.code).toBe('E_CORPUS_INVALID');
    expect(error.message).toContain('3 invalid fields');
    expect(error.message).toContain('"figlet" (entry 0): bin must be a non-empty string, found number 3');
    expect(error.message).toContain('"figlet" (entry 0): traits[0] is the unknown trait "fast"');
    expect(error.message).toContain('"other" (entry 1): commands must be a non-empty array, found an array');
    expect(error.hint).toBe('Fix these fields in the corpus file and run again.');
  });
});

describe('findCorpusIssues', () => {
  it('rejects a top level that is not an array', () => {
    expect(issuesOf({ entries: [] })).toEqual([{ entry: 'corpus', field: '(top level)', message: 'must be an array of entries, found an object' }]);
  });

  it('names an entry without a name by its index', () => {
    expect(issuesOf([validEntry({ name: undefined })])).toEqual([{ entry: 'entry 0', field: 'name', message: 'must be a non-empty string, found nothing' }]);
  });

  it('rejects a spec without an exact version', () => {
    expect(issuesOf([validEntry({ spec: 'figlet' })])).toEqual([
      { entry: '"figlet" (entry 0)', field: 'spec', message: 'must be an exact name@version, found "figlet"' },
    ]);
  });

  it('rejects an invalid extra spec by index', () => {
    const issues = issuesOf([validEntry({ extra_specs: ['@swc/core@1.16.22', '@swc/core'] })]);
    expect(issues).toEqual([{ entry: '"figlet" (entry 0)', field: 'extra_specs[1]', message: 'must be an exact name@version, found "@swc/core"' }]);
  });

  it('rejects unknown fields of entries and commands', () => {
    const issues = issuesOf([validEntry({ spawnsNode: true, commands: [{ args: [], spawnsNode: true }] })]);
    expect(issues.map((issue) => issue.field)).toEqual(['spawnsNode', 'commands[0].spawnsNode']);
    expect(issues[0].message).toMatch(/^is not a known field \(known: name, spec, bin/);
  });

  it('rejects file paths that leave the scratch folder', () => {
    const issues = issuesOf([validEntry({ files: { '../escape': 'x', '/etc/passwd': 'x', 'a//b': 'x', 'ok.txt': 'x' } })]);
    expect(issues).toEqual([
      { entry: '"figlet" (entry 0)', field: 'files["../escape"]', message: 'must not contain empty, "." or ".." parts' },
      { entry: '"figlet" (entry 0)', field: 'files["/etc/passwd"]', message: 'must be a relative path with forward slashes' },
      { entry: '"figlet" (entry 0)', field: 'files["a//b"]', message: 'must not contain empty, "." or ".." parts' },
    ]);
  });

  it('rejects file content that is not a string', () => {
    const issues = issuesOf([validEntry({ files: { 'a.json': { x: 1 } } })]);
    expect(issues).toEqual([{ entry: '"figlet" (entry 0)', field: 'files["a.json"]', message: 'content must be a string, found an object' }]);
  });

  it('rejects wrong command field types', () => {
    const issues = issuesOf([validEntry({ commands: [{ args: ['ok', 1], stdin: 5, spawns_node: 'yes', note: [] }, 'run'] })]);
    expect(issues).toEqual([
      { entry: '"figlet" (entry 0)', field: 'commands[0].args', message: 'must be an array of strings, found an array' },
      { entry: '"figlet" (entry 0)', field: 'commands[0].stdin', message: 'must be a string, found number 5' },
      { entry: '"figlet" (entry 0)', field: 'commands[0].spawns_node', message: 'must be true or false, found the string "yes"' },
      { entry: '"figlet" (entry 0)', field: 'commands[0].note', message: 'must be a string, found an array' },
      { entry: '"figlet" (entry 0)', field: 'commands[1]', message: 'must be an object, found the string "run"' },
    ]);
  });

  it('rejects a repeated name', () => {
    const issues = issuesOf([validEntry(), validEntry()]);
    expect(issues).toEqual([{ entry: '"figlet" (entry 1)', field: 'name', message: 'repeats the name of entry 0' }]);
  });

  it('rejects an entry that is not an object', () => {
    expect(issuesOf([validEntry(), 'figlet'])).toEqual([{ entry: 'entry 1', field: '(entry)', message: 'must be an object, found the string "figlet"' }]);
  });
});

describe('readCorpus', () => {
  it('reports a missing file with its path', async () => {
    const missing = path.join(os.tmpdir(), 'duo-sea-no-such-corpus.json');
    const error = await readCorpus(missing).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConformanceError);
    expect((error as ConformanceError).code).toBe('E_CORPUS_NOT_FOUND');
    expect((error as ConformanceError).message).toContain(missing);
    expect((error as ConformanceError).hint).toBe('Pass the path of a corpus JSON file as the first argument.');
  });

  it('reports invalid JSON with its path', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'duo-sea-corpus-')), 'corpus.json');
    await writeFile(file, '[{"name": ');
    const error = await readCorpus(file).catch((caught: unknown) => caught);
    expect((error as ConformanceError).code).toBe('E_CORPUS_INVALID');
    expect((error as ConformanceError).message).toContain(`The corpus ${file} is not valid JSON`);
  });
});

describe('selectEntries', () => {
  const entries = parseCorpus([validEntry(), validEntry({ name: 'sass', spec: 'sass@1.108.2', bin: 'sass' })], 'corpus.json');

  it('returns every entry without names', () => {
    expect(selectEntries(entries, []).map((entry) => entry.name)).toEqual(['figlet', 'sass']);
  });

  it('keeps corpus order', () => {
    expect(selectEntries(entries, ['sass', 'figlet']).map((entry) => entry.name)).toEqual(['figlet', 'sass']);
  });

  it('rejects an unknown name and lists the known ones', () => {
    const error = thrownBy(() => selectEntries(entries, ['sass', 'figlett']));
    expect(error.code).toBe('E_UNKNOWN_ENTRY');
    expect(error.message).toBe('The corpus has no entry named "figlett".');
    expect(error.hint).toBe('Use names from the corpus: figlet, sass.');
  });
});
