/**
 * Reads and rewrites the ICU data package that official Node binaries link
 * in (the symbol icudt<N>_dat, 33 MB for ICU 78). The package is ICU's
 * "common data" format: a data header with the format "CmnD", then a table
 * of contents of (name offset, data offset) pairs, sorted by name, then the
 * names, then the items, each starting on a 16-byte boundary. ICU reads the
 * package in place and finds an item by a binary search of the names. A
 * smaller package written over the start of the old one therefore works,
 * and the bytes after it can be zeros, which compress to almost nothing.
 *
 * Only little-endian packages are read: every Node target is little-endian.
 */

import { bundleReferences, IcuResourceError } from './icu-resource.js';

export class IcuDataError extends Error {}

export interface IcuItem {
  /** Path inside the package, such as `icudt78l/coll/de.res`. */
  name: string;
  /** Offset of the item's bytes from the start of the package. */
  offset: number;
  /** Length of the item's bytes, with the padding up to the next item. */
  length: number;
}

export interface IcuPackage {
  /** Offset of the package in the binary. */
  offset: number;
  /** Length of the package, from its header to the end of its last item. */
  length: number;
  headerSize: number;
  /** The name prefix of every item, such as `icudt78l`. */
  prefix: string;
  items: IcuItem[];
}

const FORMAT = Buffer.from('CmnD', 'latin1');
/** The two magic bytes after the header size of every ICU data file. */
const MAGIC = [0xda, 0x27];
/** Offset of the data format in an ICU data header: size, magic, then 8 bytes of UDataInfo before the format. */
const FORMAT_OFFSET = 12;
/** More items than any ICU release has had; a larger count means the bytes are not a table of contents. */
const MAX_ITEMS = 100_000;
const ITEM_ALIGNMENT = 16;

/**
 * Returns the single ICU common data package in a Node binary. Throws
 * IcuDataError when there is none, or more than one.
 */
export function findIcuPackage(binary: Buffer): IcuPackage {
  const found: IcuPackage[] = [];
  for (let at = binary.indexOf(FORMAT, FORMAT_OFFSET); at !== -1; at = binary.indexOf(FORMAT, at + 1)) {
    const parsed = readPackageAt(binary, at - FORMAT_OFFSET);
    if (parsed) found.push(parsed);
  }
  if (found.length === 0) throw new IcuDataError('the binary contains no ICU data package (it may be built with small-icu or without Intl)');
  if (found.length > 1) throw new IcuDataError(`the binary contains ${found.length} ICU data packages, at offsets ${found.map((item) => item.offset).join(', ')}; expected one`);
  return found[0];
}

/** Parses a package whose header starts at `start`, or returns undefined when the bytes there are not one. */
function readPackageAt(binary: Buffer, start: number): IcuPackage | undefined {
  if (start < 0 || start + 32 > binary.length) return undefined;
  if (binary[start + 2] !== MAGIC[0] || binary[start + 3] !== MAGIC[1]) return undefined;
  const isBigEndian = binary[start + 8];
  const sizeofUChar = binary[start + 10];
  const formatMajor = binary[start + 16];
  if (isBigEndian !== 0 || sizeofUChar !== 2 || formatMajor !== 1) return undefined;
  const headerSize = binary.readUInt16LE(start);
  const toc = start + headerSize;
  if (headerSize < 24 || toc + 4 > binary.length) return undefined;
  const count = binary.readUInt32LE(toc);
  if (count === 0 || count > MAX_ITEMS || toc + 4 + count * 8 > binary.length) return undefined;

  const names: string[] = [];
  const offsets: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const nameOffset = binary.readUInt32LE(toc + 4 + index * 8);
    const dataOffset = binary.readUInt32LE(toc + 8 + index * 8);
    const nameStart = toc + nameOffset;
    const nameEnd = nameStart < binary.length ? binary.indexOf(0, nameStart) : -1;
    if (nameEnd === -1 || nameEnd - nameStart > 200 || toc + dataOffset > binary.length) return undefined;
    names.push(binary.toString('latin1', nameStart, nameEnd));
    offsets.push(headerSize + dataOffset);
  }
  const prefix = names[0].split('/')[0];
  if (!/^icudt\d+[lb]$/.test(prefix) || names.some((name) => !name.startsWith(`${prefix}/`))) return undefined;
  for (let index = 1; index < count; index += 1) {
    if (offsets[index] <= offsets[index - 1]) return undefined;
  }
  const lastLength = itemLength(binary, start + offsets[count - 1], names[count - 1]);
  const length = offsets[count - 1] + roundUp(lastLength, ITEM_ALIGNMENT);
  if (start + length > binary.length) return undefined;
  const items = names.map((name, index) => ({ name, offset: offsets[index], length: (index + 1 < count ? offsets[index + 1] : length) - offsets[index] }));
  return { offset: start, length, headerSize, prefix, items };
}

/**
 * Returns the length of an item from its own header. The table of contents
 * gives only where each item starts, so the last item's length comes from
 * its content: a resource bundle (.res) records its size as the end of its
 * bundle data in its indexes, counted in 32-bit units.
 */
function itemLength(binary: Buffer, start: number, name: string): number {
  if (!name.endsWith('.res')) throw new IcuDataError(`the last item of the ICU data package is ${name}, not a resource bundle, so its length is unknown`);
  const cutShort = (): IcuDataError => new IcuDataError(`the last item of the ICU data package, ${name}, ends after the end of the file`);
  if (start + 2 > binary.length) throw cutShort();
  const headerSize = binary.readUInt16LE(start);
  // The bundle data starts with the root resource, then the indexes: [0] their count, [3] the end of the bundle data.
  const indexes = start + headerSize + 4;
  if (indexes + 16 > binary.length) throw cutShort();
  const indexCount = binary.readUInt32LE(indexes) & 0xff;
  if (indexCount < 4) throw new IcuDataError(`the last item of the ICU data package, ${name}, has ${indexCount} indexes; expected at least 4`);
  return headerSize + binary.readUInt32LE(indexes + 12) * 4;
}

function roundUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/**
 * Folders of the package that hold one resource bundle per locale, besides
 * the top level. Break iteration (`brkitr`) is not one of them: without its
 * Japanese bundle, Node 26.10.0 stopped splitting Chinese words in every
 * locale, and its bundles are small.
 */
const LOCALE_FOLDERS = new Set(['coll', 'curr', 'lang', 'rbnf', 'region', 'unit', 'zone']);
/** A locale bundle: a 2- or 3-letter language, then optional script, region and variant parts (`de`, `zh_Hant_TW`, `de__PHONEBOOK`). */
const LOCALE_BUNDLE = /^([a-z]{2,3})(?:_[A-Za-z0-9]*)*\.res$/;
/** Bundles whose names look like a locale's but hold the list of locales. */
const NOT_LOCALES = new Set(['res_index.res']);

/**
 * Returns the language of a locale's resource bundle, such as `de` for
 * `icudt78l/coll/de_AT.res`, or undefined for an item that belongs to no
 * locale: root, shared pools, the locale lists, normalization, break
 * rules and dictionaries, converters, time zones and other data that
 * every locale uses.
 */
export function localeLanguage(item: string): string | undefined {
  const parts = item.split('/');
  if (parts.length === 3 && !LOCALE_FOLDERS.has(parts[1])) return undefined;
  if (parts.length > 3) return undefined;
  const base = parts[parts.length - 1];
  if (NOT_LOCALES.has(base)) return undefined;
  return LOCALE_BUNDLE.exec(base)?.[1];
}

/** Returns the languages that have a locale bundle at the top level of the package, sorted. */
export function packageLanguages(pkg: IcuPackage): string[] {
  const languages = new Set<string>();
  for (const item of pkg.items) {
    if (item.name.split('/').length === 2) {
      const language = localeLanguage(item.name);
      if (language) languages.add(language);
    }
  }
  return [...languages].sort();
}

/** Returns the bytes of one item of a package in the binary. */
function itemBytes(binary: Buffer, pkg: IcuPackage, item: IcuItem): Buffer {
  return binary.subarray(pkg.offset + item.offset, pkg.offset + item.offset + item.length);
}

/** Returns the locale ID that ICU falls back to by truncation: `de_AT` to `de`, `de__PHONEBOOK` to `de`, `de` to none. */
function truncatedParent(localeId: string): string | undefined {
  const cut = localeId.replace(/_+[^_]*$/, '');
  return cut === localeId || cut === '' ? undefined : cut;
}

/**
 * Returns the names of the items to keep: every item that belongs to no
 * locale, and the locale bundles of the given languages. Then it adds every
 * bundle that a kept bundle takes data from, through %%ALIAS, %%Parent, an
 * alias resource or its truncated locale ID, until none is missing. In ICU
 * 78, Bokmål (`nb`) falls back to `no`, and `yue` collation to `zh_Hant`.
 */
export function itemsToKeep(binary: Buffer, pkg: IcuPackage, languages: readonly string[]): Set<string> {
  const byName = new Map(pkg.items.map((item) => [item.name, item]));
  const kept = new Set<string>();
  const pending: string[] = [];
  const keep = (name: string): void => {
    if (kept.has(name) || !byName.has(name)) return;
    kept.add(name);
    if (name.endsWith('.res') && localeLanguage(name) !== undefined) pending.push(name);
  };
  for (const item of pkg.items) {
    const language = localeLanguage(item.name);
    if (language === undefined) kept.add(item.name);
    else if (languages.includes(language)) keep(item.name);
  }
  while (pending.length > 0) {
    const name = pending.pop() as string;
    const folder = name.slice(0, name.lastIndexOf('/'));
    const pool = byName.get(`${folder}/pool.res`);
    let references: string[];
    try {
      references = bundleReferences(itemBytes(binary, pkg, byName.get(name) as IcuItem), name, pool ? itemBytes(binary, pkg, pool) : undefined);
    } catch (error) {
      if (error instanceof IcuResourceError) throw new IcuDataError(`cannot read the references of ${name}: ${error.message}`);
      throw error;
    }
    const parent = truncatedParent(name.slice(folder.length + 1, -'.res'.length));
    for (const localeId of parent ? [...references, parent] : references) keep(`${folder}/${localeId}.res`);
  }
  return kept;
}

export interface IcuRewrite {
  removedItems: number;
  /** Bytes of the old package that are now zeros. */
  zeroedBytes: number;
}

/**
 * Rewrites the package in place with only the items named in `keep`, in
 * the same order, and fills the rest of the old package with zeros. The
 * binary keeps its length and every byte outside the package.
 */
export function rewriteIcuPackage(binary: Buffer, pkg: IcuPackage, keep: ReadonlySet<string>): IcuRewrite {
  const kept = pkg.items.filter((item) => keep.has(item.name));
  if (kept.length === 0) throw new IcuDataError('no item of the ICU data package would be kept');
  const names = kept.map((item) => Buffer.from(`${item.name}\0`, 'latin1'));
  const tocSize = 4 + kept.length * 8;
  const namesSize = names.reduce((sum, name) => sum + name.length, 0);
  const firstItem = roundUp(pkg.headerSize + tocSize + namesSize, ITEM_ALIGNMENT);
  const rebuilt = Buffer.alloc(firstItem + kept.reduce((sum, item) => sum + item.length, 0));
  binary.copy(rebuilt, 0, pkg.offset, pkg.offset + pkg.headerSize);
  rebuilt.writeUInt32LE(kept.length, pkg.headerSize);
  let nameAt = tocSize;
  let itemAt = firstItem;
  kept.forEach((item, index) => {
    // Offsets in the table of contents count from the table itself, which follows the header.
    rebuilt.writeUInt32LE(nameAt, pkg.headerSize + 4 + index * 8);
    rebuilt.writeUInt32LE(itemAt - pkg.headerSize, pkg.headerSize + 8 + index * 8);
    names[index].copy(rebuilt, pkg.headerSize + nameAt);
    nameAt += names[index].length;
    binary.copy(rebuilt, itemAt, pkg.offset + item.offset, pkg.offset + item.offset + item.length);
    itemAt += item.length;
  });
  rebuilt.copy(binary, pkg.offset);
  binary.fill(0, pkg.offset + rebuilt.length, pkg.offset + pkg.length);
  return { removedItems: pkg.items.length - kept.length, zeroedBytes: pkg.length - rebuilt.length };
}

/** Rewrites the package in place to keep the locale data of `languages` and what it needs (see itemsToKeep). */
export function keepLanguages(binary: Buffer, pkg: IcuPackage, languages: readonly string[]): IcuRewrite {
  return rewriteIcuPackage(binary, pkg, itemsToKeep(binary, pkg, languages));
}
