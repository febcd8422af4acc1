import { describe, expect, it } from 'vitest';
import { csvCell, csvDocument } from './csv.js';

describe('csvCell', () => {
  it('prefixes what a spreadsheet would run as a formula', () => {
    expect(csvCell("=cmd|'/C calc'!A0")).toBe("'=cmd|'/C calc'!A0");
    expect(csvCell('+1+1')).toBe("'+1+1");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\t=1')).toBe("'\t=1");
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
  });

  it('quotes commas, quotes and line breaks; leaves plain text, numbers and empty cells alone', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('\r=1')).toBe(`"'\r=1"`);
    expect(csvCell('team-a')).toBe('team-a');
    expect(csvCell(42)).toBe('42');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
  });

  it('writes a header row and CRLF rows', () => {
    expect(csvDocument(['team', 'cost_usd'], [['a', '0.01'], [null, '0.00']])).toBe('team,cost_usd\r\na,0.01\r\n,0.00\r\n');
  });
});
