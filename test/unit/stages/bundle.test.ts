import { describe, expect, it } from 'vitest';
import { computedPathWarnings } from '../../../src/stages/bundle.js';

describe('computedPathWarnings', () => {
  it('names file, line and column', () => {
    const warnings = computedPathWarnings(new Map([['node_modules/a/load.js', [{ kind: 'require' as const, line: 12, column: 5 }]]]));

    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^node_modules\/a\/load\.js:12:5: require\(\) of a computed path/);
  });

  it('sorts by file', () => {
    const warnings = computedPathWarnings(
      new Map([
        ['b.js', [{ kind: 'import' as const, line: 1, column: 1 }]],
        ['a.js', [{ kind: 'import' as const, line: 2, column: 1 }]],
      ]),
    );

    expect(warnings.map((warning) => warning.split(':')[0])).toEqual(['a.js', 'b.js']);
  });

  it('counts calls past the listed maximum', () => {
    const calls = Array.from({ length: 25 }, (_, index) => ({ kind: 'require' as const, line: index + 1, column: 1 }));
    const warnings = computedPathWarnings(new Map([['many.js', calls]]));

    expect(warnings).toHaveLength(21);
    expect(warnings[20]).toBe('5 more require() or import() calls of a computed path are not listed');
  });
});
