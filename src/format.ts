const MIB = 1024 * 1024;

/** Formats a byte count in IEC units (KiB, MiB, GiB), with two decimals above 1 KiB. */
export function formatBytes(sizeBytes: number): string {
  if (sizeBytes < 1024) return `${sizeBytes} B`;
  if (sizeBytes < MIB) return `${(sizeBytes / 1024).toFixed(2)} KiB`;
  if (sizeBytes < 1024 * MIB) return `${(sizeBytes / MIB).toFixed(2)} MiB`;
  return `${(sizeBytes / (1024 * MIB)).toFixed(2)} GiB`;
}

/** Returns a byte count in MiB rounded to two decimals, for tables that compare sizes. */
export function toMiB(sizeBytes: number): number {
  return Math.round((sizeBytes / MIB) * 100) / 100;
}

/** Formats `part / whole` as a percentage with one decimal. */
export function formatShare(part: number, whole: number): string {
  if (whole === 0) return '0.0%';
  return `${((part / whole) * 100).toFixed(1)}%`;
}

/** Formats a duration in milliseconds as seconds with one decimal, or milliseconds below one second. */
export function formatDuration(durationMs: number): string {
  return durationMs < 1000 ? `${durationMs} ms` : `${(durationMs / 1000).toFixed(1)} s`;
}
