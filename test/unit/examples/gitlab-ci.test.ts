import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_CHECKSUMS_DIR, pinnedSha256 } from '../../../src/checksums.js';
import { DEFAULT_NODE_VERSION } from '../../../src/defaults.js';
import { allTargets } from '../../../src/targets.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/gitlab-ci/.gitlab-ci.yml', import.meta.url));
const CLI_SOURCE = fileURLToPath(new URL('../../../src/cli.ts', import.meta.url));

/** Keys that are GitLab CI settings, not job names, at the top level of .gitlab-ci.yml. */
const GLOBAL_KEYWORDS = new Set(['default', 'include', 'stages', 'variables', 'workflow', 'image', 'services', 'cache', 'before_script', 'after_script']);

interface Job {
  stage?: string;
  extends?: string | string[];
  needs?: (string | { job: string })[];
  script?: string[];
  before_script?: string[];
  variables?: Record<string, string>;
  parallel?: { matrix: Record<string, string[]>[] };
  rules?: { if?: string }[];
}

type Config = Record<string, unknown> & { stages: string[]; variables: Record<string, string> };

/** Parses YAML with Python's yaml module (Debian package python3-yaml), as JSON. */
function parseYaml(file: string): Config {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const result = spawnSync(python, ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`parsing ${file} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Config;
}

let config: Config;
let jobs: Map<string, Job>;

beforeAll(() => {
  config = parseYaml(EXAMPLE);
  jobs = new Map(Object.entries(config).filter(([name]) => !GLOBAL_KEYWORDS.has(name)) as [string, Job][]);
});

/** Returns a job's script lines with those of the jobs it extends. */
function scriptLines(job: Job): string[] {
  const parents = [job.extends ?? []].flat().map((name) => jobs.get(name) ?? {});
  return [...parents.flatMap(scriptLines), ...(job.before_script ?? []), ...(job.script ?? [])];
}

function visibleJobs(): [string, Job][] {
  return [...jobs].filter(([name]) => !name.startsWith('.'));
}

describe('examples/gitlab-ci/.gitlab-ci.yml', () => {
  it('gives every job a declared stage', () => {
    for (const [name, job] of visibleJobs()) {
      expect(config.stages, name).toContain(job.stage);
    }
  });

  it('extends only jobs that exist', () => {
    for (const [name, job] of jobs) {
      for (const parent of [job.extends ?? []].flat()) expect(jobs.has(parent), `${name} extends ${parent}`).toBe(true);
    }
  });

  it('needs only jobs of earlier stages', () => {
    for (const [name, job] of visibleJobs()) {
      for (const need of job.needs ?? []) {
        const needed = jobs.get(typeof need === 'string' ? need : need.job);
        expect(needed, `${name} needs ${JSON.stringify(need)}`).toBeDefined();
        expect(config.stages.indexOf(needed!.stage!), name).toBeLessThan(config.stages.indexOf(job.stage!));
      }
    }
  });

  it('builds one known target per matrix job', () => {
    const build = jobs.get('build')!;
    const targetIds = allTargets().map((target) => target.id);

    for (const id of build.parallel!.matrix.flatMap((row) => row.TARGET)) expect(targetIds).toContain(id);
    expect(build.script!.join('\n')).toContain('--target "$TARGET" --out "parts/$TARGET"');
  });

  it('builds every target with a pinned base binary', async () => {
    const matrixTargets = jobs.get('build')!.parallel!.matrix.flatMap((row) => row.TARGET);
    for (const target of allTargets()) {
      if (!target.base || target.libc === 'musl') continue;
      const pinned = await pinnedSha256(BUNDLED_CHECKSUMS_DIR, target.base.package, DEFAULT_NODE_VERSION, target.base.binaryPath);
      if (pinned) expect(matrixTargets, target.id).toContain(target.id);
    }
  });

  it('defines every variable that the scripts use', () => {
    const defined = new Set([...Object.keys(config.variables), ...[...jobs.values()].flatMap((job) => Object.keys(job.variables ?? {})), 'TARGET']);
    for (const [name, job] of visibleJobs()) {
      for (const line of scriptLines(job)) {
        for (const [, variable] of line.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)/g)) {
          if (!variable.startsWith('CI_')) expect(defined, `${name}: ${line}`).toContain(variable);
        }
      }
    }
  });

  it('runs only duo-sea commands that exist', () => {
    const cliSource = readFileSync(CLI_SOURCE, 'utf8');
    for (const [, job] of visibleJobs()) {
      for (const line of scriptLines(job)) {
        for (const [, command] of line.matchAll(/\bduo-sea ([a-z]+)/g)) expect(cliSource).toContain(`.command('${command}')`);
      }
    }
  });

  it('assembles and verifies after the builds', () => {
    const release = scriptLines(jobs.get('release')!).join('\n');

    expect(release).toContain('duo-sea assemble parts/* --out release');
    expect(release).toContain('duo-sea verify release');
  });

  it('publishes on tags only', () => {
    const publish = jobs.get('publish')!;

    expect(publish.rules).toEqual([{ if: '$CI_COMMIT_TAG' }]);
    expect(scriptLines(publish).join('\n')).toContain('duo-sea publish release');
  });
});
