import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What a CSRF token is bound to. A token verifies only against the context it was issued for.
 *
 * - `session`: a signed-in (or pending) session. Every field is stable across the periodic rotation of the same
 *   session and changes at login (a new `handle`) or at a privilege change (`rolesVersion`, `aal`, `stage`, and
 *   `authenticatedAt` at re-authentication), so a token survives rotation races and dies with the privileges it
 *   was issued under.
 * - `nonce`: a visitor before sign-in, bound to the random value of the pre-login nonce cookie, so the login form
 *   is protected too (login CSRF).
 */
export type CsrfContext =
  | { kind: 'session'; handle: string; rolesVersion: number; aal: number; stage: string; authenticatedAt: number }
  | { kind: 'nonce'; nonce: string };

/** Bytes of the random value each token carries (128 bits). */
const SALT_BYTES = 16;
/** Bytes of the HMAC-SHA256 tag. */
const TAG_BYTES = 32;
/** Length of a token: base64url of salt and tag (48 bytes, 64 characters). */
export const CSRF_TOKEN_LENGTH = Math.ceil(((SALT_BYTES + TAG_BYTES) * 4) / 3);
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+$/;
/** Bytes of the pre-login nonce (256 bits) and the length of its base64url text. */
const NONCE_BYTES = 32;
const NONCE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** Shortest accepted secret: 32 bytes (256 bits), the size of the HMAC-SHA256 key. */
export const CSRF_MIN_SECRET_BYTES = 32;

/**
 * Stateless synchronizer tokens (OWASP "signed token" pattern): `base64url(salt ‖ HMAC-SHA256(secret, salt ‖
 * context))`. Nothing is stored: the server recomputes the tag from the request's context, so checking a token
 * costs no store round trip and tokens survive id rotation. Each issued token has a fresh random salt, so two
 * tokens for one context differ (nothing to learn from a token reflected in a compressed page, BREACH).
 *
 * Secrets are tried in order when verifying and the first one signs, so a secret can be replaced without
 * invalidating the tokens of open pages: put the new one first and drop the old one later.
 */
export class CsrfTokens {
  private readonly keys: Buffer[];

  /** @param secrets at least one key of at least 32 bytes, newest first (validated by the options). */
  constructor(secrets: readonly Buffer[]) {
    if (secrets.length === 0) throw new RangeError('CsrfTokens needs at least one secret');
    this.keys = secrets.map((s) => Buffer.from(s));
  }

  /** A new token for `context`. */
  issue(context: CsrfContext): string {
    const salt = randomBytes(SALT_BYTES);
    return Buffer.concat([salt, this.tag(this.keys[0], salt, context)]).toString('base64url');
  }

  /** True when `token` was issued for `context` under one of the secrets. Constant-time in the tag comparison. */
  verify(token: unknown, context: CsrfContext): boolean {
    if (typeof token !== 'string' || token.length !== CSRF_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) return false;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length !== SALT_BYTES + TAG_BYTES) return false;
    const salt = raw.subarray(0, SALT_BYTES);
    const tag = raw.subarray(SALT_BYTES);
    let ok = false;
    // Every key is tried (no early exit), so the time taken does not tell which key matched.
    for (const key of this.keys) ok = timingSafeEqual(tag, this.tag(key, salt, context)) || ok;
    return ok;
  }

  /** A new pre-login nonce (256 random bits, base64url). */
  static newNonce(): string {
    return randomBytes(NONCE_BYTES).toString('base64url');
  }

  /** Whether `value` has the shape of a nonce this class makes (anything else in the cookie is ignored). */
  static isNonce(value: string): boolean {
    return NONCE_SHAPE.test(value);
  }

  private tag(key: Buffer, salt: Buffer, context: CsrfContext): Buffer {
    const mac = createHmac('sha256', key).update(salt);
    // Each field is length-prefixed, and the kind comes first, so no two contexts serialise to the same bytes
    // (a nonce can never pass for a session handle, nor "ab"+"c" for "a"+"bc").
    const fields =
      context.kind === 'session'
        ? ['session', context.handle, String(context.rolesVersion), String(context.aal), context.stage, String(context.authenticatedAt)]
        : ['nonce', context.nonce];
    // One update with the whole framed text: the same bytes as one update per field, one native call instead of seven.
    let framed = '';
    for (const field of fields) framed += `${field.length}:${field};`;
    return mac.update(framed).digest();
  }
}
