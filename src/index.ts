export { build, type BuildResult } from './build.js';
export type { BuildOptions } from './options.js';
export { DuoSeaError, isDuoSeaError, type ErrorCode } from './errors.js';
export type { BuildEvent, Reporter } from './events.js';
export { allTargets, findTarget, type Target } from './targets.js';
export { DEFAULT_NODE_VERSION } from './defaults.js';
