/**
 * The identity provider's URLs (issuer, JWKS, discovery's jwks_uri) must be https: keys fetched
 * in clear text could be swapped on the way. Plain http is allowed only to a loopback host, for
 * tests and a sidecar on the same machine.
 */
export function endpointUrlIssue(value: string): string | undefined {
  if (!URL.canParse(value)) return 'must be an absolute URL';
  const url = new URL(value);
  if (url.username !== '' || url.password !== '') return 'must not hold credentials';
  if (url.hash !== '' || value.includes('#')) return 'must not have a fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return undefined;
  return 'must be an https:// URL (http:// only to a loopback host: localhost, 127.0.0.0/8, [::1])';
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  // WHATWG URL parsing has already normalised IPv4 forms (127.1, 0x7f.0.0.1) to dotted decimal.
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
