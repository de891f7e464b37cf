/**
 * Reads the references from one ICU resource bundle (a `.res` item) to
 * other bundles, so that a bundle is never kept without the bundles that it
 * takes data from. A bundle names another one in three ways:
 * - `%%ALIAS` at the top level: the whole bundle is another locale's
 *   (`in` is `id`);
 * - `%%Parent` at the top level: the bundle falls back to that locale
 *   instead of its truncated ID (`nn` to `no`, `ars` to `ar_SA`);
 * - an alias resource such as `zh_Hant/NumberElements`, whose first path
 *   segment is a locale. Aliases that start with `/` name no other bundle
 *   of the folder, because they point into the same bundle, another
 *   package or the locale at run time.
 *
 * The bundle format (ICU's uresdata.h): after the data header, a root
 * resource and the indexes, then keys, 16-bit units and 32-bit resources.
 * A resource is a 32-bit word, its type in the top 4 bits. Bundles built
 * with a pool bundle (`pool.res` in the same folder) take keys and strings
 * from it.
 */

export class IcuResourceError extends Error {}

const STRING = 0;
const TABLE = 2;
const ALIAS = 3;
const TABLE32 = 4;
const TABLE16 = 5;
const STRING_V2 = 6;
const ARRAY = 8;
const ARRAY16 = 9;

const INDEX_KEYS_TOP = 1;
const INDEX_ATTRIBUTES = 5;
const INDEX_16BIT_TOP = 6;
const ATTRIBUTE_USES_POOL = 4;

/** Top-level keys whose string value names a bundle that this one needs. */
const REFERENCE_KEYS = new Set(['%%ALIAS', '%%Parent']);

interface BundleData {
  /** The bundle data, from the root resource on. */
  data: Buffer;
  indexLength: number;
  /** Byte offset of the 16-bit units in `data`. */
  units16: number;
  localKeyLimit: number;
  poolStringIndexLimit: number;
  poolStringIndex16Limit: number;
}

function readBundleData(item: Buffer, name: string): BundleData {
  if (item.length < 4) throw new IcuResourceError(`${name} is too short to be a resource bundle`);
  const headerSize = item.readUInt16LE(0);
  // The format version's major number follows the data format in the header's UDataInfo.
  const formatVersion = item.length > 16 ? item[16] : 0;
  if (formatVersion < 2) throw new IcuResourceError(`${name} has resource bundle format ${formatVersion}; expected 2 or later`);
  const data = item.subarray(headerSize);
  if (data.length < 8) throw new IcuResourceError(`${name} has no bundle data`);
  const first = data.readUInt32LE(4);
  const indexLength = first & 0xff;
  if (indexLength < 5 || data.length < 4 + indexLength * 4) throw new IcuResourceError(`${name} has ${indexLength} indexes; expected at least 5`);
  const index = (position: number): number => (position < indexLength ? data.readUInt32LE(4 + position * 4) : 0);
  const keysTop = index(INDEX_KEYS_TOP);
  const attributes = index(INDEX_ATTRIBUTES);
  const has16Bit = indexLength > INDEX_16BIT_TOP && index(INDEX_16BIT_TOP) > keysTop;
  return {
    data,
    indexLength,
    units16: has16Bit ? keysTop * 4 : -1,
    // Key offsets below this are the bundle's own keys; a bundle without keys of its own takes them all from the pool.
    localKeyLimit: keysTop > 1 + indexLength ? keysTop * 4 : 0,
    // From format 3, the limit's bits 23..0 are in the first index above its count, bits 27..24 in bits 15..12 of the attributes.
    poolStringIndexLimit: formatVersion >= 3 ? (first >>> 8) | ((attributes & 0xf000) << 12) : 0,
    poolStringIndex16Limit: attributes >>> 16,
  };
}

function usesPool(bundle: BundleData): boolean {
  return bundle.indexLength > INDEX_ATTRIBUTES && (bundle.data.readUInt32LE(4 + INDEX_ATTRIBUTES * 4) & ATTRIBUTE_USES_POOL) !== 0;
}

/**
 * Returns the IDs of the locales whose bundles in the same folder this
 * bundle takes data from (see the file comment). `pool` is the `pool.res`
 * item of the bundle's folder, which a bundle that uses it needs.
 */
export function bundleReferences(item: Buffer, name: string, pool?: Buffer): string[] {
  const bundle = readBundleData(item, name);
  const poolBundle = pool ? readBundleData(pool, `the pool bundle of ${name}`) : undefined;
  if (usesPool(bundle) && !poolBundle) throw new IcuResourceError(`${name} uses a pool bundle, and its folder has none`);
  const { data } = bundle;
  const fail = (problem: string): never => {
    throw new IcuResourceError(`${name}: ${problem}`);
  };
  const u32 = (offset: number): number => (offset + 4 <= data.length ? data.readUInt32LE(offset) : fail(`a resource at byte ${offset} is past the end`));
  const u16 = (offset: number): number => (offset + 2 <= data.length ? data.readUInt16LE(offset) : fail(`a resource at byte ${offset} is past the end`));

  const readKey = (offset: number, fromPool: boolean): string => {
    const source = fromPool ? poolBundle : bundle;
    if (!source) return fail('a key is in the pool bundle, and there is none');
    // The pool's keys follow its root resource and indexes.
    const start = fromPool ? 4 + source.indexLength * 4 + offset : offset;
    const end = source.data.indexOf(0, start);
    if (start >= source.data.length || end === -1) fail(`a key at byte ${start} is past the end`);
    return source.data.toString('latin1', start, end);
  };
  const key16 = (offset: number): string => (offset < bundle.localKeyLimit ? readKey(offset, false) : readKey(offset - bundle.localKeyLimit, true));
  const key32 = (offset: number): string => (offset >= 0 ? readKey(offset, false) : readKey(offset & 0x7fffffff, true));

  /** Reads a string of 16-bit units with ICU's length prefix, or up to its terminating zero. */
  const string16 = (source: BundleData, unitIndex: number): string => {
    const at = (index: number): number => {
      const offset = source.units16 + index * 2;
      return offset + 2 <= source.data.length ? source.data.readUInt16LE(offset) : fail(`a string at unit ${index} is past the end`);
    };
    if (source.units16 < 0) fail('a string refers to 16-bit units that the bundle does not have');
    const first = at(unitIndex);
    let start = unitIndex;
    let length: number;
    if (first < 0xdc00) {
      length = 0;
      while (at(unitIndex + length) !== 0) length += 1;
    } else if (first < 0xdfef) {
      length = first & 0x3ff;
      start = unitIndex + 1;
    } else if (first < 0xdfff) {
      length = ((first - 0xdfef) << 16) | at(unitIndex + 1);
      start = unitIndex + 2;
    } else {
      length = (at(unitIndex + 1) << 16) | at(unitIndex + 2);
      start = unitIndex + 3;
    }
    const offset = source.units16 + start * 2;
    if (offset + length * 2 > source.data.length) fail(`a string at unit ${unitIndex} is past the end`);
    return source.data.toString('utf16le', offset, offset + length * 2);
  };

  const stringOf = (resource: number): string | undefined => {
    const type = resource >>> 28;
    const offset = resource & 0x0fffffff;
    if (type === STRING || type === ALIAS) {
      if (offset === 0) return '';
      const length = u32(offset * 4);
      if (offset * 4 + 4 + length * 2 > data.length) fail(`a string at byte ${offset * 4} is past the end`);
      return data.toString('utf16le', offset * 4 + 4, offset * 4 + 4 + length * 2);
    }
    if (type === STRING_V2) {
      if (offset < bundle.poolStringIndexLimit) return poolBundle ? string16(poolBundle, offset) : fail('a string is in the pool bundle, and there is none');
      return string16(bundle, offset - bundle.poolStringIndexLimit);
    }
    return undefined;
  };
  const from16 = (unit: number): number =>
    (STRING_V2 << 28) | (unit < bundle.poolStringIndex16Limit ? unit : unit - bundle.poolStringIndex16Limit + bundle.poolStringIndexLimit);

  /** Returns the entries of a table or array resource as [key, resource] pairs; arrays have no keys. */
  const entriesOf = (resource: number): [string | undefined, number][] => {
    const type = resource >>> 28;
    const offset = resource & 0x0fffffff;
    const entries: [string | undefined, number][] = [];
    if (type === TABLE || type === TABLE32 || type === ARRAY) {
      if (offset === 0) return entries;
      const at = offset * 4;
      if (type === TABLE) {
        const count = u16(at);
        const items = at + 2 + count * 2 + ((count + 1) % 2) * 2;
        for (let index = 0; index < count; index += 1) entries.push([key16(u16(at + 2 + index * 2)), u32(items + index * 4)]);
      } else if (type === TABLE32) {
        const count = u32(at);
        for (let index = 0; index < count; index += 1) entries.push([key32(data.readInt32LE(at + 4 + index * 4)), u32(at + 4 + count * 4 + index * 4)]);
      } else {
        const count = u32(at);
        for (let index = 0; index < count; index += 1) entries.push([undefined, u32(at + 4 + index * 4)]);
      }
    } else if (type === TABLE16 || type === ARRAY16) {
      if (bundle.units16 < 0) fail('a 16-bit container refers to units that the bundle does not have');
      const at = bundle.units16 + offset * 2;
      const count = u16(at);
      if (type === TABLE16) {
        for (let index = 0; index < count; index += 1) entries.push([key16(u16(at + 2 + index * 2)), from16(u16(at + 2 + count * 2 + index * 2))]);
      } else {
        for (let index = 0; index < count; index += 1) entries.push([undefined, from16(u16(at + 2 + index * 2))]);
      }
    }
    return entries;
  };

  const references = new Set<string>();
  const root = u32(0);
  for (const [key, value] of entriesOf(root)) {
    if (key === undefined || !REFERENCE_KEYS.has(key)) continue;
    const target = stringOf(value);
    if (target) references.add(target);
  }
  // Aliases are 32-bit resources, so only containers of 32-bit resources can hold them.
  const visited = new Set<number>();
  const pending = [root];
  while (pending.length > 0) {
    const resource = pending.pop() as number;
    const type = resource >>> 28;
    if (type === ALIAS) {
      const path = stringOf(resource) ?? '';
      const slash = path.indexOf('/');
      if (slash !== 0) references.add(slash === -1 ? path : path.slice(0, slash));
    } else if ((type === TABLE || type === TABLE32 || type === ARRAY) && !visited.has(resource)) {
      visited.add(resource);
      for (const [, value] of entriesOf(resource)) pending.push(value);
    }
  }
  return [...references].filter((reference) => reference !== '');
}
