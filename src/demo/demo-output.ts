import type { DemoResult } from './demo-client.js';

/** One line of the demo's story on stdout. */
export const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** A call's line: who asked for what, the status, and (served) where, how, how fast and at what cost. */
export function formatResult(r: DemoResult): string {
  const c = r.call;
  const head = `  #${String(c.n).padStart(2, '0')} ${c.tenant.padEnd(7)} ${c.model.padEnd(13)} ${c.stream ? 'stream' : 'json  '}  ${r.status}`;
  const ms = `${Math.round(r.ms)} ms`.padStart(7);
  if (r.status === 200) {
    const via = r.servedModel && r.servedModel !== c.model ? ` (fallback to ${r.servedModel})` : '';
    const chunks = c.stream ? `, ${r.chunks} chunks` : '';
    const cost = r.costUsd === undefined ? 'no cost' : `$${r.costUsd}${r.costEstimated ? ' (estimated)' : ''}`;
    return `${head}  ${(r.deployment ?? '?').padEnd(13)} attempts ${r.attempts ?? '?'} ${ms}  ${cost}${chunks}${via}`;
  }
  const wait = r.retryAfter ? ` (Retry-After ${r.retryAfter}s)` : '';
  return `${head}  ${shorten(r.text, 90)}${wait}`;
}

/** At most `max` characters, cut at a word, marked with … when cut. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.lastIndexOf(' ', max - 1);
  return `${text.slice(0, cut > 0 ? cut : max - 1)}…`;
}
