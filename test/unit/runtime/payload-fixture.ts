import { createHash } from 'node:crypto';
import type { VfsIndex } from '../../../src/runtime/vfs-format.js';

/** One file of a test payload. `sha256` defaults to the hash of the content on extracted files. */
export interface FixtureFile {
  content: string | Uint8Array;
  mode?: number;
  extract?: boolean;
  sha256?: string;
}

export interface FixturePayload {
  index: VfsIndex;
  data: Uint8Array;
}

/**
 * Builds a payload index and data buffer in memory, in the layout the build
 * writes: contents concatenated in index order.
 */
export function makePayload(files: Record<string, FixtureFile>, payloadId = 'payload-test-0001', entry = 'app/cli.js'): FixturePayload {
  const chunks: Buffer[] = [];
  const indexFiles: VfsIndex['files'] = {};
  let offset = 0;

  for (const [relativePath, file] of Object.entries(files)) {
    const content = typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : Buffer.from(file.content);
    indexFiles[relativePath] = {
      offset,
      sizeBytes: content.length,
      mode: file.mode ?? 0o644,
      ...(file.extract ? { extract: true, sha256: file.sha256 ?? createHash('sha256').update(content).digest('hex') } : {}),
    };
    chunks.push(content);
    offset += content.length;
  }

  const index: VfsIndex = { formatVersion: 1, payloadId, entry, files: indexFiles };
  return { index, data: new Uint8Array(Buffer.concat(chunks)) };
}
