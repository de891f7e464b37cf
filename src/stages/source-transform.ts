/**
 * Source rewrites that give each bundled module the paths it would have
 * under `node`. The bundle is one script, so without them every module would
 * see the executable's path in `import.meta.url`, `__dirname` and
 * `__filename`, and computed `require()` calls would resolve from the wrong
 * folder. Each rewrite calls a helper that the runtime passes into the
 * bundle, with the module's path relative to the payload root.
 */

export type ModuleFormat = 'commonjs' | 'module';

const IMPORT_META = /\bimport\.meta\.(url|dirname|filename)\b/g;
const DECLARES_PATH_GLOBALS = /\b(?:var|let|const|function|class)\s+(?:__dirname|__filename)\b/;
const USES_PATH_GLOBALS = /\b(?:__dirname|__filename)\b/;
/** A `require(` whose argument is not a plain string literal, and `require.resolve(`. */
const COMPUTED_REQUIRE = /(?<![.\w$])require(\s*\(\s*)(?!['"][^'"`$\\]*['"]\s*\))/g;
const REQUIRE_RESOLVE = /(?<![.\w$])require\.resolve(\s*\()/g;
/** A leading hashbang line and directive prologue ("use strict"), which must stay first. */
const PROLOGUE = /^(?:#![^\n]*\n)?(?:\s*(?:\/\/[^\n]*\n|\/\*[\s\S]*?\*\/|(['"])use strict\1;?))*/;

export interface TransformResult {
  code: string;
  changed: boolean;
}

/**
 * Rewrites one module's source. `relativePath` is the module's path inside
 * the payload, embedded as a string literal.
 */
export function transformModuleSource(source: string, relativePath: string, format: ModuleFormat): TransformResult {
  const literal = JSON.stringify(relativePath);
  let code = source.replace(IMPORT_META, (_match, property: string) => {
    if (property === 'url') return `__duoSeaModuleUrl(${literal})`;
    if (property === 'dirname') return `__duoSeaModuleDir(${literal})`;
    return `__duoSeaModulePath(${literal})`;
  });

  if (format === 'commonjs') {
    code = code.replace(REQUIRE_RESOLVE, `__duoSeaRequire(${literal}).resolve$1`);
    code = code.replace(COMPUTED_REQUIRE, `__duoSeaRequire(${literal})$1`);
    if (USES_PATH_GLOBALS.test(code) && !DECLARES_PATH_GLOBALS.test(code)) {
      const prologue = PROLOGUE.exec(code)?.[0] ?? '';
      // Declared on the prologue's last line, so line numbers in stack traces stay those of the original file.
      const declaration = `var __filename = __duoSeaModulePath(${literal}), __dirname = __duoSeaModuleDir(${literal});`;
      code = prologue + declaration + code.slice(prologue.length);
    }
  }
  return { code, changed: code !== source };
}
