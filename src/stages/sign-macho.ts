import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuoSeaError, messageOf } from '../errors.js';
import { removeCodeSignature } from '../formats/macho.js';
import { describeCodeSignature, signAdhoc, verifyCodeSignature, type SignatureCheck } from '../formats/macho-sign.js';
import { CS_ADHOC } from '../formats/macho-signature.js';
import type { Target } from '../targets.js';

/** Signature of a macOS executable, as the manifest records it. */
export interface MachOSignature {
  /** `adhoc` for hashes only, made by duo-sea, or `certificate` for a signature that codesign made with a signing identity. */
  kind: 'adhoc' | 'certificate';
  identifier: string;
  cdhash: string;
}

export interface MachOSignOptions {
  /** Identifier written into the CodeDirectory, such as the bin name. */
  identifier: string;
  /** Keychain identity for `codesign --sign`. Without it duo-sea signs ad-hoc itself. */
  signIdentity?: string;
}

/**
 * Entitlements for a hardened-runtime signature. V8 needs JIT and writable
 * executable memory, and native addons that the program writes out at run
 * time are signed by others, so library validation is off. Node's own
 * release binaries (26.10.0) carry these and more; duo-sea leaves out
 * get-task-allow, which notarization rejects, and the DYLD_* variables.
 */
const HARDENED_RUNTIME_ENTITLEMENTS = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>com.apple.security.cs.allow-jit</key>
  <true/>
  <key>com.apple.security.cs.allow-unsigned-executable-memory</key>
  <true/>
  <key>com.apple.security.cs.disable-library-validation</key>
  <true/>
</dict>
</plist>
`;

function machOError(target: Target, filePath: string, message: string, cause?: unknown): DuoSeaError {
  return new DuoSeaError({
    code: 'E_SIGN_FAILED',
    stage: 'sign',
    target: target.id,
    input: filePath,
    message,
    hint: 'The base binary is not a thin macOS executable that duo-sea can sign; check the base source, and report the failure with the target and Node version.',
    cause,
  });
}

/**
 * Removes the code signature of the copied base binary before injection:
 * the signature would be stale afterwards, and with it gone __LINKEDIT ends
 * at the last data that injection has to move. Returns a note that names
 * the signature removed.
 */
export async function removeMachOSignature(target: Target, filePath: string): Promise<{ level: 'info'; message: string }[]> {
  try {
    const image = await readFile(filePath);
    const previous = describeCodeSignature(image);
    const unsigned = removeCodeSignature(image);
    if (!previous || unsigned === image) return [];
    await writeFile(filePath, unsigned);
    const signer = previous.kind === 'certificate' ? `a certificate${previous.teamId ? ` of team ${previous.teamId}` : ''}` : previous.kind;
    return [{ level: 'info', message: `removed the code signature of the base binary (${signer}, ${previous.sizeBytes} bytes)` }];
  } catch (error) {
    throw machOError(target, filePath, `Could not remove the code signature of ${filePath}: ${messageOf(error)}`, error);
  }
}

/**
 * Signs the executable after injection, ad-hoc or with codesign and a
 * signing identity, then reads the file back and recomputes every page
 * hash. A mismatch fails the build.
 */
export async function signMachO(target: Target, filePath: string, options: MachOSignOptions): Promise<MachOSignature> {
  if (options.signIdentity !== undefined) {
    await signWithCodesign(target, filePath, { identifier: options.identifier, signIdentity: options.signIdentity });
  } else {
    let signed: Buffer;
    try {
      signed = signAdhoc(await readFile(filePath), { identifier: options.identifier });
    } catch (error) {
      throw machOError(target, filePath, `Could not sign ${filePath}: ${messageOf(error)}`, error);
    }
    await writeFile(filePath, signed);
  }

  const check = await verifyWrittenSignature(target, filePath);
  const expectedKind = options.signIdentity === undefined ? 'adhoc' : 'certificate';
  if (check.kind !== expectedKind || check.identifier !== options.identifier || (expectedKind === 'adhoc') !== Boolean(check.flags & CS_ADHOC)) {
    throw new DuoSeaError({
      code: 'E_SIGN_FAILED',
      stage: 'sign',
      target: target.id,
      input: filePath,
      message: `The signature of ${filePath} is not the one requested.`,
      expected: `${expectedKind} signature with identifier ${options.identifier}`,
      found: `${check.kind} signature with identifier ${check.identifier}, flags 0x${check.flags.toString(16)}`,
      hint: 'Report the failure with the target and Node version.',
    });
  }
  return { kind: expectedKind, identifier: check.identifier, cdhash: check.cdhash };
}

async function verifyWrittenSignature(target: Target, filePath: string): Promise<SignatureCheck> {
  try {
    return verifyCodeSignature(await readFile(filePath));
  } catch (error) {
    throw new DuoSeaError({
      code: 'E_SIGN_FAILED',
      stage: 'sign',
      target: target.id,
      input: filePath,
      message: `The code signature of ${filePath} does not match the file: ${messageOf(error)}`,
      hint: 'macOS would refuse to start this executable. Report the failure with the target and Node version.',
      cause: error,
    });
  }
}

function runCodesign(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('codesign', args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => (error ? reject(Object.assign(error, { stderr })) : resolve({ stdout, stderr })));
  });
}

/**
 * Checks that `codesign` can be run, before a build spends minutes on a
 * target it could not sign. It exists on macOS only, with the Xcode command
 * line tools.
 */
export async function checkCodesignAvailable(target: Target, signIdentity: string): Promise<void> {
  try {
    await runCodesign(['--help']);
  } catch (error) {
    // codesign prints its usage and exits non-zero for --help, so only a missing program is an error here.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return;
    throw new DuoSeaError({
      code: 'E_TOOL_MISSING',
      stage: 'sign',
      target: target.id,
      input: `--macos-sign-identity ${signIdentity}`,
      message: 'codesign was not found on PATH. Signing with an identity needs it, and it exists only on macOS.',
      hint: 'Run the build on a Mac with the Xcode command line tools (xcode-select --install), or leave out --macos-sign-identity to sign ad-hoc.',
      cause: error,
    });
  }
}

/**
 * Signs with codesign and a keychain identity, with the hardened runtime
 * and a secure timestamp, which notarization requires. The timestamp needs
 * a connection to Apple's timestamp server.
 */
async function signWithCodesign(target: Target, filePath: string, options: { identifier: string; signIdentity: string }): Promise<void> {
  // NOTE: duo-sea's tests run on Linux, so this path has not yet signed a file with a real identity.
  await checkCodesignAvailable(target, options.signIdentity);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'duo-sea-codesign-'));
  const entitlementsPath = path.join(scratch, 'entitlements.plist');
  try {
    await writeFile(entitlementsPath, HARDENED_RUNTIME_ENTITLEMENTS);
    const signArgs = ['--force', '--sign', options.signIdentity, '--identifier', options.identifier, '--options', 'runtime', '--timestamp', '--entitlements', entitlementsPath, filePath];
    await runCodesign(signArgs);
    await runCodesign(['--verify', '--strict', '--verbose=2', filePath]);
  } catch (error) {
    throw new DuoSeaError({
      code: 'E_SIGN_FAILED',
      stage: 'sign',
      target: target.id,
      input: `--macos-sign-identity ${options.signIdentity}`,
      message: `codesign could not sign ${filePath}: ${((error as { stderr?: string }).stderr ?? '').trim() || messageOf(error)}`,
      hint: 'List the identities in the keychain with: security find-identity -v -p codesigning, and pass one of them by its name or SHA-1 hash.',
      cause: error,
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
