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

/**
 * Longest routing tag a store may ask for ({@link SessionStore.routingTagFor}): 16 base64url characters. A tag
 * routes a session to a shard; it is not a secret and adds nothing to the token's 256 random bits.
 */
export const MAX_ROUTING_TAG_LENGTH = 16;

const ROUTING_TAG_SHAPE = /^[A-Za-z0-9_-]{1,16}$/;
const ROUTED_TOKEN_SHAPE = /^[A-Za-z0-9_-]{1,16}\.[A-Za-z0-9_-]{43}$/;

/**
 * Creates a session token, routed when a store asks for it: `<routingTag>.<256 random bits>`, else exactly
 * {@link generateToken}'s shape. A sharded store (Redis Cluster) derives the tag from the user, so every session
 * of a user, and the user's index, live in one shard and per-user operations stay single-slot and atomic.
 *
 * @throws TypeError when `routingTag` is not 1 to 16 base64url characters (a store's bug).
 */
export function generateSessionToken(routingTag?: string): string {
  if (routingTag === undefined) return generateToken();
  if (typeof routingTag !== 'string' || !ROUTING_TAG_SHAPE.test(routingTag)) {
    throw new TypeError(
      `routingTagFor() must answer 1 to ${MAX_ROUTING_TAG_LENGTH} base64url characters (A-Z a-z 0-9 - _), got ${JSON.stringify(routingTag)}: fix the store`,
    );
  }
  return `${routingTag}.${generateToken()}`;
}

/**
 * The storage id of a session token: {@link hashToken}(token), prefixed with the token's routing tag in clear
 * (`<tag>.<hash>`) when it has one, so the store can place the session without ever seeing the token.
 */
export function sessionIdOf(token: string): string {
  const dot = token.indexOf('.');
  return dot < 0 ? hashToken(token) : `${token.slice(0, dot)}.${hashToken(token)}`;
}

/** The routing tag of a storage id made by {@link sessionIdOf}, or undefined for an id without one. */
export function routingTagOf(id: string): string | undefined {
  const dot = id.indexOf('.');
  return dot > 0 ? id.slice(0, dot) : undefined;
}

/** True when `value` has the shape of a session token: {@link isWellFormedToken}, or routed (`<tag>.<token>`). */
export function isWellFormedSessionToken(value: unknown): value is string {
  return isWellFormedToken(value) || (typeof value === 'string' && value.length <= 60 && ROUTED_TOKEN_SHAPE.test(value));
}
