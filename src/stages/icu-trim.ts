import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContentCache } from '../cache.js';
import { DuoSeaError } from '../errors.js';
import { findIcuPackage, IcuDataError, localeLanguage, packageLanguages, rewriteIcuPackage } from '../formats/icu-data.js';
import { sha256Bytes } from '../hash.js';
import type { Target } from '../targets.js';

/** The language that is always kept: V8 resolves a locale whose data is missing to en-US (checked with Node 26.10.0). */
export const FALLBACK_LANGUAGE = 'en';

const LANGUAGE = /^[a-z]{2,3}$/;

/**
 * Returns the sorted languages that `--icu-locales` keeps, English
 * included, or throws for a value that is not a list of language codes.
 */
export function parseIcuLocales(value: string): string[] {
  const languages = value.split(',').map((item) => item.trim());
  const invalid = languages.filter((language) => !LANGUAGE.test(language));
  if (invalid.length > 0 || languages.length === 0) {
    throw new DuoSeaError({
      code: 'E_INVALID_OPTION',
      stage: 'options',
      input: `--icu-locales ${value}`,
      message: `--icu-locales takes a comma-separated list of ISO 639 language codes in lower case, such as en,de,ja; ${invalid.map((item) => JSON.stringify(item)).join(', ')} is not one.`,
      hint: 'Give languages without region or script (de, not de-AT): each language keeps all of its regional locales.',
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
  // The module beside this one: .js when compiled, .ts when the tests run the sources.
  const extension = path.extname(fileURLToPath(import.meta.url));
  rulesHash ??= readFile(fileURLToPath(new URL(`../formats/icu-data${extension}`, import.meta.url))).then(sha256Bytes);
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
export async function trimIcuData(options: { inputPath: string; inputSha256: string; target: Target; languages: readonly string[]; cache: ContentCache }): Promise<IcuTrimResult> {
  const { target, cache } = options;
  const indexPath = await trimmedIndexPath(options);
  const record = await cache.readJson<TrimmedRecord>(indexPath);
  if (typeof record?.sha256 === 'string') {
    const entry = await cache.lookup(record.sha256, 'remove');
    if (entry) return { path: entry, sha256: record.sha256, removedItems: record.removedItems, zeroedBytes: record.zeroedBytes };
  }

  const binary = await readFile(options.inputPath);
  const fail = (message: string, hint: string): DuoSeaError =>
    new DuoSeaError({ code: 'E_ICU_TRIM_FAILED', stage: 'icu', target: target.id, input: options.inputPath, message, hint });
  let rewrite;
  try {
    const pkg = findIcuPackage(binary);
    const available = packageLanguages(pkg);
    const missing = options.languages.filter((language) => !available.includes(language));
    if (missing.length > 0) {
      throw fail(
        `The ICU data of this Node binary has no locale data for ${missing.join(', ')}.`,
        `Use languages that ICU ${pkg.prefix.replace(/^icudt(\d+).*$/, '$1')} has, such as ${available.slice(0, 8).join(', ')}, or leave out --icu-locales.`,
      );
    }
    rewrite = rewriteIcuPackage(binary, pkg, (item) => {
      const language = localeLanguage(item);
      return language === undefined || options.languages.includes(language);
    });
  } catch (error) {
    if (!(error instanceof IcuDataError)) throw error;
    throw fail(`Cannot trim the ICU data of the base binary: ${error.message}.`, 'Leave out --icu-locales for this Node version or base binary, and report it.');
  }

  const sha256 = sha256Bytes(binary);
  const tempPath = await cache.tempPath(`icu-${target.id}`);
  try {
    await writeFile(tempPath, binary, { mode: 0o755 });
  } catch (error) {
    await rm(tempPath, { force: true });
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
