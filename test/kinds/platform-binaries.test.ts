import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { ESBUILD_FOUR_TARGETS } from './support/shared-builds.js';
import { ELF_AARCH64, ELF_X86_64, MACHO_ARM64, PE_AMD64, nativeKind, readPayload, type NativeKind } from './support/sea-payload.js';

afterAll(removeTempDirs);

interface TargetCase {
  target: string;
  kind: NativeKind;
  /** The platform package's program, which the payload must contain. */
  program: string;
}

const CASES: TargetCase[] = [
  { target: 'linux-x64', kind: { format: 'elf', machine: ELF_X86_64 }, program: 'node_modules/@esbuild/linux-x64/bin/esbuild' },
  { target: 'linux-arm64', kind: { format: 'elf', machine: ELF_AARCH64 }, program: 'node_modules/@esbuild/linux-arm64/bin/esbuild' },
  { target: 'darwin-arm64', kind: { format: 'macho', machine: MACHO_ARM64 }, program: 'node_modules/@esbuild/darwin-arm64/bin/esbuild' },
  { target: 'win-x64', kind: { format: 'pe', machine: PE_AMD64 }, program: 'node_modules/@esbuild/win32-x64/esbuild.exe' },
];

describe('platform packages in a cross build', () => {
  let program: BuiltProgram;

  beforeAll(async () => {
    program = await buildProgram(ESBUILD_FOUR_TARGETS);
  }, BUILD_TIMEOUT_MS);

  describe.each(CASES)('$target', ({ target, kind, program: platformProgram }) => {
    it('is an executable of the target', () => {
      expect(nativeKind(readFileSync(program.executable(target)))).toEqual(kind);
    });

    it('packages the platform program of the target', () => {
      const files = readPayload(program.executable(target)).files;
      const found = files.find((file) => file.path === platformProgram);

      expect(found).toBeDefined();
      expect(nativeKind(found!.content)).toEqual(kind);
    });

    it('packages no binary of another platform', () => {
      const foreign = readPayload(program.executable(target))
        .files.filter((file) => {
          const fileKind = nativeKind(file.content);
          return fileKind !== undefined && (fileKind.format !== kind.format || fileKind.machine !== kind.machine);
        })
        .map((file) => file.path);

      expect(foreign).toEqual([]);
    });

    it('packages no platform package of another target', () => {
      const platformPackages = new Set(
        readPayload(program.executable(target))
          .files.map((file) => /^node_modules\/@esbuild\/([^/]+)\//.exec(file.path)?.[1])
          .filter((name) => name !== undefined),
      );

      expect([...platformPackages]).toEqual([platformProgram.split('/')[2]]);
    });
  });
});
