import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RELEASE_SCRIPTS_DIR, installScriptsFor, writeInstallScripts } from '../../../src/stages/install-scripts.js';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

describe('installScriptsFor', () => {
  it('chooses install.sh for Linux and macOS', () => {
    expect(installScriptsFor([{ os: 'linux' }, { os: 'darwin' }])).toEqual(['install.sh']);
  });

  it('chooses install.ps1 for Windows', () => {
    expect(installScriptsFor([{ os: 'win32' }])).toEqual(['install.ps1']);
  });

  it('chooses both for a mixed build', () => {
    expect(installScriptsFor([{ os: 'win32' }, { os: 'linux' }])).toEqual(['install.sh', 'install.ps1']);
  });
});

describe('writeInstallScripts', () => {
  it('copies the scripts executable with their SHA-256', async () => {
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-scripts-'));
    folders.push(outDir);

    const written = await writeInstallScripts(outDir, [{ os: 'linux' }, { os: 'win32' }]);

    for (const { file, sha256 } of written) {
      const copied = readFileSync(path.join(outDir, file));
      expect(copied.equals(readFileSync(path.join(RELEASE_SCRIPTS_DIR, file))), file).toBe(true);
      expect(sha256).toBe(createHash('sha256').update(copied).digest('hex'));
      expect(statSync(path.join(outDir, file)).mode & 0o777).toBe(0o755);
    }
    expect(written.map((entry) => entry.file)).toEqual(['install.sh', 'install.ps1']);
  });

  it('names the folder it cannot write', async () => {
    const missing = path.join(os.tmpdir(), 'duo-sea-no-such-folder', 'out');

    await expect(writeInstallScripts(missing, [{ os: 'linux' }])).rejects.toMatchObject({ code: 'E_OUTPUT_FAILED', input: path.join(missing, 'install.sh') });
  });
});

describe('install.sh', () => {
  it('parses under dash', () => {
    const result = spawnSync('dash', ['-n', path.join(RELEASE_SCRIPTS_DIR, 'install.sh')], { encoding: 'utf8' });

    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
