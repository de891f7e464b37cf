import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeBaseSourceOptions, parseNodeBinaryArguments } from '../../../src/base-sources/options.js';
import { normalizeOptions } from '../../../src/options.js';
import { fixtureFolder, removeFixtureFolders } from './fixtures.js';

afterAll(removeFixtureFolders);

function keyringFile(): string {
  const file = path.join(fixtureFolder('keyring'), 'nodejs.gpg');
  writeFileSync(file, '');
  return file;
}

describe('parseNodeBinaryArguments', () => {
  it('maps each target to its path', () => {
    expect(parseNodeBinaryArguments(['linux-x64=./a/node', 'win-x64=C:=odd.exe'])).toEqual({ 'linux-x64': './a/node', 'win-x64': 'C:=odd.exe' });
  });

  it('returns undefined for no values', () => {
    expect(parseNodeBinaryArguments(undefined)).toBeUndefined();
  });

  it.each(['linux-x64', '=./node', 'linux-x64='])('rejects %j', (value) => {
    expect(() => parseNodeBinaryArguments([value])).toThrowError(expect.objectContaining({ code: 'E_INVALID_OPTION', input: `--node-binary ${value}` }));
  });

  it('rejects a target named twice', () => {
    expect(() => parseNodeBinaryArguments(['linux-x64=a', 'linux-x64=b'])).toThrowError(expect.objectContaining({ message: '--node-binary names linux-x64 twice.' }));
  });
});

describe('normalizeBaseSourceOptions', () => {
  it('defaults to no mirror, files or keyrings, with signature checks on', () => {
    expect(normalizeBaseSourceOptions({}, {}, '/')).toEqual({ nodeMirror: undefined, nodeUnofficialMirror: undefined, nodeBinaries: new Map(), nodeKeyrings: [], nodeSignatureCheck: true });
  });

  it('reads NODEJS_ORG_MIRROR', () => {
    expect(normalizeBaseSourceOptions({}, { NODEJS_ORG_MIRROR: 'https://mirror.example/node' }, '/').nodeMirror).toBe('https://mirror.example/node');
  });

  it('prefers --node-mirror over NODEJS_ORG_MIRROR', () => {
    const options = normalizeBaseSourceOptions({ nodeMirror: 'https://flag.example/node' }, { NODEJS_ORG_MIRROR: 'https://environment.example/node' }, '/');

    expect(options.nodeMirror).toBe('https://flag.example/node');
  });

  it('ignores an empty NODEJS_ORG_MIRROR', () => {
    expect(normalizeBaseSourceOptions({}, { NODEJS_ORG_MIRROR: '' }, '/').nodeMirror).toBeUndefined();
  });

  it('rejects a mirror that is not a URL', () => {
    expect(() => normalizeBaseSourceOptions({ nodeMirror: 'mirror/node' }, {}, '/')).toThrowError(expect.objectContaining({ code: 'E_INVALID_OPTION', message: '"mirror/node" is not a URL.' }));
  });

  it('rejects a mirror URL of another scheme', () => {
    expect(() => normalizeBaseSourceOptions({ nodeUnofficialMirror: 'ftp://mirror.example/node' }, {}, '/')).toThrowError(
      expect.objectContaining({ code: 'E_INVALID_OPTION', message: '--node-unofficial-mirror must be an http or https URL, not ftp:.' }),
    );
  });

  it('names NODEJS_ORG_MIRROR when its value is invalid', () => {
    expect(() => normalizeBaseSourceOptions({}, { NODEJS_ORG_MIRROR: 'file:///srv/node' }, '/')).toThrowError(expect.objectContaining({ input: 'NODEJS_ORG_MIRROR file:///srv/node' }));
  });

  it('resolves keyrings against the working folder', () => {
    const keyring = keyringFile();

    const options = normalizeBaseSourceOptions({ nodeMirror: 'https://mirror.example', nodeKeyrings: [path.basename(keyring)] }, {}, path.dirname(keyring));

    expect(options.nodeKeyrings).toEqual([keyring]);
  });

  it('rejects a missing keyring', () => {
    expect(() => normalizeBaseSourceOptions({ nodeMirror: 'https://mirror.example', nodeKeyrings: ['/nonexistent/nodejs.gpg'] }, {}, '/')).toThrowError(
      expect.objectContaining({ code: 'E_INVALID_OPTION', message: 'The keyring /nonexistent/nodejs.gpg does not exist.' }),
    );
  });

  it('rejects a keyring together with --no-node-signature-check', () => {
    expect(() => normalizeBaseSourceOptions({ nodeMirror: 'https://mirror.example', nodeKeyrings: [keyringFile()], nodeSignatureCheck: false }, {}, '/')).toThrowError(
      expect.objectContaining({ code: 'E_INVALID_OPTION', hint: 'Pass one of the two, not both.' }),
    );
  });

  it('rejects a keyring without a mirror', () => {
    expect(() => normalizeBaseSourceOptions({ nodeKeyrings: [keyringFile()] }, {}, '/')).toThrowError(
      expect.objectContaining({ code: 'E_INVALID_OPTION', message: '--node-keyring checks the signatures of a mirror, and no mirror was given.' }),
    );
  });
});

describe('normalizeOptions base sources', () => {
  it('takes the mirror from the build environment', () => {
    const options = normalizeOptions({ spec: 'srt@1.0.0', cwd: '/', env: { NODEJS_ORG_MIRROR: 'http://127.0.0.1:8080/dist' } });

    expect(options.baseSources.nodeMirror).toBe('http://127.0.0.1:8080/dist');
  });
});
