import { hkdfSync } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';

/**
 * A sign-in in progress, kept in the browser that started it (an encrypted, HttpOnly pre-login cookie): the `state`,
 * `nonce` and PKCE verifier only that browser can bring back to the callback. Times in ms since the epoch.
 */
export interface OidcFlow {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** A re-authentication of the signed-in user (`prompt=login`, `max_age=0`), not a new sign-in. */
  reauth: boolean;
  /** When the flow started (the module's clock): a re-authentication's `auth_time` must not be older. */
  startedAt: number;
  expiresAt: number;
  /** Local path to return to afterwards, if the app gave one. */
  returnTo?: string;
}

/** The 256-bit key that encrypts the pre-login cookie: `cookieKey`, or HKDF-SHA-256 of the client secret. */
export function flowKeyOf(clientSecret: string, cookieKey?: Uint8Array): Uint8Array {
  if (cookieKey) return new Uint8Array(hkdfSync('sha256', cookieKey, new Uint8Array(0), 'nest-session-kit oidc flow cookie', 32));
  return new Uint8Array(hkdfSync('sha256', Buffer.from(clientSecret, 'utf8'), new Uint8Array(0), 'nest-session-kit oidc flow cookie', 32));
}

/** Encrypts `flow` (JWE, `dir` + `A256GCM`: confidential and tamper-evident) for the pre-login cookie. */
export function sealFlow(flow: OidcFlow, key: Uint8Array): Promise<string> {
  return new EncryptJWT({ ...flow }).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(key);
}

/**
 * Decrypts a pre-login cookie. Undefined for anything that is not a flow this app sealed (tampered, another key,
 * malformed). Expiry is the caller's check, on the module's clock.
 */
export async function openFlow(value: string, key: Uint8Array): Promise<OidcFlow | undefined> {
  if (value.length > 4096) return undefined;
  try {
    const { payload } = await jwtDecrypt(value, key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
    const { state, nonce, codeVerifier, reauth, startedAt, expiresAt, returnTo } = payload as Record<string, unknown>;
    if (typeof state !== 'string' || typeof nonce !== 'string' || typeof codeVerifier !== 'string') return undefined;
    if (typeof reauth !== 'boolean' || typeof startedAt !== 'number' || typeof expiresAt !== 'number') return undefined;
    if (returnTo !== undefined && typeof returnTo !== 'string') return undefined;
    return { state, nonce, codeVerifier, reauth, startedAt, expiresAt, ...(returnTo === undefined ? {} : { returnTo }) };
  } catch {
    return undefined;
  }
}
