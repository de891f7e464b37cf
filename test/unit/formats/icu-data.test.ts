import { describe, expect, it } from 'vitest';
import { findIcuPackage, IcuDataError, localeLanguage } from '../../../src/formats/icu-data.js';
import type { DuoSeaError } from '../../../src/errors.js';
import { parseIcuLocales } from '../../../src/stages/icu-trim.js';

describe('localeLanguage', () => {
  it.each([
    ['icudt78l/de.res', 'de'],
    ['icudt78l/zh_Hant_TW.res', 'zh'],
    ['icudt78l/coll/de__PHONEBOOK.res', 'de'],
    ['icudt78l/coll/de_.res', 'de'],
    ['icudt78l/zone/yue_Hans.res', 'yue'],
  ])('gives %s the language %s', (item, language) => {
    expect(localeLanguage(item)).toBe(language);
  });

  it.each([
    'icudt78l/root.res',
    'icudt78l/pool.res',
    'icudt78l/res_index.res',
    'icudt78l/coll/res_index.res',
    'icudt78l/supplementalData.res',
    'icudt78l/zoneinfo64.res',
    'icudt78l/cnvalias.icu',
    'icudt78l/brkitr/thaidict.dict',
    'icudt78l/brkitr/word.brk',
    'icudt78l/brkitr/ja.res',
    'icudt78l/translit/root.res',
    'icudt78l/zone/tzdbNames.res',
  ])('leaves %s to every locale', (item) => {
    expect(localeLanguage(item)).toBeUndefined();
  });
});

describe('parseIcuLocales', () => {
  it('adds English and sorts without repeats', () => {
    expect(parseIcuLocales('ja,de,ja')).toEqual(['de', 'en', 'ja']);
    expect(parseIcuLocales(' en ')).toEqual(['en']);
  });

  it.each(['de-AT', 'de_AT', 'EN', '', 'en,', 'english'])('rejects %j', (value) => {
    expect(() => parseIcuLocales(value)).toThrow(/ISO 639 language codes/);
  });

  it.each([
    ['en,,de', 'an empty entry', 'no two commas in a row'],
    ['EN', '"EN"', 'lower case'],
    ['de-AT', '"de-AT"', 'without region or script'],
  ])('explains what is wrong with %j', (value, named, hint) => {
    let error: DuoSeaError | undefined;
    try {
      parseIcuLocales(value);
    } catch (caught) {
      error = caught as DuoSeaError;
    }

    expect(error?.message).toContain(`it has ${named}.`);
    expect(error?.hint).toContain(hint);
  });
});

/** Returns an ICU data header of 32 bytes: header size, magic, then a little-endian UDataInfo with the data format. */
function dataHeader(format: string): Buffer {
  const header = Buffer.alloc(32);
  header.writeUInt16LE(32, 0);
  header[2] = 0xda;
  header[3] = 0x27;
  header.writeUInt16LE(20, 4);
  header[10] = 2;
  header.write(format, 12, 'latin1');
  header[16] = 1;
  return header;
}

/** Returns a resource bundle with `words` 32-bit units of bundle data: the root resource, then 5 indexes, [3] the end of the data. */
function resourceBundle(words: number): Buffer {
  const bundle = Buffer.alloc(32 + words * 4);
  dataHeader('ResB').copy(bundle);
  bundle.writeUInt32LE(5, 32 + 4);
  bundle.writeUInt32LE(words, 32 + 4 + 12);
  return bundle;
}

/** Returns an ICU common data package of these items, laid out as icupkg writes one: every item starts on a 16-byte boundary. */
function commonData(items: Array<[string, Buffer]>): Buffer {
  const header = dataHeader('CmnD');
  const names = items.map(([name]) => Buffer.from(`${name}\0`, 'latin1'));
  const toc = Buffer.alloc(4 + items.length * 8);
  toc.writeUInt32LE(items.length, 0);
  let nameAt = toc.length;
  let itemAt = Math.ceil((header.length + toc.length + Buffer.concat(names).length) / 16) * 16;
  const parts: Buffer[] = [];
  items.forEach(([, data], index) => {
    // Both offsets count from the start of the table of contents, which follows the header.
    toc.writeUInt32LE(nameAt, 4 + index * 8);
    toc.writeUInt32LE(itemAt - header.length, 8 + index * 8);
    nameAt += names[index].length;
    const padded = Buffer.alloc(Math.ceil(data.length / 16) * 16);
    data.copy(padded);
    parts.push(padded);
    itemAt += padded.length;
  });
  const head = Buffer.concat([header, toc, ...names]);
  return Buffer.concat([head, Buffer.alloc(Math.ceil(head.length / 16) * 16 - head.length), ...parts]);
}

describe('findIcuPackage', () => {
  const pkg = commonData([
    ['icudt78l/en.res', resourceBundle(8)],
    ['icudt78l/root.res', resourceBundle(8)],
  ]);
  const binary = Buffer.concat([Buffer.alloc(64, 0x90), pkg, Buffer.alloc(64, 0x90)]);

  it('finds a package between other bytes', () => {
    const found = findIcuPackage(binary);

    expect(found.offset).toBe(64);
    expect(found.length).toBe(pkg.length);
    expect(found.items.map((item) => item.name)).toEqual(['icudt78l/en.res', 'icudt78l/root.res']);
  });

  // A --node-binary file that ends inside the last item passes the base binary checks of PE targets, which are not stripped.
  it('rejects a package cut inside its last item', () => {
    const lastItem = findIcuPackage(binary).items[1];
    const cut = binary.subarray(0, 64 + lastItem.offset + 10);

    expect(() => findIcuPackage(cut)).toThrow(IcuDataError);
  });
});
