import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../e2e/helpers.js';
import { BUILD_TIMEOUT_MS, buildProgram, type BuiltProgram } from './support/build-cache.js';
import { referenceScript, runBoth, runExecutable, withTokens } from './support/run.js';
import { SWC_WITH_CORE } from './support/shared-builds.js';
import { ELF_X86_64, nativeKind, readPayload, type PayloadEntry } from './support/sea-payload.js';

afterAll(removeTempDirs);

const sha256 = (content: Buffer): string => createHash('sha256').update(content).digest('hex');

/** Returns the path where a run with this HOME finds an extracted payload file. */
function extractedPath(home: string, payloadId: string, file: PayloadEntry): string {
  return path.join(home, '.cache', 'duo-sea', 'run', payloadId, ...file.path.split('/'));
}

describe('native addons', () => {
  // @swc/core loads its N-API addon from the platform package @swc/core-linux-x64-gnu, which npm picks for the target.
  describe('@swc/cli with @swc/core', () => {
    const FILES = {
      '.swcrc': '{ "jsc": { "parser": { "syntax": "typescript" }, "target": "es2015" }, "module": { "type": "commonjs" } }\n',
      'in.ts': 'export const add = (a: number, b: number): number => a + b;\nconsole.log(add(1, 2));\n',
    };
    const ADDON = 'node_modules/@swc/core-linux-x64-gnu/swc.linux-x64-gnu.node';
    let program: BuiltProgram;
    let script: string;

    beforeAll(async () => {
      program = await buildProgram(SWC_WITH_CORE);
      script = await referenceScript(program.referenceDir, '@swc/cli', 'swc');
    }, BUILD_TIMEOUT_MS);

    it('compiles through the addon as node does', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['in.ts'], { files: FILES });

      expect(run.stdout).toBe(reference.stdout);
      expect(run.stdout).toContain('exports, "add"');
      expect(run.stderr).toBe(reference.stderr);
      expect(run.status).toBe(0);
    });

    it('packages the addon of the target libc only', () => {
      const files = readPayload(program.executable()).files.map((file) => file.path);

      expect(files).toContain(ADDON);
      expect(files.filter((file) => file.includes('-musl'))).toEqual([]);
    });

    it('writes the addon out with its packaged content', () => {
      const run = runExecutable(program.executable(), ['in.ts'], { files: FILES });
      const payload = readPayload(program.executable());
      const addon = payload.files.find((file) => file.path === ADDON);

      expect(addon?.extract).toBe(true);
      expect(nativeKind(addon!.content)).toEqual({ format: 'elf', machine: ELF_X86_64 });
      expect(sha256(readFileSync(extractedPath(run.home, payload.payloadId, addon!)))).toBe(sha256(addon!.content));
    });
  });

  // sharp's addon links libvips-cpp.so from the package @img/sharp-libvips-linux-x64 through its RPATH
  // ($ORIGIN/../../sharp-libvips-linux-x64/lib), so both must be real files in the same tree.
  describe('sharp-cli, whose addon loads a second shared library', () => {
    const FILES = { 'in.svg': '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="6"><rect width="8" height="6" fill="#c33"/></svg>\n' };
    let program: BuiltProgram;
    let script: string;

    beforeAll(async () => {
      program = await buildProgram({ spec: 'sharp-cli@6.1.0' });
      script = await referenceScript(program.referenceDir, 'sharp-cli', 'sharp');
    }, BUILD_TIMEOUT_MS);

    it('converts an image as node does', async () => {
      const { run, reference } = await runBoth(program.executable(), script, ['-i', 'in.svg', '-o', 'out.png'], { files: FILES });
      const output = readFileSync(path.join(run.cwd, 'out.png'));

      expect(withTokens(run.stdout, run)).toBe(withTokens(reference.stdout, reference));
      expect(run.stderr).toBe(reference.stderr);
      expect(run.status).toBe(0);
      expect(output.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(sha256(output)).toBe(sha256(readFileSync(path.join(reference.cwd, 'out.png'))));
    });

    it('writes the addon and its library into one tree', () => {
      const run = runExecutable(program.executable(), ['-i', 'in.svg', '-o', 'out.png'], { files: FILES });
      const payload = readPayload(program.executable());
      const natives = payload.files.filter((file) => nativeKind(file.content) !== undefined);

      expect(natives.map((file) => path.posix.basename(file.path)).sort()).toEqual([expect.stringMatching(/^libvips-cpp\.so\./), expect.stringMatching(/^sharp-linux-x64-.*\.node$/)]);
      for (const file of natives) expect(existsSync(extractedPath(run.home, payload.payloadId, file)), file.path).toBe(true);
    });
  });
});
