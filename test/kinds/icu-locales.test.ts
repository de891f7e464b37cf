import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentCache } from '../../src/cache.js';
import { BUNDLED_CHECKSUMS_DIR } from '../../src/checksums.js';
import { DEFAULT_NODE_VERSION, defaultBuildCacheDir } from '../../src/defaults.js';
import { findIcuPackage, itemsToKeep, keepLanguages } from '../../src/formats/icu-data.js';
import { fetchBaseBinary } from '../../src/stages/base-binary.js';
import { trimIcuData } from '../../src/stages/icu-trim.js';
import { findTarget } from '../../src/targets.js';
import { listFolder, removeTempDirs, runCli, tempDir } from '../e2e/helpers.js';

afterAll(removeTempDirs);

const cache = new ContentCache(defaultBuildCacheDir({ env: process.env, platform: process.platform, homeDir: os.homedir() }));

function baseBinary(targetId: string): Promise<{ path: string; sha256: string }> {
  return fetchBaseBinary({
    target: findTarget(targetId),
    nodeVersion: DEFAULT_NODE_VERSION,
    cache,
    checksumsDir: BUNDLED_CHECKSUMS_DIR,
    report: () => {},
    cwd: os.tmpdir(),
  });
}

/** Intl results that depend on locale data, printed as JSON by the Node under test. */
const PROBE = `
const day = new Date(Date.UTC(2026, 11, 5, 12));
const long = (locale) => new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeZone: 'UTC' }).format(day);
console.log(JSON.stringify({
  enUS: long('en-US'),
  enGB: long('en-GB'),
  de: long('de-DE'),
  deLocale: new Intl.DateTimeFormat('de-DE').resolvedOptions().locale,
  supported: Intl.DateTimeFormat.supportedLocalesOf(['de', 'en', 'en-GB', 'ja']),
  graphemes: [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment('\\u{1F468}\\u200D\\u{1F469}\\u200D\\u{1F467}e\\u0301')].length,
  chineseWords: [...new Intl.Segmenter('zh', { granularity: 'word' }).segment('\\u6211\\u4EEC\\u4ECA\\u5929\\u53BB\\u5317\\u4EAC')].length,
  thaiWords: [...new Intl.Segmenter('en', { granularity: 'word' }).segment('\\u0E20\\u0E32\\u0E29\\u0E32\\u0E44\\u0E17\\u0E22')].length,
  shiftJis: new TextDecoder('shift_jis').decode(new Uint8Array([0x82, 0xa0])),
  nfkc: '\\u01C5'.normalize('NFKC'),
  zone: new Intl.DateTimeFormat('en', { timeZone: 'Asia/Tokyo', timeZoneName: 'long' }).format(0),
  region: new Intl.DisplayNames('en', { type: 'region' }).of('DE'),
}));
`;

/** Returns a date, an amount, a language name and a relative time in a locale, as the Node under test formats them. */
function formatted(nodePath: string, locale: string): string {
  const code = `const locale = ${JSON.stringify(locale)};
[
  new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeZone: 'UTC' }).format(Date.UTC(2026, 11, 5, 12)),
  new Intl.NumberFormat(locale, { style: 'currency', currency: 'EUR' }).format(1234567.891),
  new Intl.DisplayNames(locale, { type: 'language' }).of('fr'),
  new Intl.RelativeTimeFormat(locale).format(-3, 'hour'),
].join(' | ')`;
  return execFileSync(nodePath, ['-p', code], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', LANG: 'C' } }).trim();
}

/** Writes a copy of a Node binary that keeps the ICU locale data of `languages`, and returns its path. */
function trimmedCopy(nodePath: string, languages: string[]): string {
  const binary = readFileSync(nodePath);
  keepLanguages(binary, findIcuPackage(binary), languages);
  const copy = path.join(tempDir('icu-copy'), 'node');
  writeFileSync(copy, binary, { mode: 0o755 });
  return copy;
}

function probe(nodePath: string): Record<string, unknown> {
  return JSON.parse(execFileSync(nodePath, ['-e', PROBE], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', LANG: 'C' } })) as Record<string, unknown>;
}

// Official Node binaries link in ICU's full data, 33 MB for ICU 78. --icu-locales keeps the locale data of some
// languages only, like Node's own small-icu build, and zeros the rest, which compresses to almost nothing.
describe('ICU locale data', () => {
  let full: string;
  let englishOnly: string;
  let englishGerman: string;

  beforeAll(async () => {
    const base = await baseBinary('linux-x64');
    full = base.path;
    const sha256 = base.sha256;
    const target = findTarget('linux-x64');
    englishOnly = (await trimIcuData({ inputPath: full, inputSha256: sha256, target, languages: ['en'], cache })).path;
    englishGerman = (await trimIcuData({ inputPath: full, inputSha256: sha256, target, languages: ['de', 'en'], cache })).path;
  }, 300_000);

  it('finds the package where the ELF symbol table says it is', () => {
    const symbols = execFileSync('llvm-nm', ['-D', '-S', full], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    const line = symbols.split('\n').find((text) => /\sicudt\d+_dat$/.test(text));
    const [address, size] = line!.trim().split(/\s+/);
    const pkg = findIcuPackage(readFileSync(full));

    expect(pkg.length).toBe(Number.parseInt(size, 16));
    // The base binary's first load segment maps file offset 0 at 0x400000.
    expect(pkg.offset).toBe(Number.parseInt(address, 16) - 0x400000);
  });

  it('keeps the binary length and only changes bytes inside the package', () => {
    const before = readFileSync(full);
    const after = readFileSync(englishOnly);
    const pkg = findIcuPackage(before);

    expect(after.length).toBe(before.length);
    expect(after.subarray(0, pkg.offset).equals(before.subarray(0, pkg.offset))).toBe(true);
    expect(after.subarray(pkg.offset + pkg.length).equals(before.subarray(pkg.offset + pkg.length))).toBe(true);
    expect(findIcuPackage(after).length).toBeLessThan(pkg.length / 2);
  });

  it('formats English as before and other languages as en-US', () => {
    const before = probe(full);
    const after = probe(englishOnly);

    expect(before.de).toBe('Samstag, 5. Dezember 2026');
    expect(before.supported).toEqual(['de', 'en', 'en-GB', 'ja']);
    expect(after.enUS).toBe(before.enUS);
    expect(after.enGB).toBe('Saturday, 5 December 2026');
    expect(after.de).toBe(before.enUS);
    expect(after.deLocale).toBe('en-US');
    expect(after.supported).toEqual(['en', 'en-GB']);
  });

  it('keeps the data that no single locale owns', () => {
    const before = probe(full);
    const after = probe(englishOnly);

    for (const key of ['graphemes', 'chineseWords', 'thaiWords', 'shiftJis', 'nfkc', 'zone', 'region']) expect([key, after[key]]).toEqual([key, before[key]]);
    expect(after.graphemes).toBe(2);
    expect(after.chineseWords).toBe(4);
    expect(after.shiftJis).toBe('\u3042');
  });

  it('keeps every locale of a listed language', () => {
    const after = probe(englishGerman);

    expect(after.de).toBe('Samstag, 5. Dezember 2026');
    expect(after.supported).toEqual(['de', 'en', 'en-GB']);
  });

  // Languages whose locales take data from another language's in ICU 78 (Bokmål and Nynorsk from no, ars from ar_SA,
  // the legacy codes from their new ones), and some that do not. The copies are removed after each test: 111 MiB each.
  it.each(['ars', 'in', 'iw', 'mo', 'nb', 'nn', 'no', 'sh', 'tl', 'yue', 'zh', 'sr', 'pt', 'ja', 'ar'])('formats %s as the full data does', (language) => {
    const copy = trimmedCopy(full, ['en', language]);
    try {
      expect(formatted(copy, language)).toBe(formatted(full, language));
    } finally {
      rmSync(path.dirname(copy), { recursive: true, force: true });
    }
  }, 120_000);

  it.each([
    // %%Parent, then the truncated parent of that parent.
    ['ars', ['icudt78l/ar_SA.res', 'icudt78l/ar.res', 'icudt78l/coll/ar_SA.res']],
    // %%ALIAS of a legacy code.
    ['in', ['icudt78l/id.res', 'icudt78l/zone/id.res']],
    // An alias resource into another language's bundle.
    ['zh', ['icudt78l/rbnf/yue.res']],
  ])('keeps the bundles that %s takes data from', (language, needed) => {
    const binary = readFileSync(full);
    const kept = itemsToKeep(binary, findIcuPackage(binary), ['en', language]);

    for (const name of needed) expect([name, kept.has(name)]).toEqual([name, true]);
    expect(kept.has('icudt78l/fr.res')).toBe(false);
  });

  it('finds the same package in the macOS and Windows base binaries', async () => {
    const linux = findIcuPackage(readFileSync(full));
    for (const targetId of ['darwin-arm64', 'win-x64']) {
      const pkg = findIcuPackage(readFileSync((await baseBinary(targetId)).path));

      expect([targetId, pkg.length, pkg.items.length]).toEqual([targetId, linux.length, linux.items.length]);
    }
  }, 300_000);
});

describe('build --icu-locales', () => {
  it('builds an executable that runs and records the flag', async () => {
    const workDir = tempDir('icu-build');
    const outDir = path.join(workDir, 'dist');
    const result = await runCli(['build', 'cowsay@1.6.0', '--target', 'linux-x64', '--archive', 'tar.gz', '--icu-locales', 'en', '--out', outDir], {
      cwd: workDir,
      timeoutMs: 600_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/ICU data: kept the locales of en, left out \d+ items/);
    const manifest = JSON.parse(readFileSync(path.join(outDir, 'manifest.json'), 'utf8')) as { build: { flags: string[] } };
    expect(manifest.build.flags).toContain('--icu-locales en');

    const executable = path.join(outDir, 'cowsay-linux-x64');
    const run = spawnSync(executable, ['moo'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
    expect(run.stdout).toContain('< moo >');
    expect(run.status).toBe(0);
    expect(statSync(executable).size).toBeGreaterThan(50 * 1024 * 1024);
  }, 600_000);

  // Like --keep and --with, a repeated --icu-locales adds its languages instead of replacing those of the one before.
  it('merges a repeated --icu-locales', async () => {
    const workDir = tempDir('icu-repeat');
    const outDir = path.join(workDir, 'dist');
    const result = await runCli(['build', 'cowsay@1.6.0', '--target', 'linux-x64', '--archive', 'tar.gz', '--icu-locales', 'de', '--icu-locales', 'fr', '--out', outDir], {
      cwd: workDir,
      timeoutMs: 600_000,
    });
    expect(result.status, result.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(outDir, 'manifest.json'), 'utf8')) as { build: { flags: string[] } };

    expect(manifest.build.flags).toContain('--icu-locales de,en,fr');
  }, 600_000);

  it.each([
    // A malformed option is a usage error (exit 2); a language that the data lacks fails the build (exit 1).
    ['de-AT', 2, 'E_INVALID_OPTION', 'ISO 639 language codes'],
    ['en,,de', 2, 'E_INVALID_OPTION', 'ISO 639 language codes'],
    ['en,qq', 1, 'E_ICU_TRIM_FAILED', 'no locale data for qq'],
  ])('rejects --icu-locales %s and writes nothing', async (value, status, code, message) => {
    const workDir = tempDir('icu-error');
    const outDir = path.join(workDir, 'dist');
    const result = await runCli(['build', 'cowsay@1.6.0', '--target', 'linux-x64', '--archive', 'tar.gz', '--icu-locales', value, '--out', outDir, '--json'], {
      cwd: workDir,
      timeoutMs: 600_000,
    });
    const parsed = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; message: string; input?: string } };

    expect(result.status).toBe(status);
    expect(parsed.error.code).toBe(code);
    expect(parsed.error.message).toContain(message);
    expect(listFolder(outDir)).toEqual([]);
  }, 600_000);
});
