import path from 'node:path';

/**
 * Node version of the base binaries when `--node` is not given: the newest
 * release of an LTS line with at least 12 more months of security support
 * that the registry packages have for linux-x64, linux-arm64, darwin-x64,
 * darwin-arm64 and win-x64. Node 26 is supported until April 2029; pin a
 * newer release only after `npm run pin-checksums -- VERSION` has pinned it.
 */
export const DEFAULT_NODE_VERSION = '26.10.0';

export const DEFAULT_OUT_DIR = 'dist';

export interface CacheDirInput {
  env: Record<string, string | undefined>;
  platform: string;
  homeDir: string;
}

/**
 * Returns the per-user cache folder of a platform: `$XDG_CACHE_HOME` or
 * `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on
 * Windows. Returns undefined when there is no home folder to put it in.
 */
export function userCacheRoot({ env, platform, homeDir }: CacheDirInput): string | undefined {
  const join = platform === 'win32' ? path.win32.join : path.posix.join;
  if (platform === 'win32') {
    if (env.LOCALAPPDATA) return env.LOCALAPPDATA;
    return homeDir ? join(homeDir, 'AppData', 'Local') : undefined;
  }
  if (platform === 'darwin') return homeDir ? join(homeDir, 'Library', 'Caches') : undefined;
  if (env.XDG_CACHE_HOME && path.posix.isAbsolute(env.XDG_CACHE_HOME)) return env.XDG_CACHE_HOME;
  return homeDir ? join(homeDir, '.cache') : undefined;
}

/** Returns the build cache folder: `DUO_SEA_CACHE`, else `duo-sea` in the user's cache folder. */
export function defaultBuildCacheDir(input: CacheDirInput): string {
  if (input.env.DUO_SEA_CACHE) return input.env.DUO_SEA_CACHE;
  const root = userCacheRoot(input);
  const join = input.platform === 'win32' ? path.win32.join : path.posix.join;
  return root ? join(root, 'duo-sea') : join(process.cwd(), '.cache', 'duo-sea');
}
