import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuoSeaError } from '../../../src/errors.js';
import {
  buildSizeReport,
  renderSizeReportMarkdown,
  writeSizeReport,
  type TargetSizeInput,
} from '../../../src/stages/size-report.js';

const LINUX: TargetSizeInput = {
  id: 'linux-x64',
  baseRawBytes: 125_829_120,
  baseStrippedBytes: 116_423_904,
  executableBytes: 121_634_816,
  archives: [
    { type: 'tar.gz', sizeBytes: 42_935_447 },
    { type: 'tar.xz', sizeBytes: 27_179_372 },
  ],
};

const WINDOWS: TargetSizeInput = {
  id: 'win-x64',
  baseRawBytes: 83_886_080,
  baseStrippedBytes: 83_886_080,
  executableBytes: 88_080_384,
  archives: [{ type: 'zip', sizeBytes: 31_457_280 }],
};

describe('buildSizeReport', () => {
  it('derives strip savings, payload and shares', () => {
    const report = buildSizeReport([LINUX]);

    expect(report).toEqual({
      schemaVersion: 1,
      targets: [
        {
          id: 'linux-x64',
          baseRawBytes: 125_829_120,
          baseStrippedBytes: 116_423_904,
          stripSavedBytes: 9_405_216,
          stripSavedShare: 0.0747,
          payloadBytes: 5_210_912,
          executableBytes: 121_634_816,
          nodeShare: 0.9572,
          payloadShare: 0.0428,
          archives: [
            { type: 'tar.gz', sizeBytes: 42_935_447, shareOfExecutable: 0.353 },
            { type: 'tar.xz', sizeBytes: 27_179_372, shareOfExecutable: 0.2235 },
          ],
        },
      ],
    });
  });

  it('reports zero savings for an unstripped base', () => {
    const [target] = buildSizeReport([WINDOWS]).targets;

    expect(target.stripSavedBytes).toBe(0);
    expect(target.stripSavedShare).toBe(0);
    expect(target.payloadBytes).toBe(4_194_304);
  });

  it('sorts targets by id', () => {
    const report = buildSizeReport([WINDOWS, LINUX]);

    expect(report.targets.map((target) => target.id)).toEqual(['linux-x64', 'win-x64']);
  });

  it('rejects an executable smaller than its base', () => {
    expect(() => buildSizeReport([{ ...LINUX, executableBytes: 100 }])).toThrow(
      'Target linux-x64: the executable (100 bytes) is smaller than its stripped base (116423904 bytes).',
    );
  });

  it('rejects a stripped base larger than the raw one', () => {
    expect(() => buildSizeReport([{ ...LINUX, baseRawBytes: 1 }])).toThrow(
      'Target linux-x64: the stripped base (116423904 bytes) is larger than the raw base (1 bytes).',
    );
  });
});

describe('left-out files', () => {
  const withLeftOut: TargetSizeInput = { ...LINUX, leftOut: { files: 307, sizeBytes: 1_460_843 } };

  it('records the count and bytes', () => {
    expect(buildSizeReport([withLeftOut]).targets[0].leftOut).toEqual({ files: 307, sizeBytes: 1_460_843 });
  });

  it('renders a row', () => {
    const markdown = renderSizeReportMarkdown(buildSizeReport([withLeftOut]));

    expect(markdown).toContain('| Left out of the payload | 1460843 | 1.39 | 307 installed files that the program does not read or that are built for other platforms |');
  });

  it('omits the row without a record', () => {
    expect(renderSizeReportMarkdown(buildSizeReport([LINUX]))).not.toContain('Left out');
  });
});

describe('renderSizeReportMarkdown', () => {
  const markdown = renderSizeReportMarkdown(buildSizeReport([WINDOWS, LINUX]));

  it('lists each part in bytes and MiB', () => {
    expect(markdown).toContain('| Node base, raw | 125829120 | 120.00 |  |');
    expect(markdown).toContain('| Node base, stripped | 116423904 | 111.03 | strip saved 9405216 bytes (7.5%) |');
    expect(markdown).toContain('| Payload | 5210912 | 4.97 | executable minus stripped base |');
    expect(markdown).toContain('| Executable | 121634816 | 116.00 |  |');
    expect(markdown).toContain('| Archive .tar.gz | 42935447 | 40.95 | 35.3% of the executable |');
    expect(markdown).toContain('| Archive .tar.xz | 27179372 | 25.92 | 22.3% of the executable |');
  });

  it('states the Node and payload shares', () => {
    expect(markdown).toContain('Node is 95.7% of the executable and the payload is 4.3%.');
    expect(markdown).toContain('Node is 95.2% of the executable and the payload is 4.8%.');
  });

  it('puts one section per target in id order', () => {
    const headings = markdown.split('\n').filter((line) => line.startsWith('## '));

    expect(headings).toEqual(['## linux-x64', '## win-x64']);
  });

  it('uses IEC unit names only', () => {
    expect(markdown).not.toMatch(/\b[KMG]B\b/);
    expect(markdown).toContain('MiB');
  });

  it('ends with one newline', () => {
    expect(markdown.endsWith('.\n')).toBe(true);
  });
});

describe('writeSizeReport', () => {
  let outDir: string;

  beforeEach(async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-size-'));
  });

  afterEach(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('writes the JSON and the Markdown', async () => {
    const report = buildSizeReport([LINUX]);

    const written = await writeSizeReport(outDir, report);

    expect(written).toEqual({ jsonPath: path.join(outDir, 'size-report.json'), markdownPath: path.join(outDir, 'size-report.md') });
    expect(await readFile(written.jsonPath, 'utf8')).toBe(`${JSON.stringify(report, null, 2)}\n`);
    expect(await readFile(written.markdownPath, 'utf8')).toBe(renderSizeReportMarkdown(report));
  });

  it('reports a missing output folder', async () => {
    const missingDir = path.join(outDir, 'missing');

    const failure = await writeSizeReport(missingDir, buildSizeReport([LINUX])).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(DuoSeaError);
    expect((failure as DuoSeaError).code).toBe('E_OUTPUT_FAILED');
    expect((failure as DuoSeaError).input).toBe(path.join(missingDir, 'size-report.json'));
  });
});
