// Fills the payload folder that the arm64 VM runs: the linux-arm64 Node
// base binary (the reference runs' `node`), the executable that duo-sea
// built, the corpus entry installed by npm, the harness modules that
// run-commands.mjs imports, and job.json. Run by run.sh on the host.
// Usage: node prepare-payload.mjs --repo DIR --corpus FILE --entry NAME
//          --executable FILE --cache DIR --node VERSION --timeout-ms MS --out DIR
import { copyFile, cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: options } = parseArgs({
  options: {
    repo: { type: 'string' },
    corpus: { type: 'string' },
    entry: { type: 'string' },
    executable: { type: 'string' },
    cache: { type: 'string' },
    node: { type: 'string' },
    'timeout-ms': { type: 'string' },
    out: { type: 'string' },
  },
});
for (const name of ['repo', 'corpus', 'entry', 'executable', 'cache', 'node', 'timeout-ms', 'out']) {
  if (options[name] === undefined) throw new Error(`prepare-payload.mjs: missing --${name}`);
}

const lib = path.join(options.repo, 'lib');
const { readCorpus, selectEntries } = await import(path.join(lib, 'conformance', 'corpus.js'));
const { findNpmCli, findReferenceScript, installReference } = await import(path.join(lib, 'conformance', 'reference.js'));
const { createNodeBinFolder } = await import(path.join(lib, 'conformance', 'scratch.js'));
const { fetchBaseBinary } = await import(path.join(lib, 'stages', 'base-binary.js'));
const { ContentCache } = await import(path.join(lib, 'cache.js'));
const { BUNDLED_CHECKSUMS_DIR } = await import(path.join(lib, 'checksums.js'));
const { findTarget } = await import(path.join(lib, 'targets.js'));

const [entry] = selectEntries(await readCorpus(options.corpus), [options.entry]);
const out = options.out;
const workDir = path.join(out, '..', 'host-work');
await mkdir(workDir, { recursive: true });

/** Returns the verified Node base binary of a target from duo-sea's cache, downloading it on a miss. */
async function baseBinary(targetId) {
  const base = await fetchBaseBinary({
    target: findTarget(targetId),
    nodeVersion: options.node,
    cache: new ContentCache(options.cache),
    checksumsDir: BUNDLED_CHECKSUMS_DIR,
    report: () => {},
    cwd: workDir,
  });
  return base.path;
}

// npm runs under the host's Node of the same version, as the harness installs the reference copy.
const hostNodeBinFolder = await createNodeBinFolder(path.join(workDir, 'node-bin'), await baseBinary('linux-x64'));
const installDir = path.join(out, 'reference');
await mkdir(installDir, { recursive: true });
await installReference({ spec: entry.spec, extraSpecs: entry.extraSpecs, folder: installDir, nodeBinFolder: hostNodeBinFolder, npmCli: await findNpmCli() });
const referenceScript = await findReferenceScript({ folder: installDir, packageName: entry.packageName, bin: entry.bin });

await copyFile(await baseBinary('linux-arm64'), path.join(out, 'node'));
await copyFile(options.executable, path.join(out, path.basename(options.executable)));
for (const module of ['compare.js', 'process-run.js', 'scratch.js']) {
  await cp(path.join(lib, 'conformance', module), path.join(out, 'duo-sea', 'conformance', module));
}
const scriptDir = path.dirname(new URL(import.meta.url).pathname);
await copyFile(path.join(scriptDir, 'run-commands.mjs'), path.join(out, 'run-commands.mjs'));
await copyFile(path.join(scriptDir, 'payload-run.sh'), path.join(out, 'run.sh'));

const job = {
  entry: { name: entry.name, spec: entry.spec, files: entry.files, commands: entry.commands },
  referenceScript: path.relative(out, referenceScript),
  executable: path.basename(options.executable),
  commandTimeoutMs: Number(options['timeout-ms']),
};
await writeFile(path.join(out, 'job.json'), `${JSON.stringify(job, null, 2)}\n`);
