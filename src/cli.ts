#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { build } from './build.js';
import { createProgressRenderer, renderError, renderResultTable } from './cli-render.js';
import { DEFAULT_NODE_VERSION, DEFAULT_OUT_DIR } from './defaults.js';
import { isDuoSeaError, type ErrorCode } from './errors.js';
import { allTargets, type ArchiveType } from './targets.js';

/** Exit code for a failure caused by a bug in duo-sea, from BSD sysexits (EX_SOFTWARE). */
const EXIT_INTERNAL_ERROR = 70;
const EXIT_INTERRUPTED = 130;

/** Exit code for a command-line usage error, as in BSD sysexits' EX_USAGE family and most CLIs. */
const EXIT_USAGE = 2;

/** Error codes that mean the command line itself is wrong, so the exit code is the usage one. */
const USAGE_ERROR_CODES = new Set<ErrorCode>(['E_INVALID_OPTION', 'E_UNKNOWN_TARGET']);

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

interface BuildCommandOptions {
  bin?: string;
  target?: string[];
  node?: string;
  out?: string;
  cache?: string;
  checksums?: string;
  with?: string[];
  ignoreEngines?: boolean;
  archive?: string[];
  nodeOption?: string[];
  json?: boolean;
}

async function runBuild(spec: string, flags: BuildCommandOptions): Promise<void> {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    process.stderr.write('duo-sea: interrupted, removing partial output (press Ctrl-C again to exit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await build({
      spec,
      bin: flags.bin,
      targets: flags.target,
      nodeVersion: flags.node,
      outDir: flags.out,
      cacheDir: flags.cache,
      checksumsDir: flags.checksums,
      withSpecs: flags.with,
      ignoreEngines: flags.ignoreEngines,
      archiveTypes: flags.archive as ArchiveType[] | undefined,
      nodeOptions: flags.nodeOption,
      report: createProgressRenderer(process.stderr),
      signal: controller.signal,
    });
    if (flags.json) {
      process.stdout.write(
        JSON.stringify({ ok: true, outDir: result.outDir, files: result.files, skippedTargets: result.skippedTargets, manifest: result.manifest }, null, 2) + '\n',
      );
    } else {
      process.stdout.write(renderResultTable(result));
    }
  } catch (error) {
    if (controller.signal.aborted) {
      process.exitCode = EXIT_INTERRUPTED;
      return;
    }
    if (!isDuoSeaError(error)) throw error;
    process.stderr.write(renderError(error));
    if (flags.json) process.stdout.write(JSON.stringify({ ok: false, error: error.toJSON() }, null, 2) + '\n');
    process.exitCode = USAGE_ERROR_CODES.has(error.code) ? EXIT_USAGE : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function toolVersion(): string {
  const manifestPath = fileURLToPath(new URL('../package.json', import.meta.url));
  return (JSON.parse(readFileSync(manifestPath, 'utf8')) as { version: string }).version;
}

const targetIds = allTargets().map((target) => target.id);
const program = new Command('duo-sea')
  .version(toolVersion(), '-V, --version', 'print the duo-sea version')
  .description('Build self-contained executables of a Node.js command-line program, one per OS and CPU.')
  .showHelpAfterError()
  .exitOverride((error) => {
    // Help and version output exit 0; every other commander error is a usage error.
    process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
  });

program
  .command('build')
  .description('Build one executable per target, with archives, SHA256SUMS, manifest.json and a size report.')
  .argument('<package>', 'npm spec (name@version), a .tgz made by npm pack, or a package folder')
  .option('--bin <name>', 'bin entry to package (default: the only one, or the one named like the package)')
  .addOption(
    new Option('--target <id>', `target to build, repeatable: ${targetIds.join(', ')} (default: every target with a base binary)`)
      .argParser(collect),
  )
  .option('--node <version>', `Node version of the base binaries (default: ${DEFAULT_NODE_VERSION})`)
  .option('--out <dir>', `output folder (default: ${DEFAULT_OUT_DIR})`)
  .option('--cache <dir>', 'cache folder (default: $DUO_SEA_CACHE, else duo-sea in the user cache folder)')
  .option('--checksums <dir>', 'folder of pinned base binary checksums (default: the one shipped with duo-sea)')
  .addOption(new Option('--with <spec>', 'package installed beside the program, repeatable').argParser(collect))
  .addOption(new Option('--archive <type>', 'archive type to write, repeatable: tar.gz, tar.xz, zip (default: every type the target offers)').argParser(collect))
  .addOption(
    new Option('--node-option <option>', 'Node option every start of the executable gets, such as --node-option=--max-old-space-size=4096; repeatable').argParser(
      collect,
    ),
  )
  .option('--ignore-engines', "build even if the Node version does not satisfy the program's engines.node")
  .option('--json', 'print a machine-readable summary on stdout')
  .action(runBuild);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`duo-sea: internal error, please report it:\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = EXIT_INTERNAL_ERROR;
});
