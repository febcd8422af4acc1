import type { SignatureV4 } from '@smithy/signature-v4';
import type { Secret } from '../config/secret.js';
import { aws } from '../lazy-packages.js';
import type { UpstreamCall } from '../providers/types.js';

/**
 * How a deployment proves who we are. Compiled once per deployment; the only code that reads a
 * provider secret is `authorize`, right before the call goes onto the wire.
 */
export type Credentials =
  | { readonly kind: 'none' }
  /** `Authorization: Bearer <key>` (OpenAI, vLLM, Ollama behind a proxy, Triton behind a proxy). */
  | { readonly kind: 'bearer'; readonly key: Secret }
  /** A provider-specific header: `api-key` (Azure), `x-api-key` (Anthropic), `x-goog-api-key` (Gemini). */
  | { readonly kind: 'header'; readonly header: string; readonly key: Secret }
  /** AWS Signature V4 over the whole request (Bedrock). */
  | { readonly kind: 'aws-sigv4'; readonly signer: SignatureV4; readonly host: string };

export interface AwsCredentialConfig {
  readonly region: string;
  readonly service: string;
  readonly accessKeyId: Secret;
  readonly secretAccessKey: Secret;
  readonly sessionToken: Secret | undefined;
  /** `host[:port]` of the endpoint, signed as the Host header. */
  readonly host: string;
}

/**
 * Builds SigV4 credentials; the signer reads the secrets only when signing. Called when a
 * Bedrock deployment is compiled, which is when the AWS packages load (event-stream decoding
 * included, so a deployment's first stream does not pay for it).
 */
export function awsSigV4(config: AwsCredentialConfig): Credentials {
  const { SignatureV4, Sha256 } = aws();
  const signer = new SignatureV4({
    service: config.service,
    region: config.region,
    sha256: Sha256,
    credentials: async () => ({
      accessKeyId: config.accessKeyId.reveal(),
      secretAccessKey: config.secretAccessKey.reveal(),
      ...(config.sessionToken ? { sessionToken: config.sessionToken.reveal() } : {}),
    }),
  });
  return { kind: 'aws-sigv4', signer, host: config.host };
}

/**
 * The headers to send: the call's own plus authentication. Synchronous for static keys (the hot
 * path), a promise only for request signing.
 */
export function authorize(credentials: Credentials, call: UpstreamCall): Record<string, string> | Promise<Record<string, string>> {
  switch (credentials.kind) {
    case 'none':
      return { ...call.headers };
    case 'bearer':
      return { ...call.headers, authorization: `Bearer ${credentials.key.reveal()}` };
    case 'header':
      return { ...call.headers, [credentials.header]: credentials.key.reveal() };
    case 'aws-sigv4':
      return signRequest(credentials, call);
  }
}

async function signRequest(credentials: Extract<Credentials, { kind: 'aws-sigv4' }>, call: UpstreamCall): Promise<Record<string, string>> {
  const [path = '/', query = ''] = call.path.split('?', 2);
  const signed = await credentials.signer.sign({
    method: call.method,
    // The scheme is not part of a SigV4 signature; the Host header is. So one signer serves
    // https endpoints and plain-http fakes alike, as long as `host` is what the client sends
    // (`URL.host`: with a non-default port, without a default one).
    protocol: 'https:',
    hostname: credentials.host,
    path,
    query: Object.fromEntries(new URLSearchParams(query)),
    headers: { ...call.headers, host: credentials.host },
    body: call.body,
  });
  return signed.headers as Record<string, string>;
}
