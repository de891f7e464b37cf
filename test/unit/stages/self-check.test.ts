import { describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import { checkNodeOptions, findLauncher } from '../../../src/stages/self-check.js';
import { findTarget } from '../../../src/targets.js';

const LINUX_X64_HOST = { platform: 'linux', arch: 'x64' };

/** Returns a stand-in for the PATH lookup in which only `available` exists, and the list of commands it was queried for. */
function fakeExists(available: string[]): { exists: (command: string) => Promise<boolean>; queried: string[] } {
  const queried: string[] = [];
  const exists = async (command: string): Promise<boolean> => {
    queried.push(command);
    return available.includes(command);
  };
  return { exists, queried };
}

describe('findLauncher', () => {
  it('runs a target of the host platform and arch directly', async () => {
    const { exists, queried } = fakeExists([]);

    expect(await findLauncher(findTarget('linux-x64'), LINUX_X64_HOST, exists)).toEqual({ command: '', prefix: [] });
    expect(queried).toEqual([]);
  });

  it('uses the first emulator that exists', async () => {
    const { exists, queried } = fakeExists(['qemu-aarch64-static', 'qemu-aarch64']);

    expect(await findLauncher(findTarget('linux-arm64'), LINUX_X64_HOST, exists)).toEqual({ command: 'qemu-aarch64-static', prefix: [] });
    expect(queried).toEqual(['qemu-aarch64-static']);
  });

  it('tries the next emulator when the first is missing', async () => {
    const { exists, queried } = fakeExists(['qemu-aarch64']);

    expect(await findLauncher(findTarget('linux-arm64'), LINUX_X64_HOST, exists)).toEqual({ command: 'qemu-aarch64', prefix: [] });
    expect(queried).toEqual(['qemu-aarch64-static', 'qemu-aarch64']);
  });

  it('names qemu-user-static without an emulator', async () => {
    const { exists } = fakeExists([]);

    const launcher = await findLauncher(findTarget('linux-arm64'), LINUX_X64_HOST, exists);

    expect(launcher).toEqual({
      skipReason: 'no emulator for arm64 was found (qemu-aarch64-static or qemu-aarch64; Debian: apt-get install qemu-user-static)',
    });
  });

  it('skips a target arch that has no emulator listed', async () => {
    const { exists } = fakeExists([]);

    expect(await findLauncher(findTarget('linux-x64'), { platform: 'linux', arch: 'arm64' }, exists)).toEqual({
      skipReason: 'no emulator for x64 is known',
    });
  });

  it('skips a darwin target on a linux host', async () => {
    const { exists, queried } = fakeExists(['qemu-aarch64-static']);

    const launcher = await findLauncher(findTarget('darwin-arm64'), LINUX_X64_HOST, exists);

    expect(launcher).toEqual({ skipReason: 'a darwin executable cannot run on this linux host' });
    expect(queried).toEqual([]);
  });

  it('skips a windows target on a linux host', async () => {
    const { exists } = fakeExists([]);

    expect(await findLauncher(findTarget('win-x64'), LINUX_X64_HOST, exists)).toEqual({ skipReason: 'a win32 executable cannot run on this linux host' });
  });
});

describe('checkNodeOptions', () => {
  const check = (nodeOptions: string[]): Promise<unknown> =>
    checkNodeOptions({ nodePath: process.execPath, nodeVersion: process.versions.node, nodeOptions }).then(
      () => undefined,
      (error: unknown) => error,
    );

  it('accepts valid options', async () => {
    expect(await check(['--max-old-space-size=128', '--no-warnings'])).toBeUndefined();
  });

  it('names an option Node rejects', async () => {
    const error = (await check(['--no-warnings', '--no-such-flag'])) as DuoSeaError;
    expect(error).toBeInstanceOf(DuoSeaError);
    expect(error.code).toBe('E_INVALID_OPTION');
    expect(error.input).toBe('--node-option --no-such-flag');
    expect(error.message).toContain('bad option: --no-such-flag');
  });

  it('rejects an option that exits early', async () => {
    const error = (await check(['--version'])) as DuoSeaError;
    expect(error).toBeInstanceOf(DuoSeaError);
    expect(error.input).toBe('--node-option --version');
  });
});
