/** The executable and the fixed metadata of its archive entry. */
export interface ArchiveEntry {
  sourcePath: string;
  name: string;
  sizeBytes: number;
  mtime: Date;
}

export const EXECUTABLE_MODE = 0o755;

export function checkReadSize(entry: ArchiveEntry, readBytes: number): void {
  if (readBytes === entry.sizeBytes) return;
  throw new Error(`${entry.sourcePath} changed size while it was archived (${entry.sizeBytes} bytes, then ${readBytes})`);
}
