import { describe, expect, it } from 'vitest';
import { archiveTypesFor, checkArchiveTypes } from '../../src/build-target.js';
import { DuoSeaError } from '../../src/errors.js';
import { findTarget } from '../../src/targets.js';

describe('archiveTypesFor', () => {
  it('keeps the requested types a target offers', () => {
    expect(archiveTypesFor(findTarget('linux-x64'), ['tar.gz', 'zip'])).toEqual(['tar.gz']);
  });

  it('returns every offered type by default', () => {
    expect(archiveTypesFor(findTarget('linux-x64'), undefined)).toEqual(findTarget('linux-x64').archives);
  });
});

describe('checkArchiveTypes', () => {
  it('rejects a target offering none', () => {
    let error: unknown;
    try {
      checkArchiveTypes([findTarget('linux-x64'), findTarget('win-x64')], ['tar.gz']);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(DuoSeaError);
    expect((error as DuoSeaError).code).toBe('E_INVALID_OPTION');
    expect((error as DuoSeaError).message).toContain('win-x64 offers only zip');
    expect((error as DuoSeaError).hint).toContain('--archive zip');
  });

  it('accepts types each target offers one of', () => {
    expect(() => checkArchiveTypes([findTarget('linux-x64'), findTarget('win-x64')], ['tar.gz', 'zip'])).not.toThrow();
  });
});
