import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ContentCache } from '../cache.js';
import { parseChecksumList } from '../checksums.js';
import { downloadBytes, publicUrl } from '../download.js';
import { DuoSeaError } from '../errors.js';
import type { Reporter } from '../events.js';
import { GpgvMissingError, gpgvKeyring, verifySignature, type SignatureCheck } from '../openpgp.js';
import { CHECKSUM_LIST_FILE, CHECKSUM_SIGNATURE_FILES, releaseFileUrl } from './dist-layout.js';
import type { ChecksumListRecord } from './source.js';

/** Largest checksum list or signature accepted; Node 26's SHASUMS256.txt is about 4 KiB. */
const MAX_LIST_BYTES = 1024 * 1024;

export interface MirrorSettings {
  /** Base URL that holds the `v<version>/` release folders. */
  url: string;
  /**
   * `release`: nodejs.org's layout, whose checksum lists Node's releasers
   * sign. `unofficial`: Node's unofficial builds (musl). A machine, not a
   * person, publishes those, so they are not signed.
   */
  channel: 'release' | 'unofficial';
  /** Absolute paths of OpenPGP keyrings that a signature must verify against; empty when none was given. */
  keyrings: string[];
  /** False when signature checks are turned off (--no-node-signature-check). */
  signatureCheck: boolean;
}

export interface VerifiedChecksumList {
  /** SHA-256 by file name relative to the release folder. */
  sums: Map<string, string>;
  record: ChecksumListRecord;
}

interface FoundSignature {
  file: string;
  kind: 'detached' | 'clearsigned';
  bytes: Buffer;
  url: string;
}

const STAGE = 'base-binary';

function mirrorHint(mirror: MirrorSettings, nodeVersion: string): string {
  const option = mirror.channel === 'release' ? '--node-mirror (or NODEJS_ORG_MIRROR)' : '--node-unofficial-mirror';
  return `Check that ${publicUrl(mirror.url)} is reachable from this machine and has a v${nodeVersion}/ folder, or fix ${option} or --node.`;
}

/**
 * Downloads a release's SHASUMS256.txt and authenticates it:
 *
 * | signature on the mirror | keyring given | result                                          |
 * | yes                     | yes           | gpgv must accept it                             |
 * | yes                     | no            | error, unless signature checks are turned off   |
 * | no                      | yes           | error for `release`; a warning for `unofficial` |
 * | no                      | no            | a warning                                       |
 */
export async function loadChecksumList(options: { mirror: MirrorSettings; nodeVersion: string; cache: ContentCache; report: Reporter }): Promise<VerifiedChecksumList> {
  const { mirror, nodeVersion, report } = options;
  const listUrl = releaseFileUrl(mirror.url, nodeVersion, CHECKSUM_LIST_FILE);
  const shownUrl = publicUrl(listUrl);
  const context = { stage: STAGE, hint: mirrorHint(mirror, nodeVersion) };
  const listBytes = await downloadBytes({ ...context, url: listUrl, maxBytes: MAX_LIST_BYTES });
  const sums = parseChecksumList(listBytes.toString('utf8'));

  if (!mirror.signatureCheck) {
    report({ kind: 'warning', message: `the signature of ${shownUrl} is not checked (--no-node-signature-check)` });
    return { sums, record: { url: shownUrl, signature: 'not-checked' } };
  }

  const signature = await findSignature(mirror, nodeVersion, context);
  if (!signature) return unsignedList({ mirror, sums, shownUrl, report });

  if (mirror.keyrings.length === 0) {
    throw new DuoSeaError({
      code: 'E_KEYRING_MISSING',
      stage: STAGE,
      input: publicUrl(signature.url),
      message: `${shownUrl} is signed (${signature.file}), and no keyring was given to check the signature against.`,
      hint: "Pass --node-keyring FILE with Node's release keys (see the README), or --no-node-signature-check to trust the list without checking it.",
    });
  }

  const verified = await verifyListSignature({ ...options, listBytes, signature });
  if (!verified.check.valid) {
    throw new DuoSeaError({
      code: 'E_SIGNATURE_INVALID',
      stage: STAGE,
      input: publicUrl(signature.url),
      message: `The signature ${publicUrl(signature.url)} does not verify ${shownUrl} against the keyring: ${verified.check.reason}.`,
      expected: `a good signature by a key in ${mirror.keyrings.join(', ')}`,
      found: verified.check.reason,
      hint: 'Do not use this mirror until its files match what Node.js published; if the key is new, add it to the keyring.',
    });
  }
  return { sums: verified.sums ?? sums, record: { url: shownUrl, signature: 'verified', signingKey: verified.check.signingKey } };
}

/** Returns the first signature file that the release folder has, or undefined when it has none (HTTP 404 for each). */
async function findSignature(mirror: MirrorSettings, nodeVersion: string, context: { stage: string; hint: string }): Promise<FoundSignature | undefined> {
  for (const candidate of CHECKSUM_SIGNATURE_FILES) {
    const url = releaseFileUrl(mirror.url, nodeVersion, candidate.file);
    const bytes = await downloadBytes({ ...context, url, maxBytes: MAX_LIST_BYTES, optional: true });
    if (bytes) return { ...candidate, bytes, url };
  }
  return undefined;
}

function unsignedList(options: { mirror: MirrorSettings; sums: Map<string, string>; shownUrl: string; report: Reporter }): VerifiedChecksumList {
  const { mirror, shownUrl } = options;
  if (mirror.keyrings.length > 0 && mirror.channel === 'release') {
    const signatureNames = CHECKSUM_SIGNATURE_FILES.map((candidate) => candidate.file).join(' or ');
    throw new DuoSeaError({
      code: 'E_SIGNATURE_MISSING',
      stage: STAGE,
      input: shownUrl,
      message: `${shownUrl} has no signature (${signatureNames}) next to it, and --node-keyring asks for one.`,
      expected: signatureNames,
      found: 'HTTP 404 for each',
      hint: 'Make the mirror copy the signature files of each release folder, or leave out --node-keyring to accept unsigned checksum lists.',
    });
  }
  const reason = mirror.channel === 'unofficial' ? "Node's unofficial builds are not signed" : 'the mirror serves no signature';
  options.report({ kind: 'warning', message: `${shownUrl} is not signed (${reason}); base binaries are checked against it alone` });
  return { sums: options.sums, record: { url: shownUrl, signature: 'unsigned' } };
}

/**
 * Runs gpgv on the downloaded files in a private folder. For a clearsigned
 * list, the signed text is what counts, so it must list the same files and
 * hashes as the plain SHASUMS256.txt.
 */
async function verifyListSignature(options: {
  mirror: MirrorSettings;
  cache: ContentCache;
  listBytes: Buffer;
  signature: FoundSignature;
}): Promise<{ check: SignatureCheck; sums?: Map<string, string> }> {
  const { mirror, signature } = options;
  const workDir = await options.cache.tempPath('signature');
  await mkdir(workDir, { mode: 0o700 });
  try {
    const keyrings = await Promise.all(mirror.keyrings.map((keyring, index) => gpgvKeyring(keyring, workDir, index)));
    const signaturePath = path.join(workDir, signature.file);
    await writeFile(signaturePath, signature.bytes);
    if (signature.kind === 'detached') {
      const dataPath = path.join(workDir, CHECKSUM_LIST_FILE);
      await writeFile(dataPath, options.listBytes);
      return { check: await runVerification({ signaturePath, dataPath, keyrings }) };
    }

    const outputPath = path.join(workDir, 'signed-text');
    const check = await runVerification({ signaturePath, outputPath, keyrings });
    if (!check.valid) return { check };
    const signedSums = parseChecksumList(await readFile(outputPath, 'utf8'));
    if (!sameSums(signedSums, parseChecksumList(options.listBytes.toString('utf8')))) {
      return { check: { valid: false, reason: `the signed text of ${signature.file} lists other files or hashes than ${CHECKSUM_LIST_FILE}` } };
    }
    return { check, sums: signedSums };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function runVerification(options: Parameters<typeof verifySignature>[0]): Promise<SignatureCheck> {
  try {
    return await verifySignature(options);
  } catch (error) {
    if (!(error instanceof GpgvMissingError)) throw error;
    throw new DuoSeaError({
      code: 'E_TOOL_MISSING',
      stage: STAGE,
      input: 'gpgv',
      message: 'gpgv is not installed, and it checks the signature of the checksum list against --node-keyring.',
      hint: 'Install it (Debian: apt-get install gpgv), or leave out --node-keyring and pass --no-node-signature-check.',
      cause: error,
    });
  }
}

function sameSums(left: Map<string, string>, right: Map<string, string>): boolean {
  return left.size === right.size && [...left].every(([file, sha256]) => right.get(file) === sha256);
}
