import { describe, expect, it } from 'vitest';
import { noSpaceError } from '../../src/errors.js';

function systemError(code: string, fields: Record<string, string> = {}): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed`), { code, ...fields });
}

describe('noSpaceError', () => {
  it('names the file that a full device stopped', () => {
    const error = noSpaceError(systemError('ENOSPC', { path: '/cache/a', dest: '/out/b' }));

    expect(error?.code).toBe('E_NO_SPACE');
    expect(error?.message).toBe('No space left on the device while writing /out/b.');
    expect(error?.input).toBe('/out/b');
    expect(error?.hint).toContain('Free space there');
  });

  it('says where to look when the error names no file', () => {
    const error = noSpaceError(systemError('EDQUOT'));

    expect(error?.message).toBe('The disk quota is used up.');
    expect(error?.hint).toContain('where --out and the cache are');
  });

  it('leaves other errors alone', () => {
    expect(noSpaceError(systemError('EACCES', { path: '/x' }))).toBeUndefined();
    expect(noSpaceError(new Error('plain'))).toBeUndefined();
    expect(noSpaceError(undefined)).toBeUndefined();
  });
});
