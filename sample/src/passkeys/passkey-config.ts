import type { Request } from 'express';

/** The environment variable naming the origin people load the app from (scheme, host, port; no path). */
export const PUBLIC_ORIGIN_VARIABLE = 'PUBLIC_ORIGIN';

/** Where passkeys are bound: the RP ID the authenticator scopes them to, and the page origin it signs. */
export interface RelyingParty {
  rpId: string;
  origin: string;
}

/**
 * Parses `PUBLIC_ORIGIN` (e.g. `https://app.example.com`, `http://localhost:3000`): an `https:` origin, or `http:`
 * on `localhost` only (browsers allow WebAuthn there and nowhere else without TLS). Returns the normalised origin,
 * or an error message.
 */
export function parsePublicOrigin(raw: string): { origin: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: `is ${JSON.stringify(raw)}: give the origin people load the app from, e.g. https://app.example.com` };
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return { error: `is ${JSON.stringify(raw)}: give only scheme, host and port (no path, query or credentials)` };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && url.hostname === 'localhost')) {
    return { error: `is ${JSON.stringify(raw)}: passkeys need https:, or http: on localhost for development` };
  }
  return { origin: url.origin };
}

/** The RP of an origin: its host name is the RP ID (a passkey works on that host and its subdomains' own RP IDs). */
export function relyingPartyOf(origin: string): RelyingParty {
  return { rpId: new URL(origin).hostname, origin };
}

/**
 * The RP for this request: `PUBLIC_ORIGIN` when configured. Unset, a request to `localhost` (any port: the
 * development server, the browser tests on a random port) gets `http://localhost:PORT`; any other Host gets
 * undefined (the routes answer 503 `PASSKEYS_NOT_CONFIGURED`). The Host header is never trusted beyond localhost:
 * an RP ID taken from any Host would let a phishing proxy that rewrites Host bind passkeys to its own domain.
 */
export function relyingPartyFor(publicOrigin: string | undefined, req: Request): RelyingParty | undefined {
  if (publicOrigin !== undefined) return relyingPartyOf(publicOrigin);
  const host = req.headers.host ?? '';
  const match = /^localhost(?::(\d{1,5}))?$/.exec(host);
  if (!match) return undefined;
  return relyingPartyOf(match[1] ? `http://localhost:${match[1]}` : 'http://localhost');
}
