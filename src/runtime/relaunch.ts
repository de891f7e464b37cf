/**
 * Recognizes an executable started the way a program starts `node`:
 * `<execPath> [node options] <script> [arguments]`. Programs do this to
 * relaunch themselves with more memory, to fork a worker script, or from
 * shims that run `process.execPath` with `process.argv[1]`. In a single
 * executable every argument goes to the program, so without this the whole
 * CLI would start again and read the node options as its own arguments.
 */

/** Node options that take their value as the next argument. */
const OPTIONS_WITH_VALUE = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-C',
  '--conditions',
  '--input-type',
  '--title',
  '--env-file',
  '--inspect-port',
  '--stack-trace-limit',
  '--max-old-space-size',
  '--max-semi-space-size',
  '--stack-size',
]);

export interface Relaunch {
  /** The node options before the script, as `process.execArgv` would list them. */
  nodeOptions: string[];
  /** The script argument as given. */
  script: string;
  /** The arguments after the script. */
  args: string[];
}

/** `<execPath> [node options] -e|-p <code> [arguments]`, as a `node` shim runs it. */
export interface EvalRelaunch {
  nodeOptions: string[];
  code: string;
  /** True for -p/--print, which prints the value of the code. */
  print: boolean;
  args: string[];
}

/**
 * Recognizes `-e`/`--eval`/`-p`/`--print` after optional node options;
 * returns undefined for anything else.
 */
export function parseEvalRelaunch(argv: readonly string[]): EvalRelaunch | undefined {
  const nodeOptions: string[] = [];
  for (let i = 0; i < argv.length && argv[i].startsWith('-'); i++) {
    const match = /^(-e|-p|--eval|--print)(?:=(.*))?$/s.exec(argv[i]);
    if (match) {
      const print = match[1] === '-p' || match[1] === '--print';
      const code = match[2] ?? argv[i + 1];
      if (code === undefined) return undefined;
      return { nodeOptions, code, print, args: argv.slice(match[2] === undefined ? i + 2 : i + 1) };
    }
    nodeOptions.push(argv[i]);
    if (OPTIONS_WITH_VALUE.has(argv[i])) nodeOptions.push(argv[++i]);
  }
  return undefined;
}

/**
 * Splits `argv` (without the executable) into node options, a script and
 * its arguments when the script is a file of the payload. Returns undefined
 * for a normal start, where every argument belongs to the program.
 */
export function parseRelaunch(argv: readonly string[], isPayloadScript: (candidate: string) => boolean): Relaunch | undefined {
  const nodeOptions: string[] = [];
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-') && argv[i] !== '-') {
    const option = argv[i];
    if (option === '--') {
      i += 1;
      break;
    }
    // An option that runs code instead of a script (-e, -p) means this is no relaunch of a script.
    if (/^(-e|-p|--eval|--print)(=|$)/.test(option)) return undefined;
    nodeOptions.push(option);
    if (OPTIONS_WITH_VALUE.has(option) && i + 1 < argv.length) {
      nodeOptions.push(argv[i + 1]);
      i += 2;
    } else {
      i += 1;
    }
  }
  const script = argv[i];
  if (script === undefined || !isPayloadScript(script)) return undefined;
  return { nodeOptions, script, args: argv.slice(i + 1) };
}

/** V8 flags that still take effect when set after start-up, by v8.setFlagsFromString. */
export function lateV8Flags(nodeOptions: readonly string[]): string[] {
  return nodeOptions.filter((option) => /^--(stack-trace-limit|stack-size)=/.test(option));
}
