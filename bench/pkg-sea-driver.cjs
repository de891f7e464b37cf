'use strict';
/*
 * Builds one executable with @yao-pkg/pkg's enhanced SEA pipeline and a
 * given Node binary, doing what pkg's own `exec()` does for `--sea` with a
 * package.json input, minus the Node download. Read from
 * @yao-pkg/pkg 6.23.0 lib-es5/index.js and lib-es5/sea.js.
 * Usage: node pkg-sea-driver.cjs PKG_FOLDER PACKAGE_FOLDER TARGET OUTPUT NODE_PATH
 */
const path = require('node:path');

async function main() {
  const [pkgFolder, packageFolder, target, output, nodePath] = process.argv.slice(2);
  const lib = path.join(pkgFolder, 'lib-es5');
  const config = require(path.join(lib, 'config.js'));
  const options = require(path.join(lib, 'options.js')).default;
  const hooks = require(path.join(lib, 'hooks.js'));
  const { seaEnhanced } = require(path.join(lib, 'sea.js'));

  const resolved = await config.resolveConfig(config.parseInput([packageFolder, '--sea', '--target', target, '--output', output]));
  options.set(resolved.pkg);
  await hooks.runPreBuild(resolved.pkg);
  const marker = { config: resolved.inputJson || {}, base: path.dirname(resolved.input), configPath: resolved.input, toplevel: true };
  await seaEnhanced(resolved.inputFin, {
    targets: resolved.targets,
    signature: resolved.flags.signature,
    marker,
    params: { seaMode: true },
    addition: config.isConfiguration(resolved.input) ? resolved.input : undefined,
    doCompress: resolved.flags.compress,
    nodePath,
  });
}

main().catch((error) => {
  console.error(error instanceof Error ? `error: ${error.message}` : error);
  process.exitCode = 1;
});
