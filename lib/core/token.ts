import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of CSPRNG output in a session token: 32 bytes = 256 bits. */
export const TOKEN_BYTES = 32;
/** Length of a token in base64url (no padding): 43 characters. */
export const TOKEN_LENGTH = 43;
/** Bytes of CSPRNG output in a session handle (non-secret listing id): 16 bytes = 128 bits. */
export const HANDLE_BYTES = 16;

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const HANDLE_SHAPE = /^[A-Za-z0-9_-]{22}$/;

/**
 * Creates a new session token: 256 bits from the operating system's CSPRNG, base64url-encoded.
 *
 * The token is the only secret: it goes to the client in the session cookie and nowhere else.
 * The server keeps only {@link hashToken}(token).
 */
export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/**
 * Creates a session handle: a random, non-secret identifier shown in session listings and used to revoke
 * one session. It cannot be turned into the token, and it stays the same across rotations.
 */
export function generateHandle(): string {
  return randomBytes(HANDLE_BYTES).toString('base64url');
}

/**
 * The storage id of a token: SHA-256, base64url (43 characters).
 *
 * A plain hash is enough (no salt or slow hash): the token has 256 bits of entropy, so the hash cannot be
 * reversed by guessing, and a leaked store cannot be replayed as cookies.
 */
export function hashToken(token: string): string {
  // crypto.hash (Node >= 20.12) is the one-shot form: no Hash object per request on the hot path.
  return typeof hash === 'function' ? hash('sha256', token, 'base64url') : createHash('sha256').update(token).digest('base64url');
}

/** True when `value` has the exact shape of a token this library issues. A cheap reject before any hashing. */
export function isWellFormedToken(value: unknown): value is string {
  return typeof value === 'string' && value.length === TOKEN_LENGTH && TOKEN_SHAPE.test(value);
}

/** True when `value` has the exact shape of a session handle. */
export function isWellFormedHandle(value: unknown): value is string {
  return typeof value === 'string' && HANDLE_SHAPE.test(value);
}

/** Constant-time string comparison (for secrets compared outside a hash lookup). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
