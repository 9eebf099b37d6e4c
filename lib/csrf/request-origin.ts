import type { ResolvedCsrfOptions } from './csrf.options';

/** Why `CsrfGuard` refused a request; the `reason` of its `malicious_csrf` event. */
export type CsrfRefusalReason =
  /** `Sec-Fetch-Site: cross-site`: another site's page sent it. */
  | 'cross_site'
  /** `Sec-Fetch-Site: same-site` from an origin not in `csrf.allowedOrigins` (a sibling subdomain). */
  | 'same_site'
  /** `Origin` is neither the app's own nor an allowed one (`null` included). */
  | 'origin_not_allowed'
  /** No `Origin`, and the `Referer` names a foreign origin (policy `'referer'`). */
  | 'referer_not_allowed'
  /** No `Origin`, and the policy is `'reject'`. */
  | 'origin_missing'
  /** No token in the header (or, on a form route, in the form field). */
  | 'token_missing'
  /** A token that was not issued for this session (or pre-login nonce). */
  | 'token_invalid';

/** The request headers the origin checks read (Node lower-cases header names). */
export type OriginHeaders = Record<string, string | string[] | undefined>;

/**
 * The origins the request counts as its own: its `Host` over its protocol, and `https://` + `Host` in any case,
 * because behind a TLS-terminating proxy the app may see plain HTTP while the browser is on HTTPS. (The reverse,
 * an `http:` page for an HTTPS app, is never accepted: a page served over plain HTTP can be rewritten on the way.)
 */
export function ownOrigins(host: string | undefined, protocol: string | undefined): string[] {
  if (!host) return [];
  const lower = host.toLowerCase();
  const https = `https://${lower.replace(/:443$/, '')}`;
  if (protocol === 'https') return [https];
  return [`http://${lower.replace(/:80$/, '')}`, https];
}

/**
 * The defence-in-depth checks of a state-changing request (CS-03): Fetch Metadata first, then `Origin` (or, when it
 * is missing, the configured policy). Answers why it must be refused, or `null` when it may go on to the token
 * check. Pure: no I/O, so it runs before the session is loaded.
 */
export function checkRequestOrigin(
  headers: OriginHeaders,
  own: readonly string[],
  options: Pick<ResolvedCsrfOptions, 'allowedOrigins' | 'missingOrigin'>,
): CsrfRefusalReason | null {
  const origin = single(headers.origin);
  const site = single(headers['sec-fetch-site'])?.toLowerCase();
  if (site === 'cross-site') return 'cross_site';
  // A sibling subdomain is "same site" to the browser (SameSite=Lax cookies go along), but not the same origin:
  // it passes only when the app lists it. Subdomains are often less trusted (user content, old apps).
  if (site === 'same-site' && (origin === undefined || !options.allowedOrigins.has(origin.toLowerCase()))) return 'same_site';
  // Under `Referrer-Policy: no-referrer` browsers send `Origin: null` on their own site's form posts (a navigation
  // is not a CORS request). `Sec-Fetch-Site: same-origin`, which no page script can set, vouches for those; any
  // other `null` (a sandboxed frame, a cross-site redirect) is refused.
  if (origin === 'null' && site === 'same-origin') return null;
  if (origin !== undefined) return isAllowed(origin, own, options.allowedOrigins) ? null : 'origin_not_allowed';
  if (options.missingOrigin === 'reject') return 'origin_missing';
  if (options.missingOrigin === 'referer') {
    const referer = single(headers.referer);
    if (referer !== undefined && !isAllowed(originOf(referer), own, options.allowedOrigins)) return 'referer_not_allowed';
  }
  return null;
}

function isAllowed(origin: string | undefined, own: readonly string[], allowed: ReadonlySet<string>): boolean {
  if (origin === undefined) return false;
  const lower = origin.toLowerCase();
  return own.includes(lower) || allowed.has(lower);
}

function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

/** A header sent once; a repeated one is not trusted (counts as present but unparseable). */
function single(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : '\u0000repeated';
  return value;
}
