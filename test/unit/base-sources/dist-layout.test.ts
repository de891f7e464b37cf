import { describe, expect, it } from 'vitest';
import { distArtifacts, distPlatform, releaseFileUrl } from '../../../src/base-sources/dist-layout.js';
import { publicUrl } from '../../../src/download.js';
import { findTarget } from '../../../src/targets.js';

describe('distPlatform', () => {
  it.each([
    ['linux-x64', 'linux-x64'],
    ['linux-arm64-musl', 'linux-arm64-musl'],
    ['darwin-arm64', 'darwin-arm64'],
    ['win-x64', 'win-x64'],
  ])('names %s %s', (targetId, expected) => {
    expect(distPlatform(findTarget(targetId))).toBe(expected);
  });
});

describe('distArtifacts', () => {
  it('lists the tarballs of a Linux target, xz first', () => {
    expect(distArtifacts(findTarget('linux-x64-musl'), '26.10.0')).toEqual([
      { file: 'node-v26.10.0-linux-x64-musl.tar.xz', type: 'tar.xz', member: 'node-v26.10.0-linux-x64-musl/bin/node' },
      { file: 'node-v26.10.0-linux-x64-musl.tar.gz', type: 'tar.gz', member: 'node-v26.10.0-linux-x64-musl/bin/node' },
    ]);
  });

  it('lists node.exe before the zip for Windows', () => {
    expect(distArtifacts(findTarget('win-arm64'), '22.23.3')).toEqual([
      { file: 'win-arm64/node.exe', type: 'exe' },
      { file: 'node-v22.23.3-win-arm64.zip', type: 'zip', member: 'node-v22.23.3-win-arm64/node.exe' },
    ]);
  });
});

describe('releaseFileUrl', () => {
  it('adds the release folder below the mirror path', () => {
    expect(releaseFileUrl('https://mirror.example/nodejs/dist', '26.10.0', 'SHASUMS256.txt')).toBe('https://mirror.example/nodejs/dist/v26.10.0/SHASUMS256.txt');
  });

  it('accepts a mirror URL with a trailing slash', () => {
    expect(releaseFileUrl('https://mirror.example/dist/', '26.10.0', 'win-x64/node.exe')).toBe('https://mirror.example/dist/v26.10.0/win-x64/node.exe');
  });
});

describe('publicUrl', () => {
  it('drops credentials, query and fragment', () => {
    expect(publicUrl('https://user:secret@mirror.example/dist/v26.10.0/SHASUMS256.txt?token=abc#top')).toBe('https://mirror.example/dist/v26.10.0/SHASUMS256.txt');
  });
});
