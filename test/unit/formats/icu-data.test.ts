import { describe, expect, it } from 'vitest';
import { localeLanguage } from '../../../src/formats/icu-data.js';
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
});
