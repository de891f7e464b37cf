import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../src/errors.js';
import { allTargets, executableName, findTarget, hostTargetId } from '../../src/targets.js';

const TARGETS_DIR = fileURLToPath(new URL('../../targets/', import.meta.url));
const TARGET_FILES = readdirSync(TARGETS_DIR).filter((name) => name.endsWith('.json')).sort();
const ALL_IDS = ['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-arm64-musl', 'linux-x64', 'linux-x64-musl', 'win-arm64', 'win-x64'];

/** The binary format, executable suffix and signing step that each OS needs. */
const OS_RULES = {
  linux: { format: 'elf', executableSuffix: '', sign: 'none' },
  darwin: { format: 'macho', executableSuffix: '', sign: 'macho-adhoc' },
  win32: { format: 'pe', executableSuffix: '.exe', sign: 'pe-unsign' },
} as const;

describe('targets folder', () => {
  it('contains one file per supported target', () => {
    expect(TARGET_FILES.map((name) => name.replace(/\.json$/, '')).sort()).toEqual(ALL_IDS);
  });

  it.each(TARGET_FILES)('%s has the required fields', (fileName) => {
    const target = JSON.parse(readFileSync(path.join(TARGETS_DIR, fileName), 'utf8')) as Record<string, unknown>;

    expect(target.id).toBe(fileName.replace(/\.json$/, ''));
    expect(['linux', 'darwin', 'win32']).toContain(target.os);
    expect(['x64', 'arm64']).toContain(target.arch);
    expect(target).toMatchObject(OS_RULES[target.os as keyof typeof OS_RULES]);
    expect(target.id).toBe(`${target.os === 'win32' ? 'win' : target.os}-${target.arch}${target.libc === 'musl' ? '-musl' : ''}`);
    expect(target.archives).toBeInstanceOf(Array);
    expect((target.archives as unknown[]).length).toBeGreaterThan(0);
    for (const archive of target.archives as unknown[]) expect(['tar.gz', 'tar.xz', 'zip']).toContain(archive);
    // npm has no musl Node packages, so musl targets name none.
    if (target.libc === 'musl') expect(target.base).toBeUndefined();
    else expect(target.base).toEqual({ package: expect.stringMatching(/^node-/), binaryPath: target.os === 'win32' ? 'bin/node.exe' : 'bin/node' });
    expect(target.strip).toEqual({ tool: expect.stringMatching(/^(llvm-strip|none)$/), args: expect.any(Array), why: expect.stringMatching(/\w/) });
    if (target.libc !== undefined) expect(['glibc', 'musl']).toContain(target.libc);
    if (target.emulators !== undefined) expect((target.emulators as unknown[]).every((name) => typeof name === 'string')).toBe(true);
  });
});

describe('allTargets', () => {
  it('returns every target sorted by id', () => {
    expect(allTargets().map((target) => target.id)).toEqual(ALL_IDS);
  });
});

describe('findTarget', () => {
  it('returns the target with that id', () => {
    const target = findTarget('linux-arm64');

    expect(target.os).toBe('linux');
    expect(target.arch).toBe('arm64');
    expect(target.format).toBe('elf');
  });

  it('rejects an unknown id and lists the known ones', () => {
    let error: unknown;
    try {
      findTarget('linux-riscv64');
    } catch (thrown) {
      error = thrown;
    }

    expect(error).toBeInstanceOf(DuoSeaError);
    expect(error).toMatchObject({
      code: 'E_UNKNOWN_TARGET',
      stage: 'options',
      input: 'linux-riscv64',
      expected: ALL_IDS.join(', '),
      message: 'Unknown target "linux-riscv64".',
      hint: `Use one of: ${ALL_IDS.join(', ')}.`,
    });
  });
});

describe('hostTargetId', () => {
  it('maps linux x64 to linux-x64', () => {
    expect(hostTargetId('linux', 'x64')).toBe('linux-x64');
  });

  it('maps win32 arm64 to win-arm64', () => {
    expect(hostTargetId('win32', 'arm64')).toBe('win-arm64');
  });

  it('maps darwin arm64 to darwin-arm64', () => {
    expect(hostTargetId('darwin', 'arm64')).toBe('darwin-arm64');
  });

  it('returns undefined for a host with no target', () => {
    expect(hostTargetId('freebsd', 'x64')).toBeUndefined();
    expect(hostTargetId('linux', 'ia32')).toBeUndefined();
  });
});

describe('executableName', () => {
  it('adds the target id', () => {
    expect(executableName('srt', findTarget('linux-x64'))).toBe('srt-linux-x64');
    expect(executableName('srt', findTarget('darwin-arm64'))).toBe('srt-darwin-arm64');
  });

  it('adds .exe on windows', () => {
    expect(executableName('srt', findTarget('win-x64'))).toBe('srt-win-x64.exe');
  });
});
