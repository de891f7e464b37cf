import type { BuildResult } from './build.js';
import { DuoSeaError } from './errors.js';
import type { BuildEvent, Reporter } from './events.js';
import { formatBytes, formatDuration } from './format.js';

/** Returns a reporter that writes progress lines to a stream (stderr in the CLI). */
export function createProgressRenderer(stream: NodeJS.WriteStream): Reporter {
  const lastDownloadStep = new Map<string, number>();
  const prefix = (target: string | undefined): string => (target ? `[${target}] ` : '');
  return (event: BuildEvent) => {
    switch (event.kind) {
      case 'stage-start':
        if (event.stage === 'install' || event.stage === 'resolve') stream.write(`${prefix(event.target)}${event.stage}...\n`);
        break;
      case 'stage-done':
        stream.write(`${prefix(event.target)}${event.stage} done in ${formatDuration(event.durationMs)}\n`);
        break;
      case 'download': {
        // One line per tenth of the download, so logs of CI jobs stay short.
        const step = event.totalBytes ? Math.floor((event.receivedBytes / event.totalBytes) * 10) : 0;
        if (lastDownloadStep.get(event.file) === step && event.receivedBytes !== event.totalBytes) break;
        lastDownloadStep.set(event.file, step);
        const total = event.totalBytes ? ` of ${formatBytes(event.totalBytes)}` : '';
        stream.write(`${prefix(event.target)}downloading ${event.file}: ${formatBytes(event.receivedBytes)}${total}\n`);
        break;
      }
      case 'target-skipped':
        stream.write(`skipped ${event.target}: ${event.reason}\n`);
        break;
      case 'info':
        stream.write(`${prefix(event.target)}${event.message}\n`);
        break;
      case 'warning':
        stream.write(`${prefix(event.target)}warning: ${event.message}\n`);
        break;
    }
  };
}

/** Renders the result table printed on stdout after a build. */
export function renderResultTable(result: BuildResult): string {
  const rows = [['target', 'file', 'size', 'smallest archive', 'sha256']];
  for (const target of result.manifest.targets) {
    rows.push([target.id, target.file, formatBytes(target.sizeBytes), `${target.archive.file} (${formatBytes(target.archive.sizeBytes)})`, target.sha256]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());
  lines.push('', `Wrote ${result.files.length} files to ${result.outDir}; check them with: cd ${result.outDir} && sha256sum -c SHA256SUMS`);
  for (const skipped of result.skippedTargets) lines.push(`Skipped ${skipped.target}: ${skipped.reason}`);
  return lines.join('\n') + '\n';
}

/** Formats a DuoSeaError for stderr: what failed, on which input, expected and found, then the next step. */
export function renderError(error: DuoSeaError): string {
  const where = error.target ? `${error.stage}, ${error.target}` : error.stage;
  const lines = [`duo-sea: error ${error.code} (${where}): ${error.message}`];
  if (error.input) lines.push(`  input:    ${error.input}`);
  if (error.expected) lines.push(`  expected: ${error.expected}`);
  if (error.found) lines.push(`  found:    ${error.found}`);
  if (error.hint) lines.push(`hint: ${error.hint}`);
  return lines.join('\n') + '\n';
}
