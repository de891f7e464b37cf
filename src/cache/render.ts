import path from 'node:path';
import { formatBytes } from '../format.js';
import type { CleanResult } from './clean.js';
import type { CacheItem, CacheKind, CacheListing } from './list.js';

/** Heading of each kind in `cache ls`, in the order they are printed. */
const KIND_TITLES: [CacheKind, string][] = [
  ['base', 'Node base binaries'],
  ['stripped', 'Stripped base binaries'],
  ['executable', 'Injected executables'],
  ['archive', 'Archives'],
  ['unlabeled', 'Binaries without a record'],
  ['index', 'Index records'],
  ['temporary', 'Temporary files'],
  ['legacy', 'Stripped binaries in an old layout'],
  ['conformance', 'Conformance executables'],
];

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function sum(items: CacheItem[]): number {
  return items.reduce((total, item) => total + item.sizeBytes, 0);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Renders `duo-sea cache ls`: one section per kind with an item per line (size, last use, label, path), then the totals. */
export function renderCacheListing(listing: CacheListing): string {
  const lines = [`Cache folder: ${listing.cacheDir}`];
  const relative = (itemPath: string): string => path.relative(listing.cacheDir, itemPath);
  for (const [kind, title] of KIND_TITLES) {
    const items = listing.items.filter((item) => item.kind === kind);
    if (items.length === 0) continue;
    lines.push('', `${title}: ${plural(items.length, 'item')}, ${formatBytes(sum(items))}`);
    for (const item of items) {
      const label = item.label ? `  ${item.label}` : '';
      lines.push(`  ${formatBytes(item.sizeBytes).padStart(11)}  ${day(item.modifiedAt)}  ${relative(item.path)}${label}`);
    }
  }

  const others = listing.items.filter((item) => item.kind === 'other');
  if (others.length > 0) {
    lines.push('', `Other folders, which cache clean leaves alone: ${others.map((item) => `${relative(item.path)} (${formatBytes(item.sizeBytes)})`).join(', ')}`);
  }
  const inCache = listing.items.filter((item) => item.kind !== 'run' || !path.relative(listing.cacheDir, item.path).startsWith('..'));
  lines.push('', `Total: ${formatBytes(sum(inCache))} in ${listing.cacheDir}`);

  const runs = listing.items.filter((item) => item.kind === 'run');
  if (listing.runDir && runs.length > 0) {
    lines.push(
      `Run-time extractions in ${listing.runDir}: ${plural(runs.length, 'folder')}, ${formatBytes(sum(runs))}. Executables write them out when they start; cache clean leaves them, since a running program may use them.`,
    );
  }
  for (const user of listing.users) lines.push(`In use by ${user.command}, pid ${user.pid} on ${user.hostname}, since ${user.startedAt}.`);
  return `${lines.join('\n')}\n`;
}

/** Renders `duo-sea cache clean`: one line per removed item with its reason, then what was freed and what is left. */
export function renderCleanResult(result: CleanResult): string {
  const lines = result.removed.map((item) => `removed ${path.relative(result.cacheDir, item.path)} (${formatBytes(item.sizeBytes)}): ${item.reason}`);
  const left = result.listing.items.filter((item) => item.kind !== 'run' && item.kind !== 'other');
  lines.push(
    `Removed ${plural(result.removed.length, 'item')} and freed ${formatBytes(result.freedBytes)} in ${result.cacheDir}; the build cache now contains ${plural(left.length, 'item')}, ${formatBytes(sum(left))}.`,
  );
  return `${lines.join('\n')}\n`;
}
