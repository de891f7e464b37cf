import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { DuoSeaError } from './errors.js';

export type BinaryFormat = 'elf' | 'macho' | 'pe';
export type ArchiveType = 'tar.gz' | 'tar.xz' | 'zip';
export type SignStep = 'none' | 'macho-adhoc' | 'pe-unsign';

/** One supported OS/CPU pair, read from a file in `targets/`. */
export interface Target {
  id: string;
  /** Node's `process.platform` value, which is also npm's `--os`. */
  os: 'linux' | 'darwin' | 'win32';
  /** Node's `process.arch` value, which is also npm's `--cpu`. */
  arch: 'x64' | 'arm64';
  libc?: 'glibc' | 'musl';
  format: BinaryFormat;
  executableSuffix: string;
  archives: ArchiveType[];
  /** The npm registry package of Node base binaries; absent for targets that npm has none for (musl). */
  base?: { package: string; binaryPath: string };
  strip: { tool: 'llvm-strip' | 'none'; args: string[]; why: string };
  sign: SignStep;
  /** Commands that can run this target's binaries on another host, tried in order. */
  emulators?: string[];
}

const targetsDir = fileURLToPath(new URL('../targets/', import.meta.url));

let loadedTargets: readonly Target[] | undefined;

/** Orders ids by UTF-16 code units, so that `linux-x64` comes before `linux-x64-musl` whatever the locale. */
function compareIds(left: string, right: string): number {
  if (left < right) return -1;
  return left > right ? 1 : 0;
}

/** Returns every supported target, sorted by id. */
export function allTargets(): readonly Target[] {
  loadedTargets ??= readdirSync(targetsDir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(path.join(targetsDir, name), 'utf8')) as Target)
    .sort((left, right) => compareIds(left.id, right.id));
  return loadedTargets;
}

/** Returns the target with this id, or throws an error that lists the supported ids. */
export function findTarget(id: string): Target {
  const target = allTargets().find((candidate) => candidate.id === id);
  if (target) return target;
  const known = allTargets().map((candidate) => candidate.id).join(', ');
  throw new DuoSeaError({
    code: 'E_UNKNOWN_TARGET',
    stage: 'options',
    message: `Unknown target "${id}".`,
    input: id,
    expected: known,
    hint: `Use one of: ${known}.`,
  });
}

/** Returns the name of the executable file that a build writes for this target. */
export function executableName(bin: string, target: Target): string {
  return `${bin}-${target.id}${target.executableSuffix}`;
}

/**
 * Returns the target id of a host, or undefined for a host that no target
 * matches. The platform is a parameter so that tests cover every host.
 */
export function hostTargetId(platform: string, arch: string): string | undefined {
  const target = allTargets().find(
    (candidate) => candidate.os === platform && candidate.arch === arch && candidate.libc !== 'musl',
  );
  return target?.id;
}
