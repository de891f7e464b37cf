import type { BuildRequest } from './build-cache.js';

/**
 * esbuild ships its program as one optional dependency per platform
 * (@esbuild/linux-x64, @esbuild/darwin-arm64, ...), which its JavaScript
 * bin script spawns. One build for four targets serves the tests of
 * platform packages, helper programs and code cache.
 */
export const ESBUILD_FOUR_TARGETS: BuildRequest = {
  spec: 'esbuild@0.28.2',
  targets: ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win-x64'],
};

/** The @swc/core version given with `--with`: older than the newest 1.x, which npm installs for the peer range ^1.2.66. */
export const SWC_CORE_VERSION = '1.15.33';

/** @swc/cli, whose @swc/core peer loads its N-API addon from a platform package such as @swc/core-linux-x64-gnu. */
export const SWC_WITH_CORE: BuildRequest = { spec: '@swc/cli@0.8.2', bin: 'swc', withSpecs: [`@swc/core@${SWC_CORE_VERSION}`] };
