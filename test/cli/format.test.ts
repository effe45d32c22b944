import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cellText, displayWidth, formatJsonRows, formatTable, jsonValue, uniqueKeys } from '../../src/cli/format.ts';

describe('formatTable', () => {
  it('aligns columns under a header and a rule, numbers to the right', () => {
    const text = formatTable({
      columns: ['id', 'name'],
      rows: [
        [1, 'a'],
        [100, 'longer name'],
      ],
    });
    expect(text).toBe([' id  name', '---  -----------', '  1  a', '100  longer name', ''].join('\n'));
  });

  it('shows NULL, blobs as hex, and keeps a row on one line', () => {
    const text = formatTable({ columns: ['v'], rows: [[null], [new Uint8Array([0, 255])], ['two\nlines']] });
    expect(text.split('\n')).toEqual(['v', '----------', 'NULL', "x'00ff'", 'two\\nlines', '']);
  });

  it('prints nothing for a statement without columns and only the header for no rows', () => {
    expect(formatTable({ columns: [], rows: [] })).toBe('');
    expect(formatTable({ columns: ['a', 'bb'], rows: [] })).toBe('a  bb\n-  --\n');
  });

  it('puts every cell in its column: the slice under its rule holds exactly that cell', () => {
    const value = fc.oneof(fc.string({ unit: 'grapheme-ascii' }), fc.integer(), fc.constant(null), fc.bigInt());
    fc.assert(
      fc.property(fc.array(fc.tuple(value, value, value), { minLength: 1, maxLength: 6 }), (rows) => {
        const lines = formatTable({ columns: ['x', 'y', 'z'], rows }).split('\n');
        // The rule line gives each column's start and width.
        const spans = [...lines[1]!.matchAll(/-+/g)].map((m) => [m.index, m.index + m[0].length] as const);
        expect(spans).toHaveLength(3);
        rows.forEach((row, r) => {
          const line = lines[r + 2]!.padEnd(spans[2]![1]); // lines carry no trailing spaces
          row.forEach((v, c) => {
            const [start, end] = spans[c]!;
            expect(line.slice(start, end).trim()).toBe(cellText(v).trim());
            if (c < 2) expect(line.slice(end, end + 2)).toBe('  ');
          });
        });
      }),
      { numRuns: 100 },
    );
  });

  it('cuts long cells to the maximum width with an ellipsis', () => {
    const text = formatTable({ columns: ['t'], rows: [['x'.repeat(200)]] }, 10);
    expect(text.split('\n')[2]).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('JSON output', () => {
  it('is an array of row objects that JSON.parse reads back', () => {
    const text = formatJsonRows({ columns: ['id', 'name', 'score'], rows: [[1, 'a', 1.5], [2, null, -3]] });
    expect(JSON.parse(text)).toEqual([
      { id: 1, name: 'a', score: 1.5 },
      { id: 2, name: null, score: -3 },
    ]);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('keeps every column when names repeat', () => {
    expect(uniqueKeys(['id', 'id', 'x', 'id'])).toEqual(['id', 'id:2', 'x', 'id:3']);
    expect(uniqueKeys(['a', 'a', 'a:2'])).toEqual(['a', "a:2'", 'a:2']);
    expect(JSON.parse(formatJsonRows({ columns: ['id', 'id'], rows: [[1, 2]] }))).toEqual([{ id: 1, 'id:2': 2 }]);
  });

  it('writes 64-bit integers exactly and blobs as hex objects', () => {
    expect(jsonValue(9007199254740993n)).toBe('9007199254740993');
    expect(jsonValue(new Uint8Array([1, 2, 254]))).toBe('{"$hex":"0102fe"}');
    expect(jsonValue(Infinity)).toBe('1e999');
    expect(JSON.parse(jsonValue(-Infinity))).toBe(-Infinity);
  });

  it('round-trips any string and safe number through JSON.parse', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null))), (values) => {
        const text = formatJsonRows({ columns: values.map((_, i) => `c${i}`), rows: [values] });
        expect(Object.values(JSON.parse(text)[0])).toEqual(values);
      }),
      { numRuns: 100 },
    );
  });
});

describe('displayWidth', () => {
  it('counts wide characters twice and combining marks not at all', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('日本')).toBe(4);
    expect(displayWidth('e\u0301')).toBe(1);
  });
});
