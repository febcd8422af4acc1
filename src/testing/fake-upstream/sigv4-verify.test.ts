import { describe, expect, it } from 'vitest';
import { Secret } from '../../config/secret.js';
import type { UpstreamCall } from '../../providers/types.js';
import { authorize, awsSigV4 } from '../../upstream/credentials.js';
import { parseSigV4, verifySigV4, type SigV4Request } from './sigv4-verify.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

describe('SigV4 verifier (the fake Bedrock side)', () => {
  it("matches AWS's published test vector post-vanilla", () => {
    // AWS Signature Version 4 test suite, "post-vanilla": POST / with only Host and X-Amz-Date.
    const req: SigV4Request = {
      method: 'POST',
      path: '/',
      body: '',
      headers: {
        host: 'example.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
      },
    };
    expect(verifySigV4(req, 'service', SECRET, Date.UTC(2015, 7, 30, 12, 36, 0))).toMatchObject({ ok: true });
    expect(verifySigV4(req, 'service', `${SECRET}x`, Date.UTC(2015, 7, 30, 12, 36, 0))).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('refuses missing, malformed and wrongly scoped Authorization headers', () => {
    const base: SigV4Request = { method: 'POST', path: '/model/m/converse', body: '{}', headers: { host: 'h', 'x-amz-date': '20261202T000000Z' } };
    expect(parseSigV4(base, 'bedrock')).toMatchObject({ ok: false, reason: 'missing' });
    expect(parseSigV4({ ...base, headers: { ...base.headers, authorization: 'Bearer abc' } }, 'bedrock')).toMatchObject({ ok: false, reason: 'malformed' });
    const scoped = (service: string, signed = 'host;x-amz-date'): string =>
      `AWS4-HMAC-SHA256 Credential=AKID/20261202/us-east-1/${service}/aws4_request, SignedHeaders=${signed}, Signature=${'a'.repeat(64)}`;
    expect(parseSigV4({ ...base, headers: { ...base.headers, authorization: scoped('s3') } }, 'bedrock')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseSigV4({ ...base, headers: { ...base.headers, authorization: scoped('bedrock', 'x-amz-date') } }, 'bedrock')).toMatchObject({ ok: false, reason: 'malformed' });
    expect(parseSigV4({ ...base, headers: { ...base.headers, authorization: scoped('bedrock') } }, 'bedrock')).toMatchObject({ ok: true, auth: { accessKeyId: 'AKID', region: 'us-east-1' } });
  });
});

describe('the gateway signs Bedrock calls so that an independent SigV4 check accepts them', () => {
  const arnPath = '/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream';
  const call: UpstreamCall = { method: 'POST', path: arnPath, headers: { 'content-type': 'application/json', accept: 'application/vnd.amazon.eventstream' }, body: '{"messages":[{"role":"user","content":[{"text":"héllo"}]}]}' };

  async function signed(host: string, sessionToken?: string): Promise<SigV4Request> {
    const credentials = awsSigV4({
      region: 'eu-west-3',
      service: 'bedrock',
      accessKeyId: new Secret('AKIDGATEWAYTEST'),
      secretAccessKey: new Secret(SECRET),
      sessionToken: sessionToken === undefined ? undefined : new Secret(sessionToken),
      host,
    });
    const headers = await authorize(credentials, call);
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    return { method: call.method, path: call.path, headers: lower, body: call.body };
  }

  // A plain-http fake on a loopback port, and the real https endpoint on the default port.
  it.each(['127.0.0.1:43210', 'bedrock-runtime.eu-west-3.amazonaws.com'])('host %s: the signature verifies, over the double-encoded ARN path', async (host) => {
    const req = await signed(host);
    expect(req.headers.host).toBe(host);
    expect(req.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    const result = verifySigV4(req, 'bedrock', SECRET, Date.now());
    expect(result).toMatchObject({ ok: true, auth: { accessKeyId: 'AKIDGATEWAYTEST', region: 'eu-west-3', service: 'bedrock' } });
    if (result.ok) expect(result.auth.signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'content-type']));
  });

  it('a session token is sent and signed', async () => {
    const req = await signed('127.0.0.1:43210', 'SESSION-TOKEN-1');
    expect(req.headers['x-amz-security-token']).toBe('SESSION-TOKEN-1');
    expect(verifySigV4(req, 'bedrock', SECRET, Date.now())).toMatchObject({ ok: true });
  });

  it('any change to the body, path, signed headers, host or time breaks it', async () => {
    const req = await signed('127.0.0.1:43210');
    const now = Date.now();
    expect(verifySigV4({ ...req, body: req.body.replace('héllo', 'hello') }, 'bedrock', SECRET, now)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(verifySigV4({ ...req, path: req.path.replace('converse-stream', 'converse') }, 'bedrock', SECRET, now)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(verifySigV4({ ...req, headers: { ...req.headers, host: '127.0.0.1:43211' } }, 'bedrock', SECRET, now)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(verifySigV4({ ...req, headers: { ...req.headers, accept: 'application/json' } }, 'bedrock', SECRET, now)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(verifySigV4(req, 'bedrock', 'another-secret', now)).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(verifySigV4(req, 'bedrock', SECRET, now + 10 * 60_000)).toMatchObject({ ok: false, reason: 'expired' });
  });
});
