/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) read from a client, strictly: a header
 * that is not exactly right is ignored (the request goes on as if none was sent, never a 400).
 * These two headers are the only client headers the gateway ever passes upstream, so what is
 * passed on is rebuilt from the parsed fields or checked character by character: a client
 * cannot smuggle a CR/LF, a second header or an oversized value through them.
 */

/** A valid remote parent: lowercase hex ids, neither all zeros. */
export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  /** The sampled flag (bit 0 of trace-flags); the other bits are not passed on. */
  readonly sampled: boolean;
}

/**
 * `version-traceid-parentid-flags`. Version 00 is exactly 55 characters. A later version (not
 * ff) may append `-…` fields: its first four fields are read as version 00's (the spec's
 * forward compatibility rule). Uppercase hex is invalid (the spec says lowercase).
 */
const traceparentV00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const traceparentLater = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[\x21-\x7e]*)?$/;
const zeroTraceId = '0'.repeat(32);
const zeroSpanId = '0'.repeat(16);

/** Longest traceparent read (a later version's extra fields included); longer ones are ignored. */
const maxTraceparentChars = 256;

export function parseTraceparent(header: string | string[] | undefined): TraceParent | undefined {
  // Two traceparent headers are ambiguous: ignored, as the spec allows.
  if (typeof header !== 'string' || header.length > maxTraceparentChars) return undefined;
  let traceId: string;
  let spanId: string;
  let flags: string;
  const v00 = traceparentV00.exec(header);
  if (v00) {
    traceId = v00[1] as string;
    spanId = v00[2] as string;
    flags = v00[3] as string;
  } else {
    const later = traceparentLater.exec(header);
    // Version 00 with anything after its flags is malformed; ff is forbidden.
    if (!later || later[1] === '00' || later[1] === 'ff') return undefined;
    traceId = later[2] as string;
    spanId = later[3] as string;
    flags = later[4] as string;
  }
  if (traceId === zeroTraceId || spanId === zeroSpanId) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** The version-00 header for a span. */
export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

/**
 * tracestate: at most 32 list members of `key=value`, comma separated (optional spaces and tabs
 * around them, empty members allowed), 512 characters at most (the spec lets a vendor truncate
 * past it; we drop it whole). Keys: lowercase letters, digits and `_ - * /`, optionally `tenant@system`;
 * values: printable ASCII except `,` and `=`, not ending in a space. Returned trimmed, or
 * undefined when invalid (then not passed on).
 */
const maxTracestateChars = 512;
const maxTracestateMembers = 32;
const simpleKey = '[a-z][a-z0-9_*/-]{0,255}';
const multiKey = '[a-z0-9][a-z0-9_*/-]{0,240}@[a-z][a-z0-9_*/-]{0,13}';
const memberPattern = new RegExp(`^(?:${simpleKey}|${multiKey})=[\\x20-\\x2b\\x2d-\\x3c\\x3e-\\x7e]{0,255}[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]$`);

export function parseTracestate(header: string | string[] | undefined): string | undefined {
  // Several tracestate headers may be combined (the spec says so); Node already joins them with ", ".
  if (typeof header !== 'string' || header.length > maxTracestateChars) return undefined;
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of header.split(',')) {
    const member = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue;
    if (!memberPattern.test(member)) return undefined;
    const key = member.slice(0, member.indexOf('='));
    // A key listed twice is invalid.
    if (keys.has(key)) return undefined;
    keys.add(key);
    members.push(member);
    if (members.length > maxTracestateMembers) return undefined;
  }
  return members.length === 0 ? undefined : members.join(',');
}

/** The trace id of a valid `traceparent`, else undefined (the edge's own answers log it). */
export function traceIdOf(header: string | string[] | undefined): string | undefined {
  return header === undefined ? undefined : parseTraceparent(header)?.traceId;
}
