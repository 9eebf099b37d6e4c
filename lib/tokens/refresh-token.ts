import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { generateToken, hashToken, TOKEN_LENGTH } from '../core/token';

/** Prefix of every refresh token, so secret scanners recognise a leaked one. */
export const REFRESH_TOKEN_PREFIX = 'nsk_rt_';

const SHAPE = /^nsk_rt_[A-Za-z0-9_-]{43}$/;
const INFO = Buffer.from('nest-session-kit refresh successor v1');
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A new refresh token: `nsk_rt_` and 256 bits from the CSPRNG, base64url. */
export function generateRefreshToken(): string {
  return REFRESH_TOKEN_PREFIX + generateToken();
}

/** True when `value` has the exact shape of a refresh token this library issues: a cheap reject before hashing. */
export function isWellFormedRefreshToken(value: unknown): value is string {
  return typeof value === 'string' && value.length === REFRESH_TOKEN_PREFIX.length + TOKEN_LENGTH && SHAPE.test(value);
}

/** The storage id of a refresh token: its SHA-256 (the store never sees the token). */
export function refreshTokenId(token: string): string {
  return hashToken(token);
}

/**
 * Seals `successor` under a key derived from `presented` (HKDF-SHA256, AES-256-GCM): the store keeps it beside the
 * used token for the grace window, so a concurrent refresh with the same token gets the same successor, and only the
 * holder of `presented` can open it (the store holds its hash, from which the key cannot be derived).
 */
export function sealSuccessor(successor: string, presented: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyOf(presented), iv);
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** Opens what {@link sealSuccessor} sealed with the same `presented` token; `undefined` when it does not open. */
export function openSuccessor(sealed: string, presented: string): string | undefined {
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(presented), bytes.subarray(0, IV_BYTES));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

function keyOf(presented: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(presented, 'utf8'), Buffer.alloc(0), INFO, 32));
}
