/** Number and time formatting shared by the pages. */

const compact = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

export function num(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return compact.format(n);
}

export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
}

/** Dollars: exact strings from the API are shown as they are; floats (live) to 6 places. */
export function usd(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'string') return `$${v}`;
  return `$${v < 0.01 ? v.toFixed(6) : v.toFixed(4)}`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').slice(0, 19);
}

export function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}
