import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import { installForTarget } from '../../../src/stages/install.js';
import { findTarget } from '../../../src/targets.js';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-install-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('installForTarget', () => {
  it('names --with specs in a failure', async () => {
    const missingWith = `file:${path.join(workDir, 'no-such-plugin')}`;
    const pkg = { name: 'tool', version: '1.0.0', integrity: 'sha512-AA==', tarballPath: path.join(workDir, 'tool-1.0.0.tgz'), manifest: { name: 'tool', version: '1.0.0' } };

    const error = await installForTarget({ pkg, extraSpecs: [missingWith], target: findTarget('linux-x64'), workDir, cwd: workDir, offline: true }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(DuoSeaError);
    expect((error as DuoSeaError).code).toBe('E_INSTALL_FAILED');
    expect((error as DuoSeaError).input).toBe(`tool@1.0.0 --with ${missingWith}`);
    expect((error as DuoSeaError).hint?.endsWith(` tool@1.0.0 ${missingWith}`)).toBe(true);
  });
});
