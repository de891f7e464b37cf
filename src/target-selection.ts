import type { BaseSources } from './base-sources/choose.js';
import { DuoSeaError } from './errors.js';
import { allTargets, type Target } from './targets.js';

export interface TargetSelection {
  targets: Target[];
  skipped: { target: string; reason: string }[];
}

/** Returns the targets built when none is requested: every target but the musl ones, which Alpine runners need only. */
export function defaultTargets(): Target[] {
  return allTargets().filter((target) => target.libc !== 'musl');
}

/**
 * Picks the targets to build. Each requested target must have a base
 * binary in the source chosen for it. Without a request, every default
 * target that has one is built, and the others are listed with the reason
 * they were skipped. A source that fails as a whole (an unreachable mirror,
 * a bad signature) is an error either way.
 */
export async function selectTargets(options: { requested?: Target[]; nodeVersion: string; sources: Pick<BaseSources, 'forTarget'> }): Promise<TargetSelection> {
  const { nodeVersion, sources } = options;
  const candidates = options.requested ?? defaultTargets();
  const targets: Target[] = [];
  const skipped: { target: string; reason: string }[] = [];
  for (const target of candidates) {
    const unavailable = await sources.forTarget(target).unavailable(target);
    if (!unavailable) {
      targets.push(target);
      continue;
    }
    if (options.requested) {
      throw new DuoSeaError({
        code: unavailable.code,
        stage: 'targets',
        target: target.id,
        input: unavailable.input,
        message: `There is no Node ${nodeVersion} base binary for ${target.id}: ${unavailable.reason}.`,
        hint: unavailable.hint,
      });
    }
    skipped.push({ target: target.id, reason: unavailable.reason });
  }
  if (targets.length === 0) {
    throw new DuoSeaError({
      code: 'E_NO_BASE_BINARY',
      stage: 'targets',
      input: nodeVersion,
      message: `No target has a Node ${nodeVersion} base binary: ${skipped.map((entry) => `${entry.target}: ${entry.reason}`).join('; ')}.`,
      hint: `Pin them with: npm run pin-checksums -- ${nodeVersion}, pass a --node version that the source has, or pass --target with a source for it.`,
    });
  }
  return { targets, skipped };
}
