import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BaseSourceOptions } from '../base-sources/options.js';
import { DuoSeaError } from '../errors.js';
import { KIT_FILE } from './manifest.js';

/**
 * Returns the Node version in a kit's kit.json, the default `--node` of a
 * build from that kit, or undefined when the file cannot be read: the build
 * then reports the kit's problem when it opens the kit.
 */
export function kitNodeVersion(kitDir: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path.join(kitDir, KIT_FILE), 'utf8')) as { node?: { version?: unknown } };
    return typeof manifest.node?.version === 'string' ? manifest.node.version : undefined;
  } catch {
    // openKit reads the file again and names what is wrong with it.
    return undefined;
  }
}

function invalidOption(input: string, message: string, hint: string): DuoSeaError {
  return new DuoSeaError({ code: 'E_INVALID_OPTION', stage: 'options', input, message, hint });
}

/**
 * Rejects base binary sources that a kit build or an offline build cannot
 * use: a kit brings its own base binaries, and a mirror needs the network
 * for its checksum list.
 */
export function checkOfflineSources(options: { kitDir?: string; offline: boolean; baseSources: BaseSourceOptions }): void {
  const { baseSources } = options;
  const named = [
    baseSources.nodeMirror && '--node-mirror',
    baseSources.nodeUnofficialMirror && '--node-unofficial-mirror',
    baseSources.nodeBinaries.size > 0 && '--node-binary',
    baseSources.nodeKeyrings.length > 0 && '--node-keyring',
  ].filter((name): name is string => typeof name === 'string');
  if (options.kitDir && named.length > 0) {
    throw invalidOption(
      `--kit ${options.kitDir} ${named.join(' ')}`,
      `${named.join(' and ')} cannot be combined with --kit: the kit brings the base binaries that its fetch took from those sources.`,
      'Leave them out of the build, and pass them to duo-sea fetch instead.',
    );
  }
  const mirrors = named.filter((name) => name.endsWith('-mirror'));
  if (!options.kitDir && options.offline && mirrors.length > 0) {
    throw invalidOption(
      `--offline ${mirrors.join(' ')}`,
      `${mirrors.join(' and ')} need the network for the mirror's SHASUMS256.txt, and --offline forbids it.`,
      'Fetch a kit with the mirror options (duo-sea fetch ... --kit DIR) and build with --kit DIR, or unset NODEJS_ORG_MIRROR.',
    );
  }
}
