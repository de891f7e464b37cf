/**
 * The programs the benchmark packages. Each names its npm spec, its bin, the
 * commands whose start-up is timed and the files those commands need in
 * their working folder. `allTargets` builds every default target with
 * duo-sea, the others build linux-x64 only.
 */
export const PROGRAMS = [
  {
    id: 'srt',
    spec: '@anthropic-ai/sandbox-runtime@0.0.78',
    bin: 'srt',
    allTargets: true,
    commands: [
      { label: '--version', args: ['--version'] },
      // Runs `true` inside the sandbox: bubblewrap, the seccomp helper and the proxies start and stop.
      { label: "-c 'true'", args: ['-c', 'true'] },
    ],
    files: {},
  },
  {
    id: 'gemini',
    spec: '@google/gemini-cli@0.61.0',
    bin: 'gemini',
    allTargets: false,
    commands: [
      { label: '--version', args: ['--version'] },
      { label: '--help', args: ['--help'] },
    ],
    files: {},
  },
  {
    id: 'prettier',
    spec: 'prettier@3.10.1',
    bin: 'prettier',
    allTargets: false,
    commands: [
      { label: '--version', args: ['--version'] },
      { label: 'input.ts', args: ['input.ts'] },
    ],
    files: {
      'input.ts': 'export  function add( a:number,b :number ) {return a+b}\nconst table = { "one":1, two : [2,3 ,4], }\nexport default class  Box<T>{ constructor(private value:T){} get():T{ return this.value } }\n',
    },
  },
];

/** Default targets of duo-sea, in the order its size report lists them. */
export const DEFAULT_TARGETS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win-x64'];

/** Returns the package name of an npm spec such as `@scope/name@1.2.3`. */
export function packageName(spec) {
  const at = spec.lastIndexOf('@');
  return at > 0 ? spec.slice(0, at) : spec;
}

/** Returns the version of an npm spec such as `@scope/name@1.2.3`. */
export function packageVersion(spec) {
  const at = spec.lastIndexOf('@');
  return at > 0 ? spec.slice(at + 1) : undefined;
}
