import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { DuoSeaError, messageOf } from '../errors.js';
import {
  computePeChecksum,
  PeFormatError,
  readAttributeCertificates,
  readPeLayout,
  WIN_CERT_REVISION_2_0,
  WIN_CERT_TYPE_PKCS_SIGNED_DATA,
  type AttributeCertificate,
} from '../formats/pe.js';
import type { Target } from '../targets.js';

/** Environment variable that contains the PFX password when the caller names none. */
export const DEFAULT_PFX_PASSWORD_ENV = 'DUO_SEA_PFX_PASSWORD';

const OSSLSIGNCODE = 'osslsigncode';

/** Time allowed for one osslsigncode run, which includes the request to the timestamp server. */
const SIGN_TIMEOUT_MS = 120_000;

/** DER encoding of OID 1.2.840.113549.1.7.2 (PKCS#7 SignedData), which starts an Authenticode ContentInfo. */
const SIGNED_DATA_OID_DER = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]);

/** Authenticode signing of Windows executables, as the caller requests it. */
export interface WindowsSignOptions {
  /** PKCS#12 file (.pfx or .p12) with the code signing key and its certificate chain. */
  pfxPath: string;
  /** Environment variable that contains the PFX password, DUO_SEA_PFX_PASSWORD by default. */
  passwordEnv?: string;
  /** URL of an RFC 3161 timestamp server. Without it the signature has no timestamp. */
  timestampUrl?: string;
}

/**
 * Checked signing settings. The password is in a private field, so that
 * printing or serializing the object does not show it.
 */
export class WindowsSigner {
  readonly pfxPath: string;
  readonly passwordEnv: string;
  readonly timestampUrl?: string;
  readonly #password: string;

  constructor(settings: { pfxPath: string; passwordEnv: string; timestampUrl?: string; password: string }) {
    this.pfxPath = settings.pfxPath;
    this.passwordEnv = settings.passwordEnv;
    this.timestampUrl = settings.timestampUrl;
    this.#password = settings.password;
  }

  get password(): string {
    return this.#password;
  }
}

function optionError(option: string, value: string, message: string, hint: string, cause?: unknown): DuoSeaError {
  return new DuoSeaError({ code: 'E_INVALID_OPTION', stage: 'options', input: `${option} ${value}`, message, hint, cause });
}

/**
 * Checks the signing options before the build starts, so that a missing
 * file, an unset or wrong password or a missing osslsigncode fails at once
 * and leaves nothing in the output folder.
 */
export function prepareWindowsSigning(options: WindowsSignOptions, context: { env: Record<string, string | undefined>; cwd: string }): WindowsSigner {
  const pfxPath = path.resolve(context.cwd, options.pfxPath);
  const pfx = readPfx(pfxPath);

  const passwordEnv = options.passwordEnv ?? DEFAULT_PFX_PASSWORD_ENV;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordEnv)) {
    throw optionError('--windows-sign-password-env', passwordEnv, `"${passwordEnv}" is not an environment variable name.`, `Pass a name such as ${DEFAULT_PFX_PASSWORD_ENV}.`);
  }
  const password = context.env[passwordEnv];
  if (password === undefined) {
    throw optionError(
      '--windows-sign-password-env',
      passwordEnv,
      `The environment variable ${passwordEnv} is not set, so the password of ${pfxPath} is unknown.`,
      `Set ${passwordEnv} to the PFX password (to an empty value for a PFX without one), or name another variable with --windows-sign-password-env.`,
    );
  }

  const timestampUrl = options.timestampUrl === undefined ? undefined : checkTimestampUrl(options.timestampUrl);
  checkOsslsigncode();
  checkPassword(pfx, { pfxPath, passwordEnv, password });
  return new WindowsSigner({ pfxPath, passwordEnv, timestampUrl, password });
}

function readPfx(pfxPath: string): Buffer {
  const option = '--windows-sign-pfx';
  const hint = 'Pass the path of a PKCS#12 file (.pfx or .p12) that contains the code signing key and certificate.';
  let isFile: boolean;
  try {
    isFile = statSync(pfxPath).isFile();
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw optionError(option, pfxPath, missing ? `The PFX file ${pfxPath} does not exist.` : `The PFX file ${pfxPath} cannot be read: ${messageOf(error)}`, hint, error);
  }
  if (!isFile) throw optionError(option, pfxPath, `${pfxPath} is not a file.`, hint);
  try {
    return readFileSync(pfxPath);
  } catch (error) {
    throw optionError(option, pfxPath, `The PFX file ${pfxPath} cannot be read: ${messageOf(error)}`, hint, error);
  }
}

function checkTimestampUrl(value: string): string {
  const hint = 'Pass the http:// or https:// URL of an RFC 3161 timestamp server, such as the internal TSA of an air-gapped site, or leave out --windows-sign-timestamp.';
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw optionError('--windows-sign-timestamp', value, `"${value}" is not a URL.`, hint, error);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw optionError('--windows-sign-timestamp', value, `The timestamp server URL ${value} uses ${url.protocol}, and osslsigncode supports only http and https.`, hint);
  }
  return value;
}

function checkOsslsigncode(): void {
  const probe = spawnSync(OSSLSIGNCODE, ['--version'], { encoding: 'utf8' });
  if (!probe.error) return;
  throw new DuoSeaError({
    code: 'E_TOOL_MISSING',
    stage: 'options',
    input: '--windows-sign-pfx',
    message: `${OSSLSIGNCODE} could not be started (${messageOf(probe.error)}), and signing Windows executables needs it.`,
    hint: 'Install osslsigncode (Debian and Ubuntu: apt-get install osslsigncode), or leave out --windows-sign-pfx.',
    cause: probe.error,
  });
}

/**
 * Opens the PFX with Node's OpenSSL to catch a wrong password before the
 * build. Only a failed MAC check means a wrong password. Other failures,
 * such as a PFX with legacy RC2 encryption that Node's OpenSSL 3 does not
 * load, are left to osslsigncode, which may still read the file.
 */
function checkPassword(pfx: Buffer, settings: { pfxPath: string; passwordEnv: string; password: string }): void {
  try {
    createSecureContext({ pfx, passphrase: settings.password });
  } catch (error) {
    if (!/mac verify failure/i.test(messageOf(error))) return;
    throw new DuoSeaError({
      code: 'E_SIGN_FAILED',
      stage: 'options',
      input: settings.pfxPath,
      message: `The password in ${settings.passwordEnv} does not open ${settings.pfxPath} (its MAC check failed).`,
      hint: `Set ${settings.passwordEnv} to the password the PFX was exported with.`,
    });
  }
}

export interface WindowsSignature {
  /** Size of the certificate table that signing appended. */
  certificateTableSizeBytes: number;
  /** True when osslsigncode left a stale PE checksum and duo-sea rewrote it. */
  checksumRewritten: boolean;
}

/**
 * Signs a finished Windows executable with osslsigncode and the PFX, with
 * an RFC 3161 timestamp when a server is set, then checks that the file has
 * one PKCS#7 signature and a correct PE checksum. The password reaches
 * osslsigncode through a file of mode 0600 in a private folder, removed
 * afterwards, never through its command line.
 */
export async function signWindowsExecutable(options: {
  target: Target;
  filePath: string;
  signer: WindowsSigner;
  /** Program name written into the signature, which Windows shows in the UAC prompt. */
  description: string;
  /** Build work folder that the password file is written in. */
  workDir: string;
}): Promise<WindowsSignature> {
  const { target, filePath, signer } = options;
  const signedPath = `${filePath}.signed`;
  const secretDir = await mkdtemp(path.join(options.workDir, 'osslsigncode-'));
  try {
    const args = ['sign', '-pkcs12', signer.pfxPath, '-h', 'sha256', '-n', options.description];
    // osslsigncode rejects an empty password file, and without -pass or -readpass it opens the PFX with an empty password.
    if (signer.password !== '') {
      const passwordFile = path.join(secretDir, 'password');
      await writeFile(passwordFile, signer.password, { mode: 0o600, flag: 'wx' });
      args.push('-readpass', passwordFile);
    }
    if (signer.timestampUrl) args.push('-ts', signer.timestampUrl);
    args.push('-in', filePath, '-out', signedPath);
    await runOsslsigncode(args, { target, filePath, signer });
    await rename(signedPath, filePath);
    await chmod(filePath, 0o755);
  } finally {
    await rm(secretDir, { recursive: true, force: true });
    await rm(signedPath, { force: true });
  }
  return checkSignedExecutable(target, filePath);
}

function runOsslsigncode(args: string[], context: { target: Target; filePath: string; signer: WindowsSigner }): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(OSSLSIGNCODE, args, { maxBuffer: 16 * 1024 * 1024, timeout: SIGN_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (!error) return resolve();
      const lines = `${stdout}\n${stderr}`.split('\n').map((line) => line.trim());
      const output = redact(lines.filter((line) => line !== '').join('\n'), context.signer.password);
      reject(signFailure(error, output, context));
    });
  });
}

/** Removes the password from text that goes into an error, in case a tool ever echoes it. */
function redact(text: string, password: string): string {
  return password === '' ? text : text.split(password).join('***');
}

function signFailure(error: Error & { killed?: boolean }, output: string, context: { target: Target; filePath: string; signer: WindowsSigner }): DuoSeaError {
  const { signer } = context;
  let message = `osslsigncode could not sign ${context.filePath}: ${output || messageOf(error)}`;
  let hint = `Check that ${signer.pfxPath} contains a code signing key and certificate, and try the same osslsigncode sign command by hand.`;
  if (error.killed) {
    message = `osslsigncode timed out after ${SIGN_TIMEOUT_MS / 1000} s while signing ${context.filePath}.`;
    hint = signer.timestampUrl ? `Check that the timestamp server ${signer.timestampUrl} responds from this host.` : hint;
  } else if (/wrong password|mac verify failure/i.test(output)) {
    message = `The password in ${signer.passwordEnv} does not open ${signer.pfxPath}.`;
    hint = `Set ${signer.passwordEnv} to the password the PFX was exported with.`;
  } else if (signer.timestampUrl && /timestamp|curl|connect|http/i.test(output)) {
    hint = `Check that the timestamp server ${signer.timestampUrl} accepts RFC 3161 requests from this host. In an air-gapped site, use its internal TSA.`;
  }
  return new DuoSeaError({ code: 'E_SIGN_FAILED', stage: 'sign', target: context.target.id, input: signer.pfxPath, message, hint, cause: error });
}

/**
 * Reads the signed file back: it must have exactly one certificate, a
 * PKCS#7 SignedData, and a correct PE checksum. osslsigncode 2.5 and 2.9
 * write the checksum themselves. When a version does not, it is rewritten
 * here, which leaves the signature valid because the Authenticode digest
 * skips the CheckSum field.
 */
async function checkSignedExecutable(target: Target, filePath: string): Promise<WindowsSignature> {
  const image = await readFile(filePath);
  let certificates: AttributeCertificate[];
  try {
    certificates = readAttributeCertificates(image);
  } catch (error) {
    if (!(error instanceof PeFormatError)) throw error;
    throw new DuoSeaError({
      code: 'E_SIGN_FAILED',
      stage: 'sign',
      target: target.id,
      input: filePath,
      message: `After signing, the certificate table of ${filePath} cannot be read: ${error.message}`,
      hint: 'Check the osslsigncode version (osslsigncode --version), and report the failure with it.',
      cause: error,
    });
  }
  const [certificate] = certificates;
  const isSignedData =
    certificates.length === 1 &&
    certificate.revision === WIN_CERT_REVISION_2_0 &&
    certificate.type === WIN_CERT_TYPE_PKCS_SIGNED_DATA &&
    certificate.content[0] === 0x30 &&
    certificate.content.subarray(0, 32).includes(SIGNED_DATA_OID_DER);
  if (!isSignedData) {
    throw new DuoSeaError({
      code: 'E_SIGN_FAILED',
      stage: 'sign',
      target: target.id,
      input: filePath,
      message: `After signing, ${filePath} does not contain one Authenticode signature.`,
      expected: 'one WIN_CERTIFICATE of revision 0x0200 and type PKCS_SIGNED_DATA',
      found: certificates.map((entry) => `revision 0x${entry.revision.toString(16)}, type ${entry.type}, ${entry.lengthBytes} bytes`).join('; ') || 'no certificate',
      hint: 'Check the osslsigncode version (osslsigncode --version), and report the failure with it.',
    });
  }

  const layout = readPeLayout(image);
  const checksum = computePeChecksum(image, layout.checksumOffset);
  const checksumRewritten = image.readUInt32LE(layout.checksumOffset) !== checksum;
  if (checksumRewritten) {
    image.writeUInt32LE(checksum, layout.checksumOffset);
    await writeFile(filePath, image);
  }
  return { certificateTableSizeBytes: layout.certificateTableSizeBytes, checksumRewritten };
}
