/**
 * The one plain-object check: a non-null object that is not an array. Every boundary that takes
 * `unknown` (request bodies, upstream bodies, fake upstreams' inputs) narrows with it.
 */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
