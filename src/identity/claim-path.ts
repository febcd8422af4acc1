/**
 * Where a claim sits in a token's payload. Two spellings:
 * - a dot path of plain names: `team`, `realm_access.roles`;
 * - an array of segments, taken literally, for names a dot path cannot spell (namespaced claim
 *   URLs hold dots, colons and slashes): `["https://example.com/claims", "team"]`.
 */
export type ClaimPath = string | readonly string[];

const maxSegments = 8;
const maxSegmentLength = 256;
/** A segment of the dot form: letters, digits, `_`, `-`, `$`. */
const dotSegment = /^[A-Za-z0-9_$-]+$/;

/** Why `path` is not a usable claim path, or undefined when it is. */
export function claimPathIssue(path: ClaimPath): string | undefined {
  if (typeof path === 'string') {
    if (/[:/]/.test(path)) return `a dot path cannot hold ':' or '/'; write a namespaced claim as an array of segments, e.g. ["${path}"]`;
    const segments = path.split('.');
    if (segments.length > maxSegments) return `must have at most ${maxSegments} segments`;
    if (!segments.every((s) => dotSegment.test(s) && s.length <= maxSegmentLength)) {
      return 'must be names of letters, digits, _ - $ joined by dots (e.g. realm_access.roles); use the array form for any other name';
    }
    return undefined;
  }
  if (path.length === 0 || path.length > maxSegments) return `must have 1 to ${maxSegments} segments`;
  if (!path.every((s) => s.length > 0 && s.length <= maxSegmentLength)) return `each segment must be 1 to ${maxSegmentLength} characters`;
  return undefined;
}

/** The segments of a valid path (see claimPathIssue). */
export function claimPathSegments(path: ClaimPath): readonly string[] {
  return typeof path === 'string' ? path.split('.') : [...path];
}

/** How a path is shown in logs and messages. */
export function formatClaimPath(segments: readonly string[]): string {
  return segments.every((s) => dotSegment.test(s)) ? segments.join('.') : JSON.stringify(segments);
}

/**
 * The value at `segments` in a decoded payload, or undefined. Only own properties of plain
 * objects are followed, so `__proto__` or `constructor` never reach Object.prototype.
 */
export function readClaim(payload: unknown, segments: readonly string[]): unknown {
  let node = payload;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}
