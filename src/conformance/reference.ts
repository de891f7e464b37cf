import { existsSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ConformanceError } from './errors.js';
import { runProcess } from './process-run.js';

/** Maximum time in ms of one reference `npm install`, because large programs take minutes on a cold npm cache. */
const INSTALL_TIMEOUT_MS = 15 * 60_000;

/**
 * Returns the path of npm's `npm-cli.js` from the `npm` found on PATH, so
 * that npm can be run with another Node binary than the one its shim names.
 */
export async function findNpmCli(pathValue: string = process.env.PATH ?? ''): Promise<string> {
  for (const folder of pathValue.split(path.delimiter).filter((entry) => entry !== '')) {
    const candidate = path.join(folder, 'npm');
    if (!existsSync(candidate)) continue;
    const resolved = await realpath(candidate);
    const besides = [resolved, path.join(path.dirname(resolved), 'npm-cli.js'), path.join(path.dirname(resolved), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')];
    const found = besides.find((file) => path.basename(file) === 'npm-cli.js' && existsSync(file));
    if (found) return found;
  }
  throw new ConformanceError({
    code: 'E_NPM_NOT_FOUND',
    message: 'No npm-cli.js was found from the npm on PATH.',
    hint: 'Install npm so that `npm` on PATH resolves to its bin/npm-cli.js, then run again.',
  });
}

export interface ReferenceInstallRequest {
  spec: string;
  extraSpecs: readonly string[];
  /** Fresh, empty folder to install into. */
  folder: string;
  /** Folder that contains the `node` that runs npm. It goes first on PATH. */
  nodeBinFolder: string;
  npmCli: string;
}

/**
 * Installs the program the way the corpus's reference runs were made: npm,
 * run by the same Node version as the executable, without audit, funding
 * messages or install scripts.
 */
export async function installReference(request: ReferenceInstallRequest): Promise<void> {
  const args = [request.npmCli, 'install', '--no-audit', '--no-fund', '--ignore-scripts', request.spec, ...request.extraSpecs];
  const outcome = await runProcess({
    command: path.join(request.nodeBinFolder, 'node'),
    args,
    cwd: request.folder,
    env: { ...(process.env as Record<string, string>), PATH: `${request.nodeBinFolder}${path.delimiter}${process.env.PATH ?? ''}` },
    stdin: '',
    timeoutMs: INSTALL_TIMEOUT_MS,
  });
  if (outcome.exitCode === 0) return;
  const ending = outcome.startError ?? (outcome.timedOut ? `timed out after ${INSTALL_TIMEOUT_MS / 1000} s` : `exit code ${outcome.exitCode ?? outcome.signal}`);
  const errorLines = outcome.stderr
    .split('\n')
    .filter((line) => line.startsWith('npm error') && !line.includes('complete log'))
    .slice(0, 8)
    .join('\n');
  throw new ConformanceError({
    code: 'E_REFERENCE_INSTALL_FAILED',
    message: `npm install ${[request.spec, ...request.extraSpecs].join(' ')} failed (${ending})${errorLines ? `:\n${errorLines}` : '.'}`,
    hint: 'Check that the registry has these versions and that npm can reach it.',
  });
}

/** Returns the script of a bin entry of an installed package, from its package.json. */
export async function findReferenceScript(options: { folder: string; packageName: string; bin: string }): Promise<string> {
  const packageDir = path.join(options.folder, 'node_modules', ...options.packageName.split('/'));
  const manifest = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as { name: string; bin?: string | Record<string, string> };
  const unscoped = manifest.name.replace(/^@[^/]+\//, '');
  const bins = typeof manifest.bin === 'string' ? { [unscoped]: manifest.bin } : (manifest.bin ?? {});
  const script = bins[options.bin];
  if (script === undefined) {
    throw new ConformanceError({
      code: 'E_REFERENCE_BIN_NOT_FOUND',
      message: `${options.packageName} has no bin named "${options.bin}" (it has: ${Object.keys(bins).join(', ') || 'none'}).`,
      hint: 'Set the entry\'s "bin" to one of the package\'s bin names.',
    });
  }
  return path.join(packageDir, script);
}
