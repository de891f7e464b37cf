import type { Target } from '../targets.js';

/**
 * File names in a Node.js release folder (`v<version>/`) as nodejs.org and
 * Node's unofficial builds lay them out. SHASUMS256.txt lists each file by
 * this name, relative to the release folder.
 */

export const CHECKSUM_LIST_FILE = 'SHASUMS256.txt';
/** Signatures of the checksum list, in the order they are tried: detached binary, then clearsigned text. */
export const CHECKSUM_SIGNATURE_FILES = [
  { file: 'SHASUMS256.txt.sig', kind: 'detached' },
  { file: 'SHASUMS256.txt.asc', kind: 'clearsigned' },
] as const;

export type ArtifactType = 'tar.xz' | 'tar.gz' | 'zip' | 'exe';

/** One file of a release that contains, or is, a target's Node binary. */
export interface DistArtifact {
  /** Path relative to the release folder, as SHASUMS256.txt lists it. */
  file: string;
  type: ArtifactType;
  /** Path of the binary inside the archive; undefined for a bare `node.exe`. */
  member?: string;
}

/**
 * Returns the platform part of Node's file names: `linux-x64`,
 * `linux-x64-musl`, `darwin-arm64`, `win-x64`. Node's file names call
 * Windows `win`, where Node's `process.platform` is `win32`.
 */
export function distPlatform(target: Target): string {
  const os = target.os === 'win32' ? 'win' : target.os;
  const libc = target.libc === 'musl' ? '-musl' : '';
  return `${os}-${target.arch}${libc}`;
}

/** Returns every release file that can hold the target's binary, best first for a host that has `xz`. */
export function distArtifacts(target: Target, nodeVersion: string): DistArtifact[] {
  const folder = `node-v${nodeVersion}-${distPlatform(target)}`;
  if (target.os === 'win32') {
    return [
      { file: `${distPlatform(target)}/node.exe`, type: 'exe' },
      { file: `${folder}.zip`, type: 'zip', member: `${folder}/node.exe` },
    ];
  }
  return [
    { file: `${folder}.tar.xz`, type: 'tar.xz', member: `${folder}/bin/node` },
    { file: `${folder}.tar.gz`, type: 'tar.gz', member: `${folder}/bin/node` },
  ];
}

/** Returns the URL of a file in the release folder of `nodeVersion` under a mirror's base URL. */
export function releaseFileUrl(mirrorUrl: string, nodeVersion: string, file: string): string {
  const base = mirrorUrl.endsWith('/') ? mirrorUrl : `${mirrorUrl}/`;
  return new URL(`v${nodeVersion}/${file}`, base).href;
}
