import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_NODE_VERSION } from '../../../src/defaults.js';
import { normalizeOptions } from '../../../src/options.js';

const folders: string[] = [];

afterAll(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function kitWithNode(version: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-kit-options-'));
  folders.push(dir);
  writeFileSync(path.join(dir, 'kit.json'), JSON.stringify({ kitVersion: 1, node: { version } }));
  return dir;
}

describe('normalizeOptions with a kit', () => {
  it('takes the Node version from kit.json', () => {
    expect(normalizeOptions({ spec: 'tool@1.0.0', kitDir: kitWithNode('22.23.3'), env: {} }).nodeVersion).toBe('22.23.3');
  });

  it('prefers --node over the kit', () => {
    expect(normalizeOptions({ spec: 'tool@1.0.0', kitDir: kitWithNode('22.23.3'), nodeVersion: '26.10.0', env: {} }).nodeVersion).toBe('26.10.0');
  });

  it('falls back to the default without kit.json', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-kit-options-empty-'));
    folders.push(dir);

    expect(normalizeOptions({ spec: 'tool@1.0.0', kitDir: dir, env: {} }).nodeVersion).toBe(DEFAULT_NODE_VERSION);
  });

  it('makes the build offline', () => {
    expect(normalizeOptions({ spec: 'tool@1.0.0', kitDir: kitWithNode('26.10.0'), env: {} }).offline).toBe(true);
  });

  it('ignores NODEJS_ORG_MIRROR', () => {
    const options = normalizeOptions({ spec: 'tool@1.0.0', kitDir: kitWithNode('26.10.0'), env: { NODEJS_ORG_MIRROR: 'https://mirror.example/dist' } });

    expect(options.baseSources.nodeMirror).toBeUndefined();
  });

  it('rejects --node-mirror', () => {
    expect(() => normalizeOptions({ spec: 'tool@1.0.0', kitDir: kitWithNode('26.10.0'), nodeMirror: 'https://mirror.example/dist', env: {} })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', message: expect.stringContaining('--node-mirror cannot be combined with --kit') }),
    );
  });
});

describe('normalizeOptions with --offline', () => {
  it('rejects a mirror from the environment', () => {
    expect(() => normalizeOptions({ spec: 'tool@1.0.0', offline: true, env: { NODEJS_ORG_MIRROR: 'https://mirror.example/dist' } })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', input: '--offline --node-mirror' }),
    );
  });

  it('is off by default', () => {
    expect(normalizeOptions({ spec: 'tool@1.0.0', env: {} }).offline).toBe(false);
  });
});
