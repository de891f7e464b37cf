import { describe, expect, it } from 'vitest';
import { muslSelfCheckSkipReason } from '../../../src/host-libc.js';
import { findTarget } from '../../../src/targets.js';

describe('muslSelfCheckSkipReason', () => {
  it('skips a musl target on a glibc host', () => {
    expect(muslSelfCheckSkipReason(findTarget('linux-x64-musl'), 'glibc')).toBe("a musl executable needs musl's loader, libstdc++ and libgcc, and this host runs glibc");
  });

  it('runs a musl target on a musl host', () => {
    expect(muslSelfCheckSkipReason(findTarget('linux-x64-musl'), 'musl')).toBeUndefined();
  });

  it('leaves glibc targets to the launcher', () => {
    expect(muslSelfCheckSkipReason(findTarget('linux-x64'), 'glibc')).toBeUndefined();
  });
});
