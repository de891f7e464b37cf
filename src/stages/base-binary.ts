import type { ContentCache } from '../cache.js';
import type { BaseSources } from '../base-sources/choose.js';
import { RegistrySource } from '../base-sources/registry.js';
import type { BaseBinary } from '../base-sources/source.js';
import type { Reporter } from '../events.js';
import type { Target } from '../targets.js';

export type { BaseBinary } from '../base-sources/source.js';
export { downloadBaseBinary, listBaseVersions, type DownloadedBinary } from '../base-sources/registry.js';

/**
 * Returns a target's verified Node base binary from the source that
 * `sources` chooses for it, or from the npm registry when no sources are
 * given.
 */
export async function fetchBaseBinary(options: {
  target: Target;
  nodeVersion: string;
  cache: ContentCache;
  checksumsDir: string;
  report: Reporter;
  cwd: string;
  sources?: BaseSources;
}): Promise<BaseBinary> {
  const source = options.sources?.forTarget(options.target) ?? new RegistrySource(options);
  return source.fetch(options.target);
}
