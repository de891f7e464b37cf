import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { transformModuleSource, type ModuleFormat } from '../../../src/stages/source-transform.js';

const RELATIVE_PATH = 'node_modules/tool/lib/index.js';
const PATH_LITERAL = JSON.stringify(RELATIVE_PATH);
const PAYLOAD_ROOT = '/payload';

interface RunResult {
  exports: Record<string, unknown>;
  requests: { from: string; request: string; resolve: boolean }[];
}

/**
 * Runs transformed code as a script with stub helpers in place of the ones the
 * runtime passes into the bundle. The stubs map a payload path to a path under
 * /payload and record every require through __duoSeaRequire.
 */
function runTransformed(code: string): RunResult {
  const requests: RunResult['requests'] = [];
  const moduleRequire = (from: string): ((request: string) => string) & { resolve: (request: string) => string } =>
    Object.assign(
      (request: string) => {
        requests.push({ from, request, resolve: false });
        return `required ${request}`;
      },
      {
        resolve: (request: string) => {
          requests.push({ from, request, resolve: true });
          return `resolved ${request}`;
        },
      },
    );
  const module = { exports: {} as Record<string, unknown> };
  const context = vm.createContext({
    module,
    exports: module.exports,
    require: () => {
      throw new Error('the free require must not be called for a computed request');
    },
    __dirname: '/wrong/bundle/folder',
    __filename: '/wrong/bundle/folder/bundle.js',
    __duoSeaModuleUrl: (relativePath: string) => `file://${PAYLOAD_ROOT}/${relativePath}`,
    __duoSeaModulePath: (relativePath: string) => `${PAYLOAD_ROOT}/${relativePath}`,
    __duoSeaModuleDir: (relativePath: string) => `${PAYLOAD_ROOT}/${relativePath.slice(0, relativePath.lastIndexOf('/'))}`,
    __duoSeaRequire: moduleRequire,
  });
  vm.runInContext(code, context, { filename: 'transformed.js' });
  return { exports: module.exports, requests };
}

const lineCount = (text: string): number => text.split('\n').length;

describe('transformModuleSource import.meta', () => {
  it('rewrites url, dirname and filename with the path literal', () => {
    const source = 'const a = import.meta.url;\nconst b = import.meta.dirname;\nconst c = import.meta.filename;\n';

    const result = transformModuleSource(source, RELATIVE_PATH, 'module');

    expect(result.code).toBe(
      `const a = __duoSeaModuleUrl(${PATH_LITERAL});\nconst b = __duoSeaModuleDir(${PATH_LITERAL});\nconst c = __duoSeaModulePath(${PATH_LITERAL});\n`,
    );
    expect(result.changed).toBe(true);
  });

  it('leaves other import.meta properties alone', () => {
    const source = 'const r = import.meta.resolve("./x.js");\nconst u = import.meta.urlish;\n';

    const result = transformModuleSource(source, RELATIVE_PATH, 'module');

    expect(result.code).toBe(source);
    expect(result.changed).toBe(false);
  });

  it('gives the running code the module paths', () => {
    const source = 'module.exports = { url: import.meta.url, dir: import.meta.dirname, file: import.meta.filename };\n';

    const { exports } = runTransformed(transformModuleSource(source, RELATIVE_PATH, 'module').code);

    expect(exports).toEqual({
      url: `file:///payload/${RELATIVE_PATH}`,
      dir: '/payload/node_modules/tool/lib',
      file: `/payload/${RELATIVE_PATH}`,
    });
  });

  it('escapes a path that contains a quote', () => {
    const relativePath = 'node_modules/odd"name/index.js';

    const { exports } = runTransformed(transformModuleSource('module.exports = import.meta.filename;', relativePath, 'module').code);

    expect(exports).toBe(`/payload/${relativePath}`);
  });
});

describe('transformModuleSource __dirname and __filename', () => {
  it('declares both in a CommonJS module that uses them', () => {
    const source = 'module.exports = { dir: __dirname, file: __filename };\n';

    const result = transformModuleSource(source, RELATIVE_PATH, 'commonjs');

    expect(result.code).toBe(`var __filename = __duoSeaModulePath(${PATH_LITERAL}), __dirname = __duoSeaModuleDir(${PATH_LITERAL});${source}`);
    expect(runTransformed(result.code).exports).toEqual({ dir: '/payload/node_modules/tool/lib', file: `/payload/${RELATIVE_PATH}` });
  });

  it('places the declaration after a hashbang and "use strict"', () => {
    const source = '#!/usr/bin/env node\n"use strict";\nmodule.exports = { dir: __dirname, strict: (function () { return this === undefined; })() };\n';

    const result = transformModuleSource(source, RELATIVE_PATH, 'commonjs');

    expect(result.code.startsWith('#!/usr/bin/env node\n"use strict";var __filename = ')).toBe(true);
    expect(runTransformed(result.code).exports).toEqual({ dir: '/payload/node_modules/tool/lib', strict: true });
  });

  it('keeps the line count', () => {
    const source = '#!/usr/bin/env node\n// header comment\n/* license\n   text */\n"use strict";\n\nconst dir = __dirname;\nmodule.exports = dir;\n';

    const result = transformModuleSource(source, RELATIVE_PATH, 'commonjs');

    expect(lineCount(result.code)).toBe(lineCount(source));
    expect(result.code.split('\n')[4]).toMatch(/^"use strict";var __filename = /);
    expect(runTransformed(result.code).exports).toBe('/payload/node_modules/tool/lib');
  });

  it('keeps line numbers in stack traces', () => {
    const source = '"use strict";\n\nmodule.exports = new Error("here").stack;\n';

    const { exports } = runTransformed(transformModuleSource(source, RELATIVE_PATH, 'commonjs').code);

    expect(exports).toMatch(/transformed\.js:3:/);
  });

  it('adds nothing to a module that declares const __dirname', () => {
    const source = 'const __dirname = "/own";\nmodule.exports = __dirname;\n';

    const result = transformModuleSource(source, RELATIVE_PATH, 'commonjs');

    expect(result.code).toBe(source);
    expect(result.changed).toBe(false);
  });

  it('adds nothing to a module that does not use them', () => {
    const source = 'module.exports = 1;\n';

    expect(transformModuleSource(source, RELATIVE_PATH, 'commonjs')).toEqual({ code: source, changed: false, computedPaths: [] });
  });

  it('adds nothing to an ES module', () => {
    const source = 'export const dir = __dirname;\n';

    expect(transformModuleSource(source, RELATIVE_PATH, 'module')).toEqual({ code: source, changed: false, computedPaths: [] });
  });

  // Without a semicolon after the directive the declaration lands on the same line: `'use strict'var __filename = ...`.
  it('keeps code valid after "use strict" without a semicolon', () => {
    const source = "'use strict'\nmodule.exports = __dirname\n";

    const { code } = transformModuleSource(source, RELATIVE_PATH, 'commonjs');

    expect(runTransformed(code).exports).toBe('/payload/node_modules/tool/lib');
  });
});

describe('transformModuleSource require', () => {
  it('routes a computed require through the module', () => {
    const source = 'const name = "./plugin";\nmodule.exports = require(name);\n';

    const result = transformModuleSource(source, RELATIVE_PATH, 'commonjs');

    expect(result.code).toBe(`const name = "./plugin";\nmodule.exports = __duoSeaRequire(${PATH_LITERAL})(name);\n`);
    expect(runTransformed(result.code)).toEqual({
      exports: 'required ./plugin',
      requests: [{ from: RELATIVE_PATH, request: './plugin', resolve: false }],
    });
  });

  it('routes require.resolve through the module', () => {
    const source = 'module.exports = require.resolve("./data.json");\n';

    const result = transformModuleSource(source, RELATIVE_PATH, 'commonjs');

    expect(result.code).toBe(`module.exports = __duoSeaRequire(${PATH_LITERAL}).resolve("./data.json");\n`);
    expect(runTransformed(result.code)).toEqual({
      exports: 'resolved ./data.json',
      requests: [{ from: RELATIVE_PATH, request: './data.json', resolve: true }],
    });
  });

  it('rewrites a template literal and a concatenation', () => {
    const source = 'const a = require(`./${x}`);\nconst b = require("./" + x);\nconst c = require ( x );\n';

    const { code } = transformModuleSource(source, RELATIVE_PATH, 'commonjs');

    expect(code).toBe(
      `const a = __duoSeaRequire(${PATH_LITERAL})(\`./\${x}\`);\nconst b = __duoSeaRequire(${PATH_LITERAL})("./" + x);\nconst c = __duoSeaRequire(${PATH_LITERAL}) ( x );\n`,
    );
  });

  it('leaves a literal require alone', () => {
    const source = "const a = require('fs');\nconst b = require(\"./local.js\");\nconst c = require('x' );\n";

    expect(transformModuleSource(source, RELATIVE_PATH, 'commonjs')).toEqual({ code: source, changed: false, computedPaths: [] });
  });

  // The `\s*` after `(` gives back its whitespace, so the negative lookahead then starts at a space and never finds the quote.
  it('leaves a literal require with inner whitespace alone', () => {
    const source = "const a = require( 'spaced' );\nconst b = require(\n  'wrapped-by-a-formatter'\n);\n";

    expect(transformModuleSource(source, RELATIVE_PATH, 'commonjs')).toEqual({ code: source, changed: false, computedPaths: [] });
  });

  it('leaves a method named require alone', () => {
    const source = 'const a = loader.require(name);\nconst b = myrequire(name);\nconst c = $require(name);\nconst d = typeof require;\n';

    expect(transformModuleSource(source, RELATIVE_PATH, 'commonjs')).toEqual({ code: source, changed: false, computedPaths: [] });
  });

  it('leaves a method definition named require alone', () => {
    // The shape of yargs 17's minified class: a method named require between two others.
    const source = 'class Y{demand(t){return t}require(t,e,s){return this.demand(t,e,s)}get require2(){return 1}}\nconst o = { require(x) { return x; } };\n';

    expect(transformModuleSource(source, RELATIVE_PATH, 'commonjs')).toEqual({ code: source, changed: false, computedPaths: [] });
  });

  it('leaves require alone in an ES module', () => {
    const source = 'const load = createRequire(import.meta.url);\nconst x = require(name);\n';

    const { code } = transformModuleSource(source, RELATIVE_PATH, 'module');

    expect(code).toBe(`const load = createRequire(__duoSeaModuleUrl(${PATH_LITERAL}));\nconst x = require(name);\n`);
  });

  // The rewrite is textual, so `require(` inside a double-quoted string gets a quoted literal that ends the string early.
  it('leaves require( inside a string alone', () => {
    const source = 'module.exports = "call require(name) first";\n';

    const { code } = transformModuleSource(source, RELATIVE_PATH, 'commonjs');

    expect(runTransformed(code).exports).toBe('call require(name) first');
  });
});

describe('transformModuleSource import()', () => {
  it('routes a computed import through the module', () => {
    const { code } = transformModuleSource('const load = (name) => import(name);\n', RELATIVE_PATH, 'module');

    expect(code).toBe(`const load = (name) => __duoSeaImport(${PATH_LITERAL})(name);\n`);
  });

  it('leaves a literal import alone', () => {
    const source = 'const a = import("./a.js");\n';

    expect(transformModuleSource(source, RELATIVE_PATH, 'module')).toEqual({ code: source, changed: false, computedPaths: [] });
  });

  it('leaves a method named import alone', () => {
    const source = 'class Importer { import(name) { return 1; } }\nconst o = { import(x) { return x; } };\n';

    expect(transformModuleSource(source, RELATIVE_PATH, 'commonjs')).toEqual({ code: source, changed: false, computedPaths: [] });
  });
});

describe('transformModuleSource computed paths', () => {
  const callsOf = (source: string, format: ModuleFormat = 'commonjs') => transformModuleSource(source, 'node_modules/a/index.js', format).computedPaths;

  it('reports require of a variable with line and column', () => {
    expect(callsOf('const a = 1;\nconst plugin = require(name);\n')).toEqual([{ kind: 'require', line: 2, column: 16 }]);
  });

  it('reports import of a call result', () => {
    expect(callsOf('await import(path.join(dir, file));', 'module')).toEqual([{ kind: 'import', line: 1, column: 7 }]);
  });

  it('skips a path with a static prefix', () => {
    expect(callsOf('require("./formats/" + name); require(`./formats/${name}.js`); import(`./chunks/${id}.js`);')).toEqual([]);
  });

  it('reports a template that starts with a substitution', () => {
    expect(callsOf('require(`${root}/x.js`);')).toEqual([{ kind: 'require', line: 1, column: 1 }]);
  });

  it('skips literal calls and require.resolve', () => {
    expect(callsOf('require("tty"); import("os"); require.resolve(x);')).toEqual([]);
  });

  it('skips a method named import', () => {
    expect(callsOf('class Loader { import(specifier) { return specifier; } }')).toEqual([]);
  });

  it('skips require in an ES module', () => {
    expect(callsOf('const load = createRequire(import.meta.url); load(name); require(name);', 'module')).toEqual([]);
  });

  it('counts lines across earlier calls', () => {
    const calls = callsOf('require(a);\n\n  require(b);\n');

    expect(calls.map((call) => [call.line, call.column])).toEqual([
      [1, 1],
      [3, 3],
    ]);
  });
});
