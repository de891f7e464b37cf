import { describe, expect, it } from 'vitest';
import { lateV8Flags, parseEvalRelaunch, parseRelaunch } from '../../../src/runtime/relaunch.js';

const payloadScripts = new Set(['/payload/node_modules/tool/cli.js', 'node_modules/tool/worker.js']);
const isPayloadScript = (candidate: string): boolean => payloadScripts.has(candidate);

describe('parseRelaunch', () => {
  it('finds options before the entry script', () => {
    const relaunch = parseRelaunch(['--max-old-space-size=8192', '/payload/node_modules/tool/cli.js', '--version'], isPayloadScript);

    expect(relaunch).toEqual({ nodeOptions: ['--max-old-space-size=8192'], script: '/payload/node_modules/tool/cli.js', args: ['--version'] });
  });

  it('finds a script without options', () => {
    const relaunch = parseRelaunch(['node_modules/tool/worker.js', 'a', '-b'], isPayloadScript);

    expect(relaunch).toEqual({ nodeOptions: [], script: 'node_modules/tool/worker.js', args: ['a', '-b'] });
  });

  it('keeps the value of a separate-value option', () => {
    const relaunch = parseRelaunch(['--require', '/tmp/hook.js', '/payload/node_modules/tool/cli.js'], isPayloadScript);

    expect(relaunch?.nodeOptions).toEqual(['--require', '/tmp/hook.js']);
    expect(relaunch?.script).toBe('/payload/node_modules/tool/cli.js');
  });

  it('ignores a normal start', () => {
    expect(parseRelaunch(['--help'], isPayloadScript)).toBeUndefined();
    expect(parseRelaunch(['-c', 'echo hello'], isPayloadScript)).toBeUndefined();
    expect(parseRelaunch(['build', 'x'], isPayloadScript)).toBeUndefined();
    expect(parseRelaunch([], isPayloadScript)).toBeUndefined();
  });

  it('ignores a script outside the payload', () => {
    expect(parseRelaunch(['--inspect', '/tmp/other.js'], isPayloadScript)).toBeUndefined();
  });

  it('ignores an eval option', () => {
    expect(parseRelaunch(['-e', 'process.exit(3)', '/payload/node_modules/tool/cli.js'], isPayloadScript)).toBeUndefined();
    expect(parseRelaunch(['--eval=1', '/payload/node_modules/tool/cli.js'], isPayloadScript)).toBeUndefined();
  });

  it('stops options at a double dash', () => {
    const relaunch = parseRelaunch(['--no-warnings', '--', 'node_modules/tool/worker.js'], isPayloadScript);

    expect(relaunch).toEqual({ nodeOptions: ['--no-warnings'], script: 'node_modules/tool/worker.js', args: [] });
  });
});

describe('lateV8Flags', () => {
  it('keeps only flags that work after start-up', () => {
    expect(lateV8Flags(['--max-old-space-size=8192', '--stack-size=2000', '--no-warnings'])).toEqual(['--stack-size=2000']);
  });
});

describe('parseEvalRelaunch', () => {
  it('finds code after -e', () => {
    expect(parseEvalRelaunch(['-e', 'console.log(1)', 'a'])).toEqual({ nodeOptions: [], code: 'console.log(1)', print: false, args: ['a'] });
  });

  it('finds printed code with options first', () => {
    expect(parseEvalRelaunch(['--no-warnings', '-p', 'typeof process'])).toEqual({
      nodeOptions: ['--no-warnings'],
      code: 'typeof process',
      print: true,
      args: [],
    });
  });

  it('reads the --eval= form', () => {
    expect(parseEvalRelaunch(['--eval=1+1'])?.code).toBe('1+1');
  });

  it('ignores arguments without eval', () => {
    expect(parseEvalRelaunch(['--help'])).toBeUndefined();
    expect(parseEvalRelaunch(['run', '-e', 'x'])).toBeUndefined();
  });
});
