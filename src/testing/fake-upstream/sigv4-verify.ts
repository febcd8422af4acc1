import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * An independent AWS Signature Version 4 check for the fake Bedrock server, written from AWS's
 * published algorithm ("Create a signed AWS API request") with node:crypto rather than with the
 * library the gateway signs with, so a passing check means the gateway's signature is right,
 * not merely self-consistent. Covers what Bedrock calls use: no query string, a JSON body.
 */

export interface SigV4Request {
  readonly method: string;
  /** The request path exactly as received (still percent-encoded). */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** What an `Authorization: AWS4-HMAC-SHA256 …` header says. */
export interface SigV4Authorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

export type SigV4Result = { ok: true; auth: SigV4Authorization } | { ok: false; reason: 'missing' | 'malformed' | 'mismatch' | 'expired'; message: string };

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{8})T\d{6}Z$/;
/** AWS refuses requests signed more than 5 minutes away from its clock. */
const maxSkewMs = 5 * 60 * 1000;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Parses the Authorization header and checks its shape, x-amz-date and the credential scope. */
export function parseSigV4(req: SigV4Request, service: string): SigV4Result {
  const authorization = header(req.headers, 'authorization');
  if (authorization === undefined) return { ok: false, reason: 'missing', message: 'Missing Authentication Token' };
  const m = AUTH.exec(authorization);
  const amzDate = header(req.headers, 'x-amz-date');
  const dateMatch = amzDate === undefined ? null : AMZ_DATE.exec(amzDate);
  if (!m || !dateMatch) return { ok: false, reason: 'malformed', message: 'Authorization header requires a valid AWS4-HMAC-SHA256 Credential, SignedHeaders, Signature and an x-amz-date header.' };
  const [, accessKeyId, date, region, scopeService, signed, signature] = m as unknown as [string, string, string, string, string, string, string];
  const signedHeaders = signed.split(';');
  if (date !== dateMatch[1]) return { ok: false, reason: 'malformed', message: 'Credential date does not match x-amz-date.' };
  if (scopeService !== service) return { ok: false, reason: 'malformed', message: `Credential should be scoped to correct service: '${service}'.` };
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) return { ok: false, reason: 'malformed', message: 'SignedHeaders must include host and x-amz-date.' };
  return { ok: true, auth: { accessKeyId, date, region, service: scopeService, signedHeaders, signature } };
}

/** Full verification with the secret key: recomputes the signature and compares in constant time. */
export function verifySigV4(req: SigV4Request, service: string, secretAccessKey: string, nowMs: number): SigV4Result {
  const parsed = parseSigV4(req, service);
  if (!parsed.ok) return parsed;
  const { auth } = parsed;
  const amzDate = header(req.headers, 'x-amz-date') as string;
  const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(nowMs - signedAt) > maxSkewMs) return { ok: false, reason: 'expired', message: 'Signature expired: the request time is more than 5 minutes away from the server time.' };
  const bodyHash = sha256Hex(req.body);
  const declared = header(req.headers, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== bodyHash) return { ok: false, reason: 'mismatch', message: 'The provided x-amz-content-sha256 header does not match what was computed.' };
  const canonicalHeaders = auth.signedHeaders.map((name) => `${name}:${(header(req.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [req.method, canonicalUri(req.path), '', canonicalHeaders, auth.signedHeaders.join(';'), bodyHash].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${secretAccessKey}`, auth.date);
  for (const part of [auth.region, auth.service, 'aws4_request']) key = hmac(key, part);
  const expected = hmac(key, stringToSign);
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'mismatch', message: 'The request signature we calculated does not match the signature you provided.' };
  }
  return parsed;
}

/**
 * Every service but S3 encodes the (already encoded) path once more, segment by segment, with
 * RFC 3986 unreserved characters left alone: `/model/a%3Ab/converse` → `/model/a%253Ab/converse`.
 */
export function canonicalUri(path: string): string {
  const encoded = path
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
  return encoded === '' ? '/' : encoded;
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}
