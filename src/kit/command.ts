import { Option, type Command } from 'commander';
import { parseNodeBinaryArguments } from '../base-sources/options.js';
import { createProgressRenderer } from '../cli-render.js';
import { DEFAULT_NODE_VERSION } from '../defaults.js';
import { isDuoSeaError } from '../errors.js';
import { formatBytes } from '../format.js';
import { CHECKSUM_LIST_FILE } from '../stages/checksum-list.js';
import { allTargets } from '../targets.js';
import { fetchKit, type FetchKitResult } from './fetch.js';

interface FetchCommandOptions {
  kit: string;
  target?: string[];
  node?: string;
  with?: string[];
  cache?: string;
  checksums?: string;
  nodeMirror?: string;
  nodeUnofficialMirror?: string;
  nodeBinary?: string[];
  nodeKeyring?: string[];
  nodeSignatureCheck?: boolean;
  ignoreEngines?: boolean;
  json?: boolean;
}

/** Renders the summary that `duo-sea fetch` prints on stdout. */
export function renderFetchResult(result: FetchKitResult): string {
  const { manifest, kitDir } = result;
  const tarballs = [manifest.package, ...manifest.packages];
  const binaries = Object.entries(manifest.baseBinaries);
  const lines = [
    `Fetched ${manifest.package.name}@${manifest.package.version} for ${Object.keys(manifest.targets).join(', ')} with Node ${manifest.node.version} into ${kitDir}:`,
    `  ${tarballs.length} package tarballs (${formatBytes(tarballs.reduce((total, item) => total + item.sizeBytes, 0))}), ` +
      `${binaries.length} Node binaries (${binaries.map(([id]) => id).join(', ')}: ${formatBytes(binaries.reduce((total, [, item]) => total + item.sizeBytes, 0))})`,
    `Check it with: cd ${kitDir} && sha256sum -c ${CHECKSUM_LIST_FILE}`,
    `Build from it with: duo-sea build ${manifest.spec}${manifest.withSpecs.map((spec) => ` --with ${spec}`).join('')} --kit ${kitDir} --offline`,
  ];
  for (const skipped of result.skippedTargets) lines.push(`Skipped ${skipped.target}: ${skipped.reason}`);
  return `${lines.join('\n')}\n`;
}

/** Adds `duo-sea fetch` to the program. */
export function registerFetchCommand(program: Command, helpers: { collect: (value: string, previous: string[] | undefined) => string[]; reportFailure: (error: unknown) => void }): void {
  const targetIds = allTargets().map((target) => target.id);
  program
    .command('fetch')
    .description('Gather everything that a build of the package needs into an offline kit folder: package tarballs, lockfiles, Node base binaries, kit.json and SHA256SUMS.')
    .argument('<package>', 'npm spec (name@version), a .tgz made by npm pack, or a package folder')
    .requiredOption('--kit <dir>', 'new or empty folder to write the kit to')
    .addOption(new Option('--target <id>', `target to fetch for, repeatable: ${targetIds.join(', ')} (default: as for build)`).argParser(helpers.collect))
    .option('--node <version>', `Node version of the base binaries (default: ${DEFAULT_NODE_VERSION})`)
    .addOption(new Option('--with <spec>', 'package installed beside the program, repeatable').argParser(helpers.collect))
    .option('--cache <dir>', 'cache folder (default: $DUO_SEA_CACHE, else duo-sea in the user cache folder)')
    .option('--checksums <dir>', 'folder of pinned base binary checksums (default: the one shipped with duo-sea)')
    .option('--node-mirror <url>', "Node.js distribution mirror in nodejs.org's layout to take base binaries from (default: $NODEJS_ORG_MIRROR, else the npm registry)")
    .option('--node-unofficial-mirror <url>', "mirror of Node's unofficial builds, the source of the musl targets")
    .addOption(new Option('--node-binary <target=path>', 'Node binary file for one target, such as linux-x64=./node; repeatable').argParser(helpers.collect))
    .addOption(new Option('--node-keyring <file>', "OpenPGP keyring with Node's release keys that a mirror's SHASUMS256.txt signature must verify against; repeatable").argParser(helpers.collect))
    .option('--no-node-signature-check', "use a mirror's SHASUMS256.txt without checking its signature")
    .option('--ignore-engines', "fetch even if the Node version does not satisfy the program's engines.node")
    .option('--json', 'print kit.json on stdout')
    .action(async (spec: string, flags: FetchCommandOptions) => {
      try {
        const result = await fetchKit({
          spec,
          kitDir: flags.kit,
          targets: flags.target,
          nodeVersion: flags.node,
          withSpecs: flags.with,
          cacheDir: flags.cache,
          checksumsDir: flags.checksums,
          nodeMirror: flags.nodeMirror,
          nodeUnofficialMirror: flags.nodeUnofficialMirror,
          nodeBinaries: parseNodeBinaryArguments(flags.nodeBinary),
          nodeKeyrings: flags.nodeKeyring,
          nodeSignatureCheck: flags.nodeSignatureCheck,
          ignoreEngines: flags.ignoreEngines,
          report: createProgressRenderer(process.stderr),
        });
        process.stdout.write(flags.json ? `${JSON.stringify({ ok: true, kitDir: result.kitDir, skippedTargets: result.skippedTargets, kit: result.manifest }, null, 2)}\n` : renderFetchResult(result));
      } catch (error) {
        helpers.reportFailure(error);
        if (flags.json && isDuoSeaError(error)) process.stdout.write(`${JSON.stringify({ ok: false, error: error.toJSON() }, null, 2)}\n`);
      }
    });
}
