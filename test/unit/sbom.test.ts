import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSbom, mergePackages, npmPurl, packagesOfSbom, readInstalledPackages, type SbomInput } from '../../src/sbom.js';

const validator = new Validation.JsonStrictValidator(Spec.Version.v1dot5);
const workDir = mkdtempSync(path.join(os.tmpdir(), 'duo-sea-sbom-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const INPUT: SbomInput = {
  app: { package: '@scope/tool', version: '1.2.3', integrity: `sha512-${Buffer.alloc(64, 1).toString('base64')}` },
  node: { version: '26.10.0' },
  tool: { name: 'duo-sea', version: '0.1.0' },
  targetIds: ['linux-arm64', 'linux-x64'],
  packages: [
    { name: '@scope/tool', version: '1.2.3', license: 'Apache-2.0', targets: ['linux-arm64', 'linux-x64'] },
    { name: 'commander', version: '12.1.0', integrity: `sha512-${Buffer.alloc(64, 2).toString('base64')}`, license: 'MIT', targets: ['linux-arm64', 'linux-x64'] },
    { name: 'forge', version: '1.0.0', license: '(BSD-3-Clause OR GPL-2.0)', targets: ['linux-arm64', 'linux-x64'] },
    { name: '@tool/linux-x64', version: '1.2.3', license: 'SEE LICENSE IN LICENSE.md', targets: ['linux-x64'] },
  ],
  timestamp: new Date(499_162_500_000),
};

describe('buildSbom', () => {
  const document = buildSbom(INPUT);
  const components = document.components as { name: string; group?: string; purl: string; properties?: { name: string; value: string }[] }[];

  it('validates against CycloneDX 1.5', async () => {
    expect(await validator.validate(JSON.stringify(document))).toBeNull();
  });

  it('lists node and every library', () => {
    expect(components.map((component) => component.purl)).toEqual([
      'pkg:generic/node@26.10.0',
      'pkg:npm/%40tool/linux-x64@1.2.3',
      'pkg:npm/commander@12.1.0',
      'pkg:npm/forge@1.0.0',
    ]);
  });

  it('names the program as the metadata component', () => {
    const metadata = document.metadata as { component: { group: string; name: string; version: string } };

    expect(metadata.component.group).toBe('@scope');
    expect(metadata.component.name).toBe('tool');
    expect(metadata.component.version).toBe('1.2.3');
  });

  it('marks a package of some targets only', () => {
    const platform = components.find((component) => component.name === 'linux-x64');
    const shared = components.find((component) => component.name === 'commander');

    expect(platform?.properties).toEqual([{ name: 'duo-sea:targets', value: 'linux-x64' }]);
    expect(shared?.properties).toBeUndefined();
  });

  it('gives the same serial number for the same input', () => {
    expect(buildSbom(INPUT).serialNumber).toBe(document.serialNumber);
    expect(buildSbom({ ...INPUT, node: { version: '26.11.0' } }).serialNumber).not.toBe(document.serialNumber);
  });

  it('fails validation when a required field is missing', async () => {
    const { bomFormat: _removed, ...broken } = document;

    expect(await validator.validate(JSON.stringify(broken))).not.toBeNull();
  });

  it('reads back the packages it wrote', () => {
    const { packages, targetIds } = packagesOfSbom(document);

    expect(targetIds).toEqual(INPUT.targetIds);
    expect(mergePackages([packages])).toEqual(mergePackages([INPUT.packages.map((item, index) => (index === 0 ? { ...item, integrity: INPUT.app.integrity } : item))]));
  });
});

describe('mergePackages', () => {
  it('unites the targets of one package', () => {
    const merged = mergePackages([
      [{ name: 'a', version: '1.0.0', targets: ['linux-x64'] }],
      [
        { name: 'a', version: '1.0.0', targets: ['darwin-arm64'] },
        { name: 'b', version: '2.0.0', targets: ['darwin-arm64'] },
      ],
    ]);

    expect(merged).toEqual([
      { name: 'a', version: '1.0.0', targets: ['darwin-arm64', 'linux-x64'] },
      { name: 'b', version: '2.0.0', targets: ['darwin-arm64'] },
    ]);
  });
});

describe('npmPurl', () => {
  it('encodes the scope', () => {
    expect(npmPurl('@anthropic-ai/sandbox-runtime', '0.0.78')).toBe('pkg:npm/%40anthropic-ai/sandbox-runtime@0.0.78');
  });
});

describe('readInstalledPackages', () => {
  it('keeps packages whose folder exists', async () => {
    const root = path.join(workDir, 'install');
    mkdirSync(path.join(root, 'node_modules', 'present'), { recursive: true });
    mkdirSync(path.join(root, 'node_modules', 'alias-folder'), { recursive: true });
    writeFileSync(
      path.join(root, 'node_modules', '.package-lock.json'),
      JSON.stringify({
        packages: {
          '': { name: 'root' },
          'node_modules/present': { version: '1.0.0', license: 'MIT', integrity: 'sha512-AA==' },
          'node_modules/alias-folder': { name: 'real-name', version: '2.0.0' },
          'node_modules/absent': { version: '3.0.0' },
        },
      }),
    );

    expect(await readInstalledPackages(root, 'linux-x64')).toEqual([
      { name: 'present', version: '1.0.0', integrity: 'sha512-AA==', license: 'MIT', targets: ['linux-x64'] },
      { name: 'real-name', version: '2.0.0', integrity: undefined, license: undefined, targets: ['linux-x64'] },
    ]);
  });

  it('fails without the lockfile', async () => {
    await expect(readInstalledPackages(path.join(workDir, 'empty'), 'linux-x64')).rejects.toThrow(/\.package-lock\.json/);
  });
});
