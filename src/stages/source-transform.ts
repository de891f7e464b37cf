import { tokenizer } from 'acorn';

/**
 * Source rewrites that give each bundled module the paths it would have
 * under `node`. The bundle is one script, so without them every module would
 * see the executable's path in `import.meta.url`, `__dirname` and
 * `__filename`, and computed `require()` calls would resolve from the wrong
 * folder. Each rewrite calls a helper that the runtime passes into the
 * bundle, with the module's path relative to the payload root. The source is
 * tokenized, so text inside strings, templates, comments and regular
 * expressions is never changed.
 */

export type ModuleFormat = 'commonjs' | 'module';

export interface TransformResult {
  code: string;
  changed: boolean;
  /** Set when the file could not be tokenized and was left as it is. */
  warning?: string;
  /** `require()` and `import()` calls whose path has no static part, so no tool can tell at build time which file they load. */
  computedPaths: ComputedPathCall[];
}

export interface ComputedPathCall {
  kind: 'require' | 'import';
  /** 1-based line of the call. */
  line: number;
  /** 1-based column of the call. */
  column: number;
}

/** The parts of an acorn token that the rewrites read. */
interface Token {
  type: { label: string };
  value?: unknown;
  start: number;
  end: number;
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

const IMPORT_META_HELPERS: Record<string, string> = {
  url: '__duoSeaModuleUrl',
  dirname: '__duoSeaModuleDir',
  filename: '__duoSeaModulePath',
};
const DECLARING_KEYWORDS = new Set(['var', 'let', 'const', 'function', 'class']);

function tokenize(source: string, format: ModuleFormat): Token[] {
  return [
    ...(tokenizer(source, {
      ecmaVersion: 'latest',
      sourceType: format === 'module' ? 'module' : 'script',
      allowHashBang: true,
      allowReturnOutsideFunction: true,
      allowAwaitOutsideFunction: true,
      allowImportExportEverywhere: true,
    }) as Iterable<Token>),
  ];
}

const label = (token: Token | undefined): string | undefined => token?.type.label;
const isName = (token: Token | undefined, value: string): boolean => label(token) === 'name' && token?.value === value;
const isMemberAccess = (previous: Token | undefined): boolean => label(previous) === '.' || label(previous) === '?.';

/** Finds `import.meta.url`, `.dirname`, `.filename` and `.main`. */
function importMetaEdits(tokens: Token[], literal: string, isEntry: boolean): Edit[] {
  const edits: Edit[] = [];
  for (let i = 0; i + 4 < tokens.length; i++) {
    if (label(tokens[i]) !== 'import' || label(tokens[i + 1]) !== '.' || !isName(tokens[i + 2], 'meta') || label(tokens[i + 3]) !== '.') continue;
    const property = tokens[i + 4];
    if (isName(property, 'main')) {
      edits.push({ start: tokens[i].start, end: property.end, text: String(isEntry) });
      continue;
    }
    const helper = label(property) === 'name' ? IMPORT_META_HELPERS[property.value as string] : undefined;
    if (helper) edits.push({ start: tokens[i].start, end: property.end, text: `${helper}(${literal})` });
  }
  return edits;
}

/** Finds `require(<not a string literal>)` and `require.resolve(`, which esbuild leaves to run time. */
/**
 * Tells whether the argument that starts at `tokens[start]` has no static
 * leading part: not a string, and not a template that starts with text,
 * such as `./formats/${name}.js`.
 */
function isFullyComputed(tokens: Token[], start: number): boolean {
  const first = tokens[start];
  if (label(first) === 'string') return false;
  if (label(first) === '`') return !(label(tokens[start + 1]) === 'template' && String(tokens[start + 1].value ?? '') !== '');
  return true;
}

/** Finds calls of `require` (CommonJS only) and `import` whose path argument is fully computed. */
function computedPathCalls(tokens: Token[], source: string, format: ModuleFormat): ComputedPathCall[] {
  const calls: ComputedPathCall[] = [];
  let line = 1;
  let lineStart = 0;
  let scanned = 0;
  for (let i = 0; i + 2 < tokens.length; i++) {
    const token = tokens[i];
    if (label(tokens[i + 1]) !== '(' || label(tokens[i + 2]) === ')' || isMemberAccess(tokens[i - 1])) continue;
    if (label(tokens[closingParen(tokens, i + 1) + 1]) === '{') continue;
    let kind: ComputedPathCall['kind'];
    if (label(token) === 'import') {
      kind = 'import';
    } else if (format === 'commonjs' && isName(token, 'require') && !DECLARING_KEYWORDS.has(String(tokens[i - 1]?.value))) {
      kind = 'require';
    } else {
      continue;
    }
    if (!isFullyComputed(tokens, i + 2)) continue;
    // Tokens come in source order, so the line count continues from the previous call.
    for (; scanned < token.start; scanned++) {
      if (source.charCodeAt(scanned) === 10) {
        line++;
        lineStart = scanned + 1;
      }
    }
    calls.push({ kind, line, column: token.start - lineStart + 1 });
  }
  return calls;
}

function requireEdits(tokens: Token[], literal: string): Edit[] {
  const edits: Edit[] = [];
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (!isName(tokens[i], 'require') || isMemberAccess(tokens[i - 1]) || DECLARING_KEYWORDS.has(String(tokens[i - 1]?.value))) continue;
    const next = tokens[i + 1];
    const isLiteralCall = label(next) === '(' && label(tokens[i + 2]) === 'string' && label(tokens[i + 3]) === ')';
    // `require(a, b) {` is a method named require, in a class or an object literal (yargs 17 has one), not a call.
    const isMethod = label(next) === '(' && label(tokens[closingParen(tokens, i + 1) + 1]) === '{';
    const isComputedCall = label(next) === '(' && !isLiteralCall && !isMethod;
    const isResolve = label(next) === '.' && isName(tokens[i + 2], 'resolve');
    if (isComputedCall || isResolve) edits.push({ start: tokens[i].start, end: tokens[i].end, text: `__duoSeaRequire(${literal})` });
  }
  return edits;
}

/** Returns the index of the `)` that closes the `(` at `open`, or the last index when it is not closed. */
function closingParen(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const kind = label(tokens[i]);
    if (kind === '(') depth++;
    else if (kind === ')' && --depth === 0) return i;
  }
  return tokens.length - 1;
}

/**
 * Finds `import(<not a string literal>)`. esbuild bundles imports of string
 * literals and leaves the others, which a single executable's main script
 * cannot run, since it may only import built-in modules.
 */
function dynamicImportEdits(tokens: Token[], literal: string): Edit[] {
  const edits: Edit[] = [];
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (label(tokens[i]) !== 'import' || label(tokens[i + 1]) !== '(' || isMemberAccess(tokens[i - 1])) continue;
    const isLiteralCall = label(tokens[i + 2]) === 'string' && label(tokens[i + 3]) === ')';
    // `import(name) {` is a method named import, in a class or an object literal, not a call.
    const isMethod = label(tokens[closingParen(tokens, i + 1) + 1]) === '{';
    if (!isLiteralCall && !isMethod) edits.push({ start: tokens[i].start, end: tokens[i].end, text: `__duoSeaImport(${literal})` });
  }
  return edits;
}

/**
 * Returns the offset after the hashbang and directive prologue ("use strict"),
 * where a declaration may go, and whether the last directive lacks its semicolon.
 */
function prologueEnd(tokens: Token[], source: string): { at: number; needsSemicolon: boolean } {
  let end = tokens[0]?.start ?? 0;
  let needsSemicolon = false;
  let i = 0;
  while (label(tokens[i]) === 'string') {
    const next = tokens[i + 1];
    if (label(next) === ';') {
      end = next.end;
      needsSemicolon = false;
      i += 2;
      continue;
    }
    // Without a semicolon, a string is a directive only when a line break ends its statement.
    if (next && !source.slice(tokens[i].end, next.start).includes('\n')) break;
    end = tokens[i].end;
    needsSemicolon = true;
    i += 1;
  }
  return { at: end, needsSemicolon };
}

/** Declares `__filename` and `__dirname` for a CommonJS module that uses them and does not declare them itself. */
function pathGlobalsEdit(tokens: Token[], source: string, literal: string): Edit | undefined {
  let uses = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (label(token) !== 'name' || (token.value !== '__dirname' && token.value !== '__filename')) continue;
    if (DECLARING_KEYWORDS.has(String(tokens[i - 1]?.value))) return undefined;
    if (!isMemberAccess(tokens[i - 1])) uses = true;
  }
  if (!uses) return undefined;
  const { at, needsSemicolon } = prologueEnd(tokens, source);
  // On the prologue's last line, so line numbers in stack traces stay those of the original file.
  const separator = needsSemicolon ? ';' : '';
  return { start: at, end: at, text: `${separator}var __filename = __duoSeaModulePath(${literal}), __dirname = __duoSeaModuleDir(${literal});` };
}

/**
 * Makes the entry module `require.main`, as Node does for the script it
 * starts, so that a `require.main === module` check runs the CLI. The free
 * `require` of every bundled module is the same function, so they all see it.
 */
function mainModuleEdit(tokens: Token[], source: string): Edit {
  const { at, needsSemicolon } = prologueEnd(tokens, source);
  return { start: at, end: at, text: `${needsSemicolon ? ';' : ''}require.main = module;` };
}

/**
 * Rewrites one module's source. `relativePath` is the module's path inside
 * the payload, embedded as a string literal.
 */
export function transformModuleSource(
  source: string,
  relativePath: string,
  format: ModuleFormat,
  options: { isEntry?: boolean } = {},
): TransformResult {
  const isEntry = options.isEntry ?? false;
  const mayNeedEdits =
    isEntry ||
    source.includes('import.meta') ||
    /\bimport\s*\(/.test(source) ||
    (format === 'commonjs' && /require|__dirname|__filename/.test(source));
  if (!mayNeedEdits) return { code: source, changed: false, computedPaths: [] };

  let tokens: Token[];
  try {
    tokens = tokenize(source, format);
  } catch (error) {
    return { code: source, changed: false, warning: `left as it is, since it could not be tokenized: ${(error as Error).message}`, computedPaths: [] };
  }

  const literal = JSON.stringify(relativePath);
  const computedPaths = computedPathCalls(tokens, source, format);
  const edits = [...importMetaEdits(tokens, literal, isEntry), ...dynamicImportEdits(tokens, literal)];
  if (format === 'commonjs') {
    edits.push(...requireEdits(tokens, literal));
    const declaration = pathGlobalsEdit(tokens, source, literal);
    if (declaration) edits.push(declaration);
    if (isEntry) edits.push(mainModuleEdit(tokens, source));
  }
  if (edits.length === 0) return { code: source, changed: false, computedPaths };

  // Sorted from the end, so earlier offsets stay valid; edits at the same offset keep their order.
  edits.sort((a, b) => b.start - a.start);
  let code = source;
  for (const edit of edits) code = code.slice(0, edit.start) + edit.text + code.slice(edit.end);
  return { code, changed: true, computedPaths };
}
