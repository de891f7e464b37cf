#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { assembleRelease } from './assemble.js';
import { parseNodeBinaryArguments } from './base-sources/options.js';
import { build } from './build.js';
import { createProgressRenderer, renderError, renderResultTable } from './cli-render.js';
import { DEFAULT_NODE_VERSION, DEFAULT_OUT_DIR } from './defaults.js';
import { DuoSeaError, isDuoSeaError, noSpaceError, type ErrorCode } from './errors.js';
import { DEFAULT_PFX_PASSWORD_ENV, type WindowsSignOptions } from './stages/sign-windows.js';
import { CHECKSUM_LIST_FILE } from './stages/checksum-list.js';
import { allTargets, type ArchiveType } from './targets.js';
import { publish } from './publish/publish.js';
import { renderPublishResult } from './publish/render.js';
import { renderVerifyResult, verifyRelease } from './verify.js';
import { registerCacheCommand } from './cache-commands.js';
import { registerFetchCommand } from './kit/command.js';

/** Exit code for a failure caused by a bug in duo-sea, from BSD sysexits (EX_SOFTWARE). */
const EXIT_INTERNAL_ERROR = 70;
/** Exit codes after SIGINT and SIGTERM: 128 plus the signal number, as shells report them. */
const EXIT_INTERRUPTED = 130;
const EXIT_TERMINATED = 143;

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
  codeCache?: boolean;
  reuse?: boolean;
  archive?: string[];
  nodeOption?: string[];
  nodeMirror?: string;
  nodeUnofficialMirror?: string;
  nodeBinary?: string[];
  nodeKeyring?: string[];
  nodeSignatureCheck?: boolean;
  macosSignIdentity?: string;
  windowsSignPfx?: string;
  windowsSignPasswordEnv?: string;
  windowsSignTimestamp?: string;
  kit?: string;
  offline?: boolean;
  keepSourceMaps?: boolean;
  keep?: string[];
  minify?: boolean;
  icuLocales?: string[];
  json?: boolean;
}

/** Collects the --windows-sign-* flags. The password and timestamp flags are an error without a PFX. */
function windowsSignOptions(flags: BuildCommandOptions): WindowsSignOptions | undefined {
  if (flags.windowsSignPfx !== undefined) {
    return { pfxPath: flags.windowsSignPfx, passwordEnv: flags.windowsSignPasswordEnv, timestampUrl: flags.windowsSignTimestamp };
  }
  const orphans: string[] = [];
  if (flags.windowsSignPasswordEnv !== undefined) orphans.push('--windows-sign-password-env');
  if (flags.windowsSignTimestamp !== undefined) orphans.push('--windows-sign-timestamp');
  if (orphans.length === 0) return undefined;
  throw new DuoSeaError({
    code: 'E_INVALID_OPTION',
    stage: 'options',
    input: orphans.join(' '),
    message: `${orphans.join(' and ')} ${orphans.length === 1 ? 'applies' : 'apply'} only to signing, and --windows-sign-pfx is not set.`,
    hint: 'Add --windows-sign-pfx FILE to sign the Windows executables, or leave out the other --windows-sign-* options.',
  });
}

async function runBuild(spec: string, flags: BuildCommandOptions): Promise<void> {
  const controller = new AbortController();
  let exitCodeOnAbort = EXIT_INTERRUPTED;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(exitCodeOnAbort);
    exitCodeOnAbort = signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
    const again = signal === 'SIGTERM' ? 'send the signal again' : 'press Ctrl-C again';
    process.stderr.write(`duo-sea: ${signal === 'SIGTERM' ? 'terminated' : 'interrupted'}, removing partial output (${again} to exit at once)\n`);
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
      codeCache: flags.codeCache,
      reuse: flags.reuse,
      archiveTypes: flags.archive as ArchiveType[] | undefined,
      nodeOptions: flags.nodeOption,
      nodeMirror: flags.nodeMirror,
      nodeUnofficialMirror: flags.nodeUnofficialMirror,
      nodeBinaries: parseNodeBinaryArguments(flags.nodeBinary),
      nodeKeyrings: flags.nodeKeyring,
      nodeSignatureCheck: flags.nodeSignatureCheck,
      macosSignIdentity: flags.macosSignIdentity,
      windowsSign: windowsSignOptions(flags),
      kitDir: flags.kit,
      offline: flags.offline,
      keepSourceMaps: flags.keepSourceMaps,
      keepPatterns: flags.keep,
      minify: flags.minify,
      icuLocales: flags.icuLocales?.flatMap((value) => value.split(',')),
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
      process.exitCode = exitCodeOnAbort;
      return;
    }
    const failure = isDuoSeaError(error) ? error : noSpaceError(error);
    if (flags.json && failure) process.stdout.write(JSON.stringify({ ok: false, error: failure.toJSON() }, null, 2) + '\n');
    reportFailure(failure ?? error);
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
  .showHelpAfterError('(add --help to the command to list its options)')
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
    new Option('--target <id>', `target to build, repeatable: ${targetIds.join(', ')} (default: every target with a base binary, except the musl ones)`)
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
  .option('--node-mirror <url>', "Node.js distribution mirror in nodejs.org's layout to take base binaries from (default: $NODEJS_ORG_MIRROR, else the npm registry)")
  .option('--node-unofficial-mirror <url>', "mirror of Node's unofficial builds, the source of the musl targets")
  .addOption(new Option('--node-binary <target=path>', 'Node binary file for one target, such as linux-x64=./node; repeatable').argParser(collect))
  .addOption(new Option('--node-keyring <file>', "OpenPGP keyring with Node's release keys that a mirror's SHASUMS256.txt signature must verify against; repeatable").argParser(collect))
  .option('--no-node-signature-check', "use a mirror's SHASUMS256.txt without checking its signature")
  .option('--macos-sign-identity <name>', 'sign macOS executables with this keychain identity through codesign, on a macOS host (default: ad-hoc signature)')
  .option('--windows-sign-pfx <file>', 'sign Windows executables with the key and certificate in this PKCS#12 (.pfx) file, through osslsigncode (default: unsigned)')
  .option('--windows-sign-password-env <name>', `environment variable that contains the PFX password (default: ${DEFAULT_PFX_PASSWORD_ENV})`)
  .option('--windows-sign-timestamp <url>', 'RFC 3161 timestamp server for the Windows signatures, such as an internal TSA (default: no timestamp)')
  .option('--ignore-engines', "build even if the Node version does not satisfy the program's engines.node")
  .option('--no-reuse', 'make every executable and archive again instead of copying them from the cache, for example to check that a build is reproducible')
  .option('--no-code-cache', "leave V8 code cache out, so an executable's bytes do not depend on whether the build host could run its Node")
  .option('--kit <dir>', 'build from an offline kit that duo-sea fetch wrote, with no network (default --node: the kit\'s)')
  .option('--offline', "use no network: packages from npm's cache, base binaries from the duo-sea cache")
  .option('--keep-source-maps', 'keep the .map files of the installed packages in the payload (default: left out, unless --node-option=--enable-source-maps)')
  .addOption(
    new Option('--keep <glob>', 'payload path that stays even when a trim rule leaves it out, such as "node_modules/zod/**" or "*.d.ts"; repeatable').argParser(collect),
  )
  .option('--minify', "minify the program's bundle (whitespace and syntax); changes stack trace positions and Function.prototype.toString()")
  .addOption(
    new Option(
      '--icu-locales <list>',
      'keep the ICU locale data of these languages only, such as en or en,de,ja (English is always kept; repeatable); see the README for what changes for the others',
    ).argParser(collect),
  )
  .option('--json', 'print a machine-readable summary on stdout')
  .action(runBuild);

registerFetchCommand(program, { collect, reportFailure });
registerCacheCommand(program, { reportFailure });

/** Prints a DuoSeaError, or a full disk as one, and sets the exit code; rethrows anything else as a bug. */
function reportFailure(error: unknown): void {
  const failure = isDuoSeaError(error) ? error : noSpaceError(error);
  if (!failure) throw error;
  process.stderr.write(renderError(failure));
  process.exitCode = USAGE_ERROR_CODES.has(failure.code) ? EXIT_USAGE : 1;
}

program
  .command('assemble')
  .description('Merge the output folders of per-target builds into one release with one manifest, SBOM, size report and SHA256SUMS.')
  .argument('<part...>', 'output folders of duo-sea build, such as parts/*')
  .requiredOption('--out <dir>', 'folder to write the release to')
  .action(async (parts: string[], flags: { out: string }) => {
    try {
      const result = await assembleRelease({ parts, outDir: flags.out });
      const count = result.manifest.targets.length;
      process.stdout.write(`Assembled ${count} ${count === 1 ? 'target' : 'targets'} (${result.manifest.targets.map((target) => target.id).join(', ')}) into ${result.outDir}; check them with: cd ${result.outDir} && sha256sum -c ${CHECKSUM_LIST_FILE}\n`);
    } catch (error) {
      reportFailure(error);
    }
  });

program
  .command('verify')
  .description('Check every file of a release or kit against its SHA256SUMS and manifest.json; exits 1 naming each file that is missing or differs.')
  .argument('<dir>', 'release folder')
  .action(async (dir: string) => {
    try {
      const result = await verifyRelease(dir);
      const text = renderVerifyResult(result);
      if (result.problems.length === 0) {
        process.stdout.write(text);
      } else {
        process.stderr.write(text);
        process.exitCode = 1;
      }
    } catch (error) {
      reportFailure(error);
    }
  });

interface PublishCommandOptions {
  gitlabUrl?: string;
  project?: string;
  packageName?: string;
  packageVersion?: string;
  replace?: boolean;
  json?: boolean;
}

program
  .command('publish')
  .description('Upload a release folder to a GitLab generic package, after checking it against its SHA256SUMS; the token comes from GITLAB_TOKEN or CI_JOB_TOKEN.')
  .argument('<dir>', 'release folder: the output of duo-sea build or assemble')
  .option('--gitlab-url <url>', 'GitLab instance URL, such as https://gitlab.example.com (default: $CI_API_V4_URL)')
  .option('--project <id>', 'numeric id or full path of the project that holds the package (default: $CI_PROJECT_ID)')
  .option('--package-name <name>', 'generic package name (default: the bin name from manifest.json)')
  .option('--package-version <version>', 'generic package version (default: <program version>-node<Node version>, such as 0.0.78-node26.10.0)')
  .option('--replace', 'upload files that the package already has with other bytes (default: fail and upload nothing)')
  .option('--json', 'print a machine-readable summary on stdout')
  .action(async (dir: string, flags: PublishCommandOptions) => {
    try {
      const result = await publish({
        dir,
        gitlabUrl: flags.gitlabUrl,
        project: flags.project,
        packageName: flags.packageName,
        packageVersion: flags.packageVersion,
        replace: flags.replace,
        report: createProgressRenderer(process.stderr),
      });
      process.stdout.write(flags.json ? JSON.stringify({ ok: true, ...result }, null, 2) + '\n' : renderPublishResult(result));
    } catch (error) {
      reportFailure(error);
      if (flags.json && isDuoSeaError(error)) process.stdout.write(JSON.stringify({ ok: false, error: error.toJSON() }, null, 2) + '\n');
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`duo-sea: internal error, please report it:\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = EXIT_INTERNAL_ERROR;
});
