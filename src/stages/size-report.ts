import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DuoSeaError, messageOf } from '../errors.js';
import { formatShare, toMiB } from '../format.js';
import type { ArchiveType } from '../targets.js';
import { compareCodeUnits } from '../compare.js';

export const SIZE_REPORT_JSON_FILE = 'size-report.json';
export const SIZE_REPORT_MARKDOWN_FILE = 'size-report.md';

/** The sizes that one target's build measured. */
export interface TargetSizeInput {
  id: string;
  /** The Node base binary as downloaded. */
  baseRawBytes: number;
  /** The Node base binary after strip; equal to `baseRawBytes` when the target is not stripped. */
  baseStrippedBytes: number;
  executableBytes: number;
  archives: readonly { type: ArchiveType; sizeBytes: number }[];
  /** Installed files that the payload left out, and their total size. */
  leftOut?: LeftOutSize;
}

export interface LeftOutSize {
  files: number;
  sizeBytes: number;
}

export interface ArchiveSize {
  type: ArchiveType;
  sizeBytes: number;
  /** `sizeBytes / executableBytes`, from 0 to 1, rounded to 4 decimals. */
  shareOfExecutable: number;
}

/** One target's sizes. Shares are fractions from 0 to 1, rounded to 4 decimals. */
export interface TargetSizes {
  id: string;
  baseRawBytes: number;
  baseStrippedBytes: number;
  /** `baseRawBytes - baseStrippedBytes`. */
  stripSavedBytes: number;
  /** `stripSavedBytes / baseRawBytes`. */
  stripSavedShare: number;
  /** `executableBytes - baseStrippedBytes`: the injected blob and the section or segment that contains it. */
  payloadBytes: number;
  executableBytes: number;
  /** `baseStrippedBytes / executableBytes`. */
  nodeShare: number;
  /** `payloadBytes / executableBytes`. */
  payloadShare: number;
  archives: ArchiveSize[];
  /** Installed files left out of the payload: those the program does not read and binaries of other platforms. */
  leftOut?: LeftOutSize;
}

/** The contents of `size-report.json`. */
export interface SizeReport {
  schemaVersion: 1;
  /** Sorted by target id. */
  targets: TargetSizes[];
}

/**
 * Builds the size report from measured sizes and derives the savings,
 * payload and shares. Throws when a stripped base is larger than the raw
 * one or an executable is smaller than its stripped base, because such
 * sizes come from mixed-up inputs.
 */
export function buildSizeReport(inputs: readonly TargetSizeInput[]): SizeReport {
  const targets = inputs.map(buildTargetSizes);
  targets.sort((left, right) => compareCodeUnits(left.id, right.id));
  return { schemaVersion: 1, targets };
}

function buildTargetSizes(input: TargetSizeInput): TargetSizes {
  const stripSavedBytes = input.baseRawBytes - input.baseStrippedBytes;
  const payloadBytes = input.executableBytes - input.baseStrippedBytes;
  if (stripSavedBytes < 0) {
    throw new Error(
      `Target ${input.id}: the stripped base (${input.baseStrippedBytes} bytes) is larger than the raw base (${input.baseRawBytes} bytes).`,
    );
  }
  if (payloadBytes < 0) {
    throw new Error(
      `Target ${input.id}: the executable (${input.executableBytes} bytes) is smaller than its stripped base (${input.baseStrippedBytes} bytes).`,
    );
  }

  return {
    id: input.id,
    baseRawBytes: input.baseRawBytes,
    baseStrippedBytes: input.baseStrippedBytes,
    stripSavedBytes,
    stripSavedShare: share(stripSavedBytes, input.baseRawBytes),
    payloadBytes,
    executableBytes: input.executableBytes,
    nodeShare: share(input.baseStrippedBytes, input.executableBytes),
    payloadShare: share(payloadBytes, input.executableBytes),
    archives: input.archives.map((archive) => ({
      type: archive.type,
      sizeBytes: archive.sizeBytes,
      shareOfExecutable: share(archive.sizeBytes, input.executableBytes),
    })),
    ...(input.leftOut ? { leftOut: { files: input.leftOut.files, sizeBytes: input.leftOut.sizeBytes } } : {}),
  };
}


function share(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 10_000;
}

/** Renders the size report as Markdown: one table per target, in bytes and MiB. */
export function renderSizeReportMarkdown(report: SizeReport): string {
  const sections = report.targets.map(renderTarget);
  return `# Size report\n\nMiB is 1024 × 1024 bytes.\n\n${sections.join('\n')}`;
}

function renderTarget(target: TargetSizes): string {
  const rows = [
    row('Node base, raw', target.baseRawBytes, ''),
    row(
      'Node base, stripped',
      target.baseStrippedBytes,
      `strip saved ${target.stripSavedBytes} bytes (${formatShare(target.stripSavedBytes, target.baseRawBytes)})`,
    ),
    row('Payload', target.payloadBytes, 'executable minus stripped base'),
    ...(target.leftOut
      ? [row('Left out of the payload', target.leftOut.sizeBytes, `${target.leftOut.files} installed files that the program does not read or that are built for other platforms`)]
      : []),
    row('Executable', target.executableBytes, ''),
    ...target.archives.map((archive) =>
      row(`Archive .${archive.type}`, archive.sizeBytes, `${formatShare(archive.sizeBytes, target.executableBytes)} of the executable`),
    ),
  ];
  const nodeShare = formatShare(target.baseStrippedBytes, target.executableBytes);
  const payloadShare = formatShare(target.payloadBytes, target.executableBytes);

  return [
    `## ${target.id}`,
    '',
    '| Part | Bytes | MiB | Note |',
    '| --- | ---: | ---: | --- |',
    ...rows,
    '',
    `Node is ${nodeShare} of the executable and the payload is ${payloadShare}.`,
    '',
  ].join('\n');
}

function row(part: string, sizeBytes: number, note: string): string {
  return `| ${part} | ${sizeBytes} | ${toMiB(sizeBytes).toFixed(2)} | ${note} |`;
}

/** Writes `size-report.json` and `size-report.md` into `outDir` and returns their paths. */
export async function writeSizeReport(
  outDir: string,
  report: SizeReport,
): Promise<{ jsonPath: string; markdownPath: string }> {
  const jsonPath = path.join(outDir, SIZE_REPORT_JSON_FILE);
  const markdownPath = path.join(outDir, SIZE_REPORT_MARKDOWN_FILE);
  await writeOutput(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  await writeOutput(markdownPath, renderSizeReportMarkdown(report));
  return { jsonPath, markdownPath };
}

async function writeOutput(filePath: string, text: string): Promise<void> {
  try {
    await writeFile(filePath, text, 'utf8');
  } catch (error) {
    throw new DuoSeaError({
      code: 'E_OUTPUT_FAILED',
      stage: 'size-report',
      input: filePath,
      message: `Writing ${filePath} failed: ${messageOf(error)}.`,
      hint: `Check that ${path.dirname(filePath)} exists and is writable.`,
      cause: error,
    });
  }
}
