import { existsSync } from 'node:fs';
import path from 'node:path';
import { DuoSeaError } from '../errors.js';
import { allTargets } from '../targets.js';

/** Sources of base binaries besides the npm registry, as the library API takes them. */
export interface BaseSourceInput {
  /** Node.js distribution mirror in nodejs.org's layout, such as `https://nodejs.org/dist`; `NODEJS_ORG_MIRROR` when unset. */
  nodeMirror?: string;
  /** Mirror of Node's unofficial builds, the source of musl targets. */
  nodeUnofficialMirror?: string;
  /** Node binary file by target id; it replaces every other source for that target. */
  nodeBinaries?: Record<string, string>;
  /** OpenPGP keyrings (binary, keybox or ASCII-armored) that a mirror's signed checksum list must verify against. */
  nodeKeyrings?: string[];
  /** False to use a mirror's checksum lists without checking their signatures. Default: true. */
  nodeSignatureCheck?: boolean;
}

/** The checked form of BaseSourceInput, with absolute paths. */
export interface BaseSourceOptions {
  nodeMirror?: string;
  nodeUnofficialMirror?: string;
  nodeBinaries: Map<string, string>;
  nodeKeyrings: string[];
  nodeSignatureCheck: boolean;
}

/** The environment variable that node-gyp and other Node tools read as the nodejs.org mirror. */
export const MIRROR_ENVIRONMENT_VARIABLE = 'NODEJS_ORG_MIRROR';

function invalidOption(option: string, value: string, message: string, hint: string): DuoSeaError {
  return new DuoSeaError({ code: 'E_INVALID_OPTION', stage: 'options', input: `${option} ${value}`, message, hint });
}

function checkMirrorUrl(option: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // new URL() throws a TypeError without the value; the error below names it.
    throw invalidOption(option, value, `"${value}" is not a URL.`, 'Pass the URL of the folder that holds the v<version>/ release folders, such as https://nodejs.org/dist.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidOption(option, value, `${option} must be an http or https URL, not ${url.protocol}.`, 'Serve the mirror over HTTP(S), or pass each binary with --node-binary TARGET=PATH.');
  }
  return value;
}

function checkNodeBinaries(nodeBinaries: Record<string, string>, cwd: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const [targetId, file] of Object.entries(nodeBinaries)) {
    if (!allTargets().some((target) => target.id === targetId)) {
      const known = allTargets().map((target) => target.id).join(', ');
      throw new DuoSeaError({
        code: 'E_UNKNOWN_TARGET',
        stage: 'options',
        input: `--node-binary ${targetId}=${file}`,
        message: `--node-binary names the unknown target "${targetId}".`,
        expected: known,
        hint: `Use one of: ${known}.`,
      });
    }
    const absolute = path.resolve(cwd, file);
    if (!existsSync(absolute)) {
      throw invalidOption('--node-binary', `${targetId}=${file}`, `The Node binary ${absolute} for ${targetId} does not exist.`, 'Pass the path of an existing Node binary file.');
    }
    files.set(targetId, absolute);
  }
  return files;
}

/** Checks the base binary source options; a flag wins over NODEJS_ORG_MIRROR. */
export function normalizeBaseSourceOptions(input: BaseSourceInput, env: Record<string, string | undefined>, cwd: string): BaseSourceOptions {
  const mirrorFromEnvironment = env[MIRROR_ENVIRONMENT_VARIABLE] || undefined;
  const nodeMirror =
    input.nodeMirror !== undefined
      ? checkMirrorUrl('--node-mirror', input.nodeMirror)
      : mirrorFromEnvironment && checkMirrorUrl(MIRROR_ENVIRONMENT_VARIABLE, mirrorFromEnvironment);
  const nodeUnofficialMirror = input.nodeUnofficialMirror === undefined ? undefined : checkMirrorUrl('--node-unofficial-mirror', input.nodeUnofficialMirror);

  const nodeKeyrings = (input.nodeKeyrings ?? []).map((keyring) => path.resolve(cwd, keyring));
  for (const keyring of nodeKeyrings) {
    if (!existsSync(keyring)) throw invalidOption('--node-keyring', keyring, `The keyring ${keyring} does not exist.`, "Pass a file with Node's release keys, as the README describes.");
  }
  const nodeSignatureCheck = input.nodeSignatureCheck ?? true;
  if (!nodeSignatureCheck && nodeKeyrings.length > 0) {
    throw invalidOption('--no-node-signature-check', '', '--no-node-signature-check turns off the signature check that --node-keyring asks for.', 'Pass one of the two, not both.');
  }
  if (nodeKeyrings.length > 0 && !nodeMirror && !nodeUnofficialMirror) {
    throw invalidOption('--node-keyring', nodeKeyrings.join(' '), '--node-keyring checks the signatures of a mirror, and no mirror was given.', `Pass --node-mirror URL (or set ${MIRROR_ENVIRONMENT_VARIABLE}), or leave out --node-keyring.`);
  }

  return { nodeMirror, nodeUnofficialMirror, nodeBinaries: checkNodeBinaries(input.nodeBinaries ?? {}, cwd), nodeKeyrings, nodeSignatureCheck };
}

/** Parses repeated `--node-binary TARGET=PATH` values into a map by target id. */
export function parseNodeBinaryArguments(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined;
  const files: Record<string, string> = {};
  for (const value of values) {
    const separator = value.indexOf('=');
    if (separator <= 0 || separator === value.length - 1) {
      throw invalidOption('--node-binary', value, `"${value}" is not TARGET=PATH.`, 'Pass one target and its Node binary, such as --node-binary linux-x64=./node-v26.10.0-linux-x64/bin/node.');
    }
    const targetId = value.slice(0, separator);
    if (targetId in files) throw invalidOption('--node-binary', value, `--node-binary names ${targetId} twice.`, 'Pass one file per target.');
    files[targetId] = value.slice(separator + 1);
  }
  return files;
}
