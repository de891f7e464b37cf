import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * OpenPGP signature checks through `gpgv`, GnuPG's verify-only tool: it
 * trusts every key in the keyrings it is given and nothing else, with no
 * trust database, agent or home folder.
 */

export type SignatureCheck =
  | {
      valid: true;
      /** Fingerprint of the primary key that made the signature, upper-case hex. */
      signingKey: string;
    }
  | {
      valid: false;
      /** Reason that gpgv rejected the signature, from its status lines. */
      reason: string;
    };

/** Thrown when gpgv is not installed; the caller turns it into an error with its own stage and hint. */
export class GpgvMissingError extends Error {
  constructor() {
    super('gpgv is not installed');
    this.name = 'GpgvMissingError';
  }
}

const ARMOR_BEGIN = /^-----BEGIN PGP PUBLIC KEY BLOCK-----\r?$/m;
const ARMOR_BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n([\s\S]*?)-----END PGP PUBLIC KEY BLOCK-----/g;

/**
 * Decodes every ASCII-armored public key block of a text into binary
 * OpenPGP packets (RFC 4880, section 6.2). Armor headers end at the first
 * blank line, and the line that starts with `=` is the CRC-24 of the data,
 * which the packets' own signatures make redundant here.
 */
export function dearmorPublicKeys(text: string): Buffer {
  const packets: Buffer[] = [];
  for (const match of text.matchAll(ARMOR_BLOCK)) {
    const lines = match[1].split(/\r?\n/);
    const blank = lines.findIndex((line) => line.trim() === '');
    const body = lines.slice(blank + 1).filter((line) => !line.startsWith('='));
    packets.push(Buffer.from(body.join(''), 'base64'));
  }
  return Buffer.concat(packets);
}

/**
 * Returns a keyring path that gpgv reads. gpgv takes binary keyrings and
 * keybox files as they are, but not ASCII-armored keys (`.asc`), so those
 * are decoded into a file in `workDir` first.
 */
export async function gpgvKeyring(keyringPath: string, workDir: string, index: number): Promise<string> {
  const head = (await readFile(keyringPath)).subarray(0, 4096).toString('latin1');
  if (!ARMOR_BEGIN.test(head)) return keyringPath;
  const decoded = path.join(workDir, `keyring-${index}.gpg`);
  await writeFile(decoded, dearmorPublicKeys(await readFile(keyringPath, 'utf8')));
  return decoded;
}

interface GpgvRun {
  exitCode: number;
  statusLines: string[];
  stderr: string;
}

function runGpgv(args: string[]): Promise<GpgvRun> {
  return new Promise((resolve, reject) => {
    // LC_ALL=C keeps gpgv's messages in English, since they end up in error messages.
    execFile('gpgv', ['--status-fd', '1', ...args], { env: { ...process.env, LC_ALL: 'C' }, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new GpgvMissingError());
        return;
      }
      let exitCode = 0;
      if (error) exitCode = typeof error.code === 'number' ? error.code : -1;
      const statusLines = stdout.split('\n').filter((line) => line.startsWith('[GNUPG:] '));
      resolve({ exitCode, statusLines, stderr });
    });
  });
}

/** Returns the reason for a rejected signature, from gpgv's status lines (GnuPG's doc/DETAILS) or its error output. */
function rejectionReason(run: GpgvRun): string {
  const keywords = new Map(run.statusLines.map((line) => [line.split(' ')[1], line.split(' ').slice(2)]));
  if (keywords.has('BADSIG')) return `BAD signature from key ${keywords.get('BADSIG')?.[0]}`;
  if (keywords.has('NO_PUBKEY')) return `signed by key ${keywords.get('NO_PUBKEY')?.[0]}, which is not in the keyring`;
  if (keywords.has('NODATA')) return 'no signature found in the signature file';
  const lastLine = run.stderr.trim().split('\n').pop() ?? '';
  return `gpgv exited with code ${run.exitCode}${lastLine ? `: ${lastLine.replace(/^gpgv: /, '')}` : ''}`;
}

/**
 * Checks an OpenPGP signature against the keyrings. A detached signature
 * needs `dataPath`. A clearsigned file needs `outputPath` instead: gpgv
 * writes the signed text there, and only that text is covered by the
 * signature.
 */
export async function verifySignature(options: { signaturePath: string; dataPath?: string; outputPath?: string; keyrings: string[] }): Promise<SignatureCheck> {
  const args = options.keyrings.flatMap((keyring) => ['--keyring', keyring]);
  if (options.outputPath) args.push('--output', options.outputPath);
  args.push(options.signaturePath);
  if (options.dataPath) args.push(options.dataPath);

  const run = await runGpgv(args);
  const validSignature = run.statusLines.find((line) => line.startsWith('[GNUPG:] VALIDSIG '));
  if (run.exitCode !== 0 || !validSignature) return { valid: false, reason: rejectionReason(run) };
  // VALIDSIG fields: signing key fingerprint, date, timestamp, expiry, version, reserved, algorithms, class, then the primary key fingerprint.
  const fields = validSignature.split(' ').slice(2);
  return { valid: true, signingKey: fields[9] ?? fields[0] };
}
