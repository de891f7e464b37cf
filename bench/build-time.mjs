import { rm } from 'node:fs/promises';
import path from 'node:path';
import { buildWithDuoSea } from './tools.mjs';

/**
 * Builds one program for one target and for all default targets, each
 * first with an empty duo-sea cache (cold: base binaries are downloaded and
 * stripped) and then again with that cache (warm). npm's own cache stays as
 * it is in both. Returns the four builds. The output and the cache of the
 * warm build of all targets are kept for the size measurements, the rest
 * is removed.
 */
export async function measureBuildTimes(options) {
  const scopes = [
    { id: 'one', targets: [options.oneTarget] },
    { id: 'all', targets: options.allTargets },
  ];
  const builds = {};
  for (const scope of scopes) {
    const cacheDir = path.join(options.workDir, 'build-time', `cache-${scope.id}`);
    await rm(cacheDir, { recursive: true, force: true });
    for (const temperature of ['cold', 'warm']) {
      const outDir = path.join(options.workDir, 'build-time', `out-${scope.id}-${temperature}`);
      options.log(`build time: duo-sea ${options.spec}, ${scope.targets.length} target(s), ${temperature} cache`);
      const build = await buildWithDuoSea({ ...options, targets: scope.targets, outDir, cacheDir });
      if (build.error) throw new Error(`duo-sea build for the build-time measurement failed: ${build.error}`);
      builds[`${scope.id}-${temperature}`] = { ...build, targets: scope.targets, loadAverageAfter: options.loadAverage() };
    }
    await rm(path.join(options.workDir, 'build-time', `out-${scope.id}-cold`), { recursive: true, force: true });
    if (scope.id === 'one') {
      await rm(path.join(options.workDir, 'build-time', 'out-one-warm'), { recursive: true, force: true });
      await rm(cacheDir, { recursive: true, force: true });
    }
  }
  return { builds, cacheDir: path.join(options.workDir, 'build-time', 'cache-all') };
}
