/**
 * CSV for exports opened in spreadsheets (RFC 4180: CRLF rows, fields quoted when they hold a
 * comma, quote or line break, quotes doubled). A cell that a spreadsheet would read as a formula
 * (starting with = + - @, or a tab or carriage return that some strip first) is prefixed with
 * `'` (OWASP's CSV injection advice), so a name can never run as `=HYPERLINK(…)` or `=cmd|…`.
 * Numbers are written as numbers: ours are never negative, so none starts with `-`.
 */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** A header row and the rows, each cell escaped; CRLF after every row. */
export function csvDocument(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null | undefined>>): string {
  let out = `${header.map(csvCell).join(',')}\r\n`;
  for (const row of rows) out += `${row.map(csvCell).join(',')}\r\n`;
  return out;
}
