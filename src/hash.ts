import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Returns the SHA-256 of a file as lowercase hex, reading it as a stream. */
export async function sha256File(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Copies a file and returns the SHA-256 of the bytes copied, reading the source once. */
export async function copyFileWithSha256(source: string, destination: string, mode: number): Promise<string> {
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  await pipeline(createReadStream(source), hashing, createWriteStream(destination, { mode }));
  return hash.digest('hex');
}

export function sha256Bytes(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Returns an npm-style Subresource Integrity string (`sha512-<base64>`) of a file. */
export async function sha512IntegrityOfFile(filePath: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest('base64')}`;
}
