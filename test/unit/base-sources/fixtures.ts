import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { writeZip } from '../../../src/archive/zip.js';

const createdFolders: string[] = [];
/** GnuPG home folders whose gpg-agent, which gpg starts for key generation, must be stopped. */
const gnupgHomes: string[] = [];

/** Creates a temporary folder that removeFixtureFolders deletes. */
export function fixtureFolder(label: string): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), `duo-sea-${label}-`));
  createdFolders.push(folder);
  return folder;
}

export function removeFixtureFolders(): void {
  for (const home of gnupgHomes.splice(0)) execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
  for (const folder of createdFolders.splice(0)) rmSync(folder, { recursive: true, force: true });
}

/** Lists every file below a folder, relative to it, or an empty list when the folder does not exist. */
export function listFiles(folder: string): string[] {
  try {
    return readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(folder, path.join(entry.parentPath, entry.name)))
      .sort();
  } catch {
    // A folder that was never created has no files.
    return [];
  }
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Response of the server for one path: a body, or a body cut short after `sentBytes` while Content-Length promises all of it. */
export type MirrorFile = Buffer | { body: Buffer; sentBytes: number };

export interface MirrorServer {
  /** Base URL, such as `http://127.0.0.1:41234/dist`, with no trailing slash. */
  url: string;
  /** Paths requested so far, such as `/dist/v26.10.0/SHASUMS256.txt`, in order. */
  requests: string[];
  /** The Authorization header of each request, in the same order. */
  authorizations: (string | undefined)[];
  /** Files by path below the base URL, such as `v26.10.0/SHASUMS256.txt`; the test may change them between builds. */
  files: Map<string, MirrorFile>;
  close(): Promise<void>;
}

function respond(server: MirrorServer, request: IncomingMessage, response: import('node:http').ServerResponse): void {
  const pathname = new URL(request.url ?? '/', 'http://mirror').pathname;
  server.requests.push(pathname);
  server.authorizations.push(request.headers.authorization);
  const prefix = new URL(server.url).pathname.replace(/\/?$/, '/');
  const file = pathname.startsWith(prefix) ? server.files.get(pathname.slice(prefix.length)) : undefined;
  if (!file) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  if (Buffer.isBuffer(file)) {
    response.writeHead(200, { 'content-length': file.length, 'content-type': 'application/octet-stream' }).end(file);
    return;
  }
  response.writeHead(200, { 'content-length': file.body.length, 'content-type': 'application/octet-stream' });
  response.write(file.body.subarray(0, file.sentBytes), () => response.destroy());
}

/** Starts an HTTP server on 127.0.0.1 and an unused port that serves `files` below `/dist`. */
export async function startMirrorServer(files: Record<string, MirrorFile> = {}): Promise<MirrorServer> {
  let server: Server | undefined;
  const mirror: MirrorServer = {
    url: '',
    requests: [],
    authorizations: [],
    files: new Map(Object.entries(files)),
    close: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  };
  server = createServer((request, response) => respond(mirror, request, response));
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  mirror.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dist`;
  return mirror;
}

/** Returns a port on 127.0.0.1 that nothing listens on: one the system just handed out and that was closed again. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Returns a minimal 64-bit little-endian ELF executable: the ELF header, one
 * PT_INTERP program header naming `interpreter`, the interpreter path, and
 * `payload` (such as a Node version string). It does not run; it only has
 * the fields that duo-sea's format checks read.
 */
export function fakeElf(options: { machine: 'x64' | 'arm64'; interpreter?: string; payload?: string }): Buffer {
  const interpreter = Buffer.from(`${options.interpreter ?? '/lib64/ld-linux-x86-64.so.2'}\0`);
  const header = Buffer.alloc(64 + 56);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // ELFCLASS64
  header[5] = 1; // little-endian
  header[6] = 1; // EV_CURRENT
  header.writeUInt16LE(3, 16); // ET_DYN
  header.writeUInt16LE(options.machine === 'x64' ? 0x3e : 0xb7, 18);
  header.writeUInt32LE(1, 20);
  header.writeBigUInt64LE(64n, 32); // e_phoff
  header.writeUInt16LE(64, 52); // e_ehsize
  header.writeUInt16LE(56, 54); // e_phentsize
  header.writeUInt16LE(1, 56); // e_phnum
  header.writeUInt32LE(3, 64); // PT_INTERP
  header.writeUInt32LE(4, 68);
  header.writeBigUInt64LE(BigInt(header.length), 72);
  header.writeBigUInt64LE(BigInt(interpreter.length), 96);
  return Buffer.concat([header, interpreter, Buffer.from(options.payload ?? '')]);
}

/** Returns a minimal PE file for `machine`: an MZ header whose e_lfanew points to "PE\0\0" and the COFF Machine field. */
export function fakePe(options: { machine: 'x64' | 'arm64'; payload?: string }): Buffer {
  const image = Buffer.alloc(0x80 + 24);
  image.write('MZ', 0, 'latin1');
  image.writeUInt32LE(0x80, 0x3c);
  image.writeUInt32BE(0x50450000, 0x80);
  image.writeUInt16LE(options.machine === 'x64' ? 0x8664 : 0xaa64, 0x84);
  return Buffer.concat([image, Buffer.from(options.payload ?? '')]);
}

export interface SigningKey {
  /** Binary OpenPGP keyring with the public key, as `gpg --export` writes it. */
  keyringPath: string;
  /** The same key ASCII-armored, as Node's release-keys repository ships keys. */
  armoredKeyPath: string;
  fingerprint: string;
  /** Returns a detached binary signature of `data`. */
  signDetached(data: Buffer): Buffer;
  /** Returns `data` clearsigned. */
  clearsign(data: Buffer): Buffer;
}

/** Makes a throwaway Ed25519 signing key with gpg in a private GNUPGHOME, as Node's releasers sign SHASUMS256.txt. */
export function makeSigningKey(label: string): SigningKey {
  const folder = fixtureFolder(`gpg-${label}`);
  const home = path.join(folder, 'home');
  mkdirSync(home, { mode: 0o700 });
  gnupgHomes.push(home);
  const gpg = (args: string[], input?: Buffer): Buffer =>
    execFileSync('gpg', ['--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { input, stdio: ['pipe', 'pipe', 'pipe'] });
  gpg(['--quick-gen-key', `duo-sea ${label} <${label}@example.invalid>`, 'ed25519', 'sign', 'never']);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--with-colons', '--list-keys']).toString())?.[1] ?? '';
  const keyringPath = path.join(folder, 'keyring.gpg');
  const armoredKeyPath = path.join(folder, `${fingerprint}.asc`);
  writeFileSync(keyringPath, gpg(['--export']));
  writeFileSync(armoredKeyPath, gpg(['--export', '--armor']));
  return {
    keyringPath,
    armoredKeyPath,
    fingerprint,
    signDetached: (data) => gpg(['--detach-sign', '--output', '-'], data),
    clearsign: (data) => gpg(['--clearsign', '--output', '-'], data),
  };
}

/** Returns SHASUMS256.txt text for files by name, as `sha256sum` writes it. */
export function checksumList(files: Record<string, Buffer>): Buffer {
  const lines = Object.entries(files).map(([name, data]) => `${sha256Hex(data)}  ${name}\n`);
  return Buffer.from(lines.sort().join(''));
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

/**
 * Packs a binary as nodejs.org's release archives do: `<folder>/bin/node`
 * in a `.tar.gz` (through the tar package) or a `.tar.xz` (through the
 * host's tar and xz, at the fastest level).
 */
export async function packRelease(options: { folder: string; binary: Buffer; type: 'tar.gz' | 'tar.xz' }): Promise<Buffer> {
  const work = fixtureFolder('pack');
  mkdirSync(path.join(work, options.folder, 'bin'), { recursive: true });
  writeFileSync(path.join(work, options.folder, 'bin', 'node'), options.binary, { mode: 0o755 });
  const archive = path.join(work, `archive.${options.type}`);
  if (options.type === 'tar.gz') await tar.c({ gzip: true, cwd: work, file: archive, portable: true }, [options.folder]);
  else execFileSync('tar', ['-C', work, '-c', '-I', 'xz -0 -T2', '-f', archive, options.folder]);
  return readFileSync(archive);
}

/** Returns a zip with one member, written by duo-sea's own zip writer. */
export async function zipWith(name: string, data: Buffer): Promise<Buffer> {
  const folder = fixtureFolder('zip');
  const source = path.join(folder, 'member');
  writeFileSync(source, data);
  const archive = path.join(folder, 'release.zip');
  await writeZip({ sourcePath: source, name, sizeBytes: data.length, mtime: new Date(0) }, archive);
  return readFileSync(archive);
}
