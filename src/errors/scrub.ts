/**
 * Removes credentials from text we did not write (upstream error messages, exception text)
 * before it reaches a client, a log line or a trace. Known secret values are removed exactly;
 * key-shaped strings are removed by pattern as a second line of defence.
 */
const keyPatterns: readonly RegExp[] = [
  /\b(?:sk|pk|rk|ak)-[A-Za-z0-9_-]{6,}/g,
  /\bBearer\s+[A-Za-z0-9._~+/=-]+/gi,
  /\b((?:api[-_]?key|access[-_]?token|token|secret|password|sig|signature|key)=)[^&\s"']+/gi,
  /\bAKIA[0-9A-Z]{12,}/g,
];

export function scrubSecrets(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  for (const pattern of keyPatterns) {
    out = out.replace(pattern, (match, prefix: unknown) => (typeof prefix === 'string' && prefix.endsWith('=') ? `${prefix}[redacted]` : '[redacted]'));
  }
  return out.length > 1000 ? `${out.slice(0, 1000)}…` : out;
}
