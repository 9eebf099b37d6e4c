import { randomBytes } from 'node:crypto';
import { CSRF_MIN_SECRET_BYTES } from './csrf-tokens';

/**
 * What a state-changing request without an `Origin` header does (see {@link SessionCsrfOptions.missingOrigin}).
 * - `'referer'`: the `Referer`, when sent, must come from an allowed origin; with neither header the token alone
 *   decides (non-browser clients, old browsers, and pages with `Referrer-Policy: no-referrer`).
 * - `'allow'`: the token alone decides.
 * - `'reject'`: refused (403 `CSRF_REJECTED`); only for apps whose every client is a current browser.
 */
export type CsrfMissingOriginPolicy = 'referer' | 'allow' | 'reject';

/**
 * Cross-site request forgery defence (`CsrfGuard`), the `csrf` block of the module options. Every field is optional;
 * the defaults are the safe ones.
 */
export interface SessionCsrfOptions {
  /**
   * Key of the token HMAC: a string or Buffer of at least 32 bytes from a CSPRNG (e.g. `openssl rand -base64 32`),
   * the same on every instance of the app. A list rotates keys: the first signs, all verify (put the new key first,
   * drop the old one once open pages have reloaded). Default: a random key per process, with a warning the first
   * time a token is used: tokens then die at every restart and are not accepted by another instance, so set one in
   * production.
   */
  secret?: string | Buffer | ReadonlyArray<string | Buffer>;
  /**
   * Origins (`scheme://host[:port]`, no path) allowed to send state-changing requests besides the app's own (the
   * request's `Host` over its protocol, and always `https://` + `Host`, for a TLS-terminating proxy). A request
   * that `Sec-Fetch-Site` calls `same-site` (a sibling subdomain) passes only when its `Origin` is listed here.
   * Default none.
   */
  allowedOrigins?: readonly string[];
  /** What a request without `Origin` does. Default `'referer'` (see {@link CsrfMissingOriginPolicy}). */
  missingOrigin?: CsrfMissingOriginPolicy;
  /** Request header carrying the token. Default `x-csrf-token`. */
  headerName?: string;
  /** Form field carrying the token in an HTML form post (on `@CsrfFormRoute()` routes only). Default `_csrf`. */
  fieldName?: string;
  /**
   * Name of the pre-login nonce cookie (HttpOnly, `SameSite=Lax`, `Path=/`, a browser-session cookie). Default
   * `__Host-csrf` when the session cookie is `secure`, else `csrf` (the `__Host-` prefix needs Secure).
   */
  cookieName?: string;
  /**
   * Refuse state-changing requests whose body is a CORS-simple type (`text/plain`,
   * `application/x-www-form-urlencoded`, `multipart/form-data`, the only ones another site can send without a
   * preflight) with 415 `UNSUPPORTED_MEDIA_TYPE`, except on `@CsrfFormRoute()` routes. Default `true`.
   */
  rejectSimpleContentTypes?: boolean;
}

/** The `csrf` options after validation, defaults filled in. */
export interface ResolvedCsrfOptions {
  /** HMAC keys, newest first. */
  secrets: Buffer[];
  /** True when no secret was configured and a random one was drawn for this process. */
  generatedSecret: boolean;
  allowedOrigins: ReadonlySet<string>;
  missingOrigin: CsrfMissingOriginPolicy;
  /** Lower case, as Node presents header names. */
  headerName: string;
  fieldName: string;
  cookie: { name: string; secure: boolean };
  rejectSimpleContentTypes: boolean;
}

/** Defaults of the `csrf` block, in one place. */
export const CSRF_DEFAULTS = {
  headerName: 'x-csrf-token',
  fieldName: '_csrf',
  secureCookieName: '__Host-csrf',
  plainCookieName: 'csrf',
  missingOrigin: 'referer',
} as const;

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_NAME = HEADER_NAME;
const FIELD_NAME = /^[A-Za-z0-9_.\-[\]]+$/;

/**
 * Validates the `csrf` block and fills in defaults; every problem is pushed to `problems` with its fix (the module
 * reports them all at once). `cookieSecure` is the session cookie's `secure` setting.
 */
export function resolveCsrfOptions(raw: SessionCsrfOptions | undefined, cookieSecure: boolean, problems: string[]): ResolvedCsrfOptions {
  const options = raw ?? {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    problems.push('csrf must be an object such as { secret: process.env.CSRF_SECRET }');
  }
  const secrets: Buffer[] = [];
  const given = options.secret;
  if (given !== undefined) {
    const list = Array.isArray(given) ? (given as Array<string | Buffer>) : [given as string | Buffer];
    if (list.length === 0) problems.push('csrf.secret is an empty list: give at least one key of 32 or more random bytes');
    list.forEach((key, i) => {
      const where = Array.isArray(given) ? `csrf.secret[${i}]` : 'csrf.secret';
      if (typeof key !== 'string' && !Buffer.isBuffer(key)) {
        problems.push(`${where} must be a string or a Buffer of at least ${CSRF_MIN_SECRET_BYTES} random bytes`);
        return;
      }
      const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
      if (bytes.length < CSRF_MIN_SECRET_BYTES) {
        problems.push(
          `${where} is ${bytes.length} bytes long: give at least ${CSRF_MIN_SECRET_BYTES} random bytes (e.g. the output of \`openssl rand -base64 32\`), the same on every instance`,
        );
        return;
      }
      secrets.push(Buffer.from(bytes));
    });
  }
  const generatedSecret = given === undefined;
  if (generatedSecret) secrets.push(randomBytes(CSRF_MIN_SECRET_BYTES));

  const allowedOrigins = new Set<string>();
  if (options.allowedOrigins !== undefined) {
    if (!Array.isArray(options.allowedOrigins))
      problems.push("csrf.allowedOrigins must be a list of origins such as ['https://app.example.com']");
    else
      for (const origin of options.allowedOrigins as unknown[]) {
        const normalised = normaliseOrigin(origin);
        if (normalised === undefined)
          problems.push(
            `csrf.allowedOrigins has ${JSON.stringify(origin)}: give an origin as the browser sends it, scheme://host[:port] with no path or trailing slash, e.g. "https://app.example.com"`,
          );
        else allowedOrigins.add(normalised);
      }
  }

  const missingOrigin = options.missingOrigin ?? CSRF_DEFAULTS.missingOrigin;
  if (!['referer', 'allow', 'reject'].includes(missingOrigin))
    problems.push(`csrf.missingOrigin is ${JSON.stringify(missingOrigin)}: use 'referer' (the default), 'allow' or 'reject'`);

  const headerName = options.headerName ?? CSRF_DEFAULTS.headerName;
  if (typeof headerName !== 'string' || !HEADER_NAME.test(headerName))
    problems.push(`csrf.headerName is ${JSON.stringify(headerName)}: give an HTTP header name such as "x-csrf-token"`);
  const fieldName = options.fieldName ?? CSRF_DEFAULTS.fieldName;
  if (typeof fieldName !== 'string' || !FIELD_NAME.test(fieldName))
    problems.push(`csrf.fieldName is ${JSON.stringify(fieldName)}: give a form field name such as "_csrf"`);

  const cookieName = options.cookieName ?? (cookieSecure ? CSRF_DEFAULTS.secureCookieName : CSRF_DEFAULTS.plainCookieName);
  if (typeof cookieName !== 'string' || !COOKIE_NAME.test(cookieName))
    problems.push(`csrf.cookieName is ${JSON.stringify(cookieName)}: give a cookie name such as "__Host-csrf"`);
  else if ((cookieName.startsWith('__Host-') || cookieName.startsWith('__Secure-')) && !cookieSecure)
    problems.push(
      `csrf.cookieName "${cookieName}" has a prefix that needs a Secure cookie, but cookie.secure is false: drop the prefix (e.g. "csrf")`,
    );

  const rejectSimpleContentTypes = options.rejectSimpleContentTypes ?? true;
  if (typeof rejectSimpleContentTypes !== 'boolean') problems.push('csrf.rejectSimpleContentTypes must be true or false');

  return {
    secrets,
    generatedSecret,
    allowedOrigins,
    missingOrigin,
    headerName: String(headerName).toLowerCase(),
    fieldName,
    cookie: { name: cookieName, secure: cookieSecure },
    rejectSimpleContentTypes,
  };
}

/** `value` as a serialised origin (`scheme://host[:port]`, lower-case, default port dropped), or undefined. */
export function normaliseOrigin(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === 'null') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  // An origin has no path, query, fragment or credentials: anything else in the option is a mistake to report.
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/' || value.endsWith('/')) return undefined;
  return url.origin;
}
