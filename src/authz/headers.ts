// The headers a rule may match, as A43 sees them, and ipvsd's extension:
// the request's namespace as the header x-ipvsd-namespace. The server sets it
// from the decoded request; whatever a client sends under an x-ipvsd- name is
// dropped first, so that no client can speak for the server.

/** The namespace of the request (its `namespace` field; "" is the server's own). */
export const NAMESPACE_HEADER = 'x-ipvsd-namespace';
/** Names the server sets; a client's headers by these names never reach a rule. */
export const RESERVED_PREFIX = 'x-ipvsd-';

/** A43: neither Host, nor hop-by-hop headers, nor HTTP/2 pseudo-headers, nor grpc-*. */
const UNSUPPORTED = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Why a rule may not match header `key` (lower case), or undefined if it may. */
export function unsupportedHeader(key: string): string | undefined {
  if (key.startsWith(':')) return `unsupported header "${key}": HTTP/2 pseudo-headers are not matched`;
  if (key.startsWith('grpc-')) return `unsupported header "${key}": grpc- headers are gRPC's own`;
  if (UNSUPPORTED.has(key)) return `unsupported header "${key}": Host and hop-by-hop headers are not matched`;
  if (key.startsWith(RESERVED_PREFIX) && key !== NAMESPACE_HEADER)
    return `unsupported header "${key}": the only ipvsd header is ${NAMESPACE_HEADER}`;
  return undefined;
}

/**
 * The headers a call's rules see: the client's metadata (several values of
 * one name joined with ",", as A43 says), without any x-ipvsd- name, and the
 * namespace when the call has one (calls of other services have none).
 */
export function requestHeaders(
  metadata: Readonly<Record<string, readonly (string | Buffer)[]>>,
  namespace: string | undefined,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, values] of Object.entries(metadata)) {
    const k = key.toLowerCase();
    if (k.startsWith(RESERVED_PREFIX)) continue;
    out.set(k, values.map((v) => (typeof v === 'string' ? v : v.toString('latin1'))).join(','));
  }
  if (namespace !== undefined) out.set(NAMESPACE_HEADER, namespace);
  return out;
}
