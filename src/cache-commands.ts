import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { cleanCache, type CleanMode } from './cache/clean.js';
import { listCache } from './cache/list.js';
import { renderCacheListing, renderCleanResult } from './cache/render.js';
import { defaultBuildCacheDir, userCacheRoot } from './defaults.js';
import { DuoSeaError, isDuoSeaError } from './errors.js';

interface CacheCommandOptions {
  cache?: string;
  json?: boolean;
}

interface CleanCommandOptions extends CacheCommandOptions {
  all?: boolean;
  olderThan?: string;
}

/** Returns the cache folder to work on and the folder where executables write out files at run time. */
function cacheFolders(flags: CacheCommandOptions): { cacheDir: string; runDir?: string } {
  const input = { env: process.env, platform: process.platform, homeDir: os.homedir() };
  const root = userCacheRoot(input);
  return {
    cacheDir: path.resolve(flags.cache ?? defaultBuildCacheDir(input)),
    runDir: root === undefined ? undefined : path.join(root, 'duo-sea', 'run'),
  };
}

/** Turns the clean flags into a mode; --all and --older-than exclude each other. */
export function cleanMode(flags: CleanCommandOptions): CleanMode {
  if (flags.all && flags.olderThan !== undefined) {
    throw new DuoSeaError({
      code: 'E_INVALID_OPTION',
      stage: 'options',
      input: `--all --older-than ${flags.olderThan}`,
      message: '--all removes every entry, so --older-than has nothing left to choose.',
      hint: 'Pass one of the two.',
    });
  }
  if (flags.all) return { kind: 'all' };
  if (flags.olderThan === undefined) return { kind: 'unused' };
  const days = Number(flags.olderThan);
  if (!/^\d+(\.\d+)?$/.test(flags.olderThan) || !Number.isFinite(days)) {
    throw new DuoSeaError({
      code: 'E_INVALID_OPTION',
      stage: 'options',
      input: `--older-than ${flags.olderThan}`,
      message: `"${flags.olderThan}" is not a number of days.`,
      hint: 'Pass a number of days, such as --older-than 30.',
    });
  }
  return { kind: 'older-than', days };
}

/** Adds `duo-sea cache ls` and `duo-sea cache clean` to the program. */
export function registerCacheCommand(program: Command, helpers: { reportFailure: (error: unknown) => void }): void {
  const cache = program.command('cache').description('List or clean the build cache: base binaries, stripped binaries, injected executables, archives, index records and temporary files.');
  const cacheOption = '--cache <dir>';
  const cacheHelp = 'cache folder (default: $DUO_SEA_CACHE, else duo-sea in the user cache folder)';

  cache
    .command('ls')
    .description('List the cache by kind, with each entry\'s size, last use and origin, and the total.')
    .option(cacheOption, cacheHelp)
    .option('--json', 'print the listing as JSON on stdout')
    .action(async (flags: CacheCommandOptions) => {
      try {
        const listing = await listCache(cacheFolders(flags));
        process.stdout.write(flags.json ? `${JSON.stringify(listing, null, 2)}\n` : renderCacheListing(listing));
      } catch (error) {
        helpers.reportFailure(error);
      }
    });

  cache
    .command('clean')
    .description('Remove what no build can use (files of ended processes, records of removed entries), or with --older-than or --all, entries too. Run-time extractions and other folders stay.')
    .option(cacheOption, cacheHelp)
    .option('--all', 'remove the whole build cache')
    .option('--older-than <days>', 'also remove entries not used in this many days')
    .option('--json', 'print what was removed as JSON on stdout')
    .action(async (flags: CleanCommandOptions) => {
      try {
        const result = await cleanCache({ ...cacheFolders(flags), mode: cleanMode(flags) });
        process.stdout.write(flags.json ? `${JSON.stringify({ ok: true, cacheDir: result.cacheDir, removed: result.removed, freedBytes: result.freedBytes }, null, 2)}\n` : renderCleanResult(result));
      } catch (error) {
        helpers.reportFailure(error);
        if (flags.json && isDuoSeaError(error)) process.stdout.write(`${JSON.stringify({ ok: false, error: error.toJSON() }, null, 2)}\n`);
      }
    });
}
