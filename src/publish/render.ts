import { formatBytes } from '../format.js';
import type { PublishResult } from './publish.js';

/** Renders the table printed on stdout after a publish: one row per file with its action and download URL. */
export function renderPublishResult(result: PublishResult): string {
  const rows = [['file', 'size', 'action', 'download URL']];
  for (const file of result.files) rows.push([file.file, formatBytes(file.sizeBytes), file.action, file.url]);
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd());

  const skipped = result.files.filter((file) => file.action === 'skipped').length;
  const uploaded = result.files.length - skipped;
  lines.push(
    '',
    `Published ${result.packageName} ${result.packageVersion}: ${uploaded} of ${result.files.length} files uploaded, ${skipped} skipped because GitLab has them with the same SHA-256.`,
    `Install on a runner with: sh install.sh --base-url ${result.baseUrl}`,
  );
  return lines.join('\n') + '\n';
}
