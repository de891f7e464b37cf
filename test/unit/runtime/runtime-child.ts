import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Runtime code that patches process-wide state (the `fs` module, the
 * environment) runs in a child Node process, so the test runner's own `fs`
 * stays untouched. The child imports the current TypeScript sources, bundled
 * by esbuild the way the build bundles the runtime, so the tests never run a
 * stale `lib/`.
 */
export class RuntimeChild {
  private constructor(
    private readonly tempDir: string,
    private readonly harnessUrl: string,
  ) {}

  static async create(): Promise<RuntimeChild> {
    const tempDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-runtime-child-'));
    const outfile = path.join(tempDir, 'harness.mjs');
    const source = (relativePath: string): string => JSON.stringify(path.join(repoRoot, relativePath));
    await esbuild.build({
      stdin: {
        contents: [
          `export { Vfs } from ${source('src/runtime/vfs.ts')};`,
          `export { installFsOverlay } from ${source('src/runtime/fs-overlay.ts')};`,
          `export { preparePayloadRoot } from ${source('src/runtime/extract.ts')};`,
          `export { makePayload } from ${source('test/unit/runtime/payload-fixture.ts')};`,
        ].join('\n'),
        resolveDir: repoRoot,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      logLevel: 'silent',
    });
    return new RuntimeChild(tempDir, pathToFileURL(outfile).href);
  }

  /**
   * Runs `body`, the inside of an async function, in a new Node process. The
   * body can use `fs`, `path`, `url`, `argv` and every export of the
   * harness, and returns a JSON value, which this method returns parsed.
   */
  async evaluate<T>(body: string, options: { env?: Record<string, string>; args?: string[] } = {}): Promise<T> {
    const script = [
      `import fs from 'node:fs';`,
      `import path from 'node:path';`,
      `import url from 'node:url';`,
      `import * as harness from ${JSON.stringify(this.harnessUrl)};`,
      `const { Vfs, installFsOverlay, preparePayloadRoot, makePayload } = harness;`,
      `const argv = process.argv.slice(1);`,
      `const errorCode = (call) => { try { call(); return 'no error'; } catch (error) { return error.code ?? error.message; } };`,
      `const result = await (async () => {\n${body}\n})();`,
      `process.stdout.write(JSON.stringify(result === undefined ? null : result));`,
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, ...(options.args ?? [])], {
      env: { PATH: process.env.PATH ?? '', ...options.env },
      timeout: 20_000,
    });
    return JSON.parse(stdout) as T;
  }

  async dispose(): Promise<void> {
    await rm(this.tempDir, { recursive: true, force: true });
  }
}
