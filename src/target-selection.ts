import { checksumKey, pinnedSha256 } from './checksums.js';
import { DuoSeaError } from './errors.js';
import { listBaseVersions } from './stages/base-binary.js';
import { allTargets, type Target } from './targets.js';

export interface TargetSelection {
  targets: Target[];
  skipped: { target: string; reason: string }[];
}

async function isPinned(target: Target, nodeVersion: string, checksumsDir: string): Promise<boolean> {
  return (await pinnedSha256(checksumsDir, target.base.package, nodeVersion, target.base.binaryPath)) !== undefined;
}

async function whyUnavailable(target: Target, nodeVersion: string, cwd: string): Promise<string> {
  const versions = await listBaseVersions(target, cwd);
  if (!versions.includes(nodeVersion)) {
    const sameMajor = versions.filter((version) => version.split('.')[0] === nodeVersion.split('.')[0]);
    const nearby = sameMajor.length > 0 ? ` (it has ${sameMajor.slice(-3).join(', ')})` : '';
    return `the registry has no ${target.base.package}@${nodeVersion}${nearby}`;
  }
  return `no SHA-256 is pinned for ${checksumKey(target.base.package, nodeVersion, target.base.binaryPath)}`;
}

/**
 * Picks the targets to build. Requested targets must all have a pinned base
 * binary for the Node version. Without a request, every target that has one
 * is built, and the others are listed with the reason they were skipped.
 */
export async function selectTargets(options: {
  requested?: Target[];
  nodeVersion: string;
  checksumsDir: string;
  cwd: string;
}): Promise<TargetSelection> {
  const { nodeVersion, checksumsDir, cwd } = options;
  const candidates = options.requested ?? [...allTargets()];
  const targets: Target[] = [];
  const skipped: { target: string; reason: string }[] = [];
  for (const target of candidates) {
    if (await isPinned(target, nodeVersion, checksumsDir)) {
      targets.push(target);
      continue;
    }
    const reason = await whyUnavailable(target, nodeVersion, cwd);
    if (options.requested) {
      throw new DuoSeaError({
        code: reason.startsWith('no SHA-256') ? 'E_NOT_PINNED' : 'E_NO_BASE_BINARY',
        stage: 'targets',
        target: target.id,
        input: `${target.base.package}@${nodeVersion}`,
        message: `There is no Node ${nodeVersion} base binary for ${target.id}: ${reason}.`,
        hint: reason.startsWith('no SHA-256')
          ? `Pin it with: npm run pin-checksums -- ${nodeVersion}, or pass --checksums DIR.`
          : `Pick another --node version (npm view ${target.base.package} versions), or leave out --target ${target.id}.`,
      });
    }
    skipped.push({ target: target.id, reason });
  }
  if (targets.length === 0) {
    throw new DuoSeaError({
      code: 'E_NO_BASE_BINARY',
      stage: 'targets',
      input: nodeVersion,
      message: `No target has a pinned Node ${nodeVersion} base binary.`,
      hint: `Pin them with: npm run pin-checksums -- ${nodeVersion}, or pass a pinned --node version.`,
    });
  }
  return { targets, skipped };
}
