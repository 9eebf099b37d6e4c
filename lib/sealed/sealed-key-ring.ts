import { webcrypto } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';

/** Bytes of a sealing key: exactly 32 (256 bits), the key size of `A256GCM`. */
export const SEALING_KEY_BYTES = 32;
/** Longest `kid` accepted (characters). It travels in every cookie, so keep it short (`2026-11`, `k7`). */
export const MAX_KID_LENGTH = 32;

const KID_SHAPE = /^[A-Za-z0-9._-]+$/;
const BASE64URL_SHAPE = /^[A-Za-z0-9_-]+$/;

/**
 * One key of the sealed-cookie key ring.
 *
 * @example { kid: '2026-11', key: process.env.SESSION_SEAL_KEY } // 32 random bytes, base64url: `openssl rand -base64 32 | tr '+/' '-_' | tr -d '='`
 */
export interface SealingKey {
  /** The key id written in each cookie's JWE header (`kid`): 1 to 32 characters of `A-Z a-z 0-9 . _ -`, unique in the ring. */
  kid: string;
  /** Exactly 32 bytes: a `Uint8Array`/`Buffer`, or their base64url (or base64) text of 43 characters. */
  key: string | Uint8Array;
}

/**
 * The keys that seal and open session cookies: the FIRST key seals every new cookie (and every re-seal), and every key
 * of the ring still opens the cookies sealed with it. To rotate: put a new key first and keep the old one after it for
 * the longest session lifetime (the `rememberMe` absolute timeout if you use it), then remove it; a cookie sealed with
 * a removed key opens no more (an anonymous request: sign in again).
 *
 * Cookies are compact JWE (RFC 7516) with `alg: dir` and `enc: A256GCM` (through jose): encrypted and authenticated
 * with the key itself; the protected header (`alg`, `enc`, `kid`) is authenticated too, and only this one algorithm
 * pair is ever accepted.
 */
export class SealedKeyRing {
  /**
   * Each key imported once as a non-extractable WebCrypto AES-GCM key: jose would otherwise import raw bytes on every
   * seal and open (measured on this machine: a KeyObject or raw bytes cost 1.5 to 3 times as much per open).
   */
  private readonly keys: ReadonlyMap<string, Promise<webcrypto.CryptoKey>>;
  private readonly sealingKid: string;

  /** @throws TypeError listing every problem of `keys` (see {@link sealingKeyProblems}). */
  constructor(keys: readonly SealingKey[]) {
    const problems = sealingKeyProblems(keys, 'keys');
    if (problems.length > 0) throw new TypeError(`SealedKeyRing: ${problems.join('; ')}`);
    this.keys = new Map(keys.map((k) => [k.kid, importKey(keyBytes(k.key)!)]));
    this.sealingKid = keys[0].kid;
  }

  /** The `kid` that seals (the first key of the ring). */
  get currentKid(): string {
    return this.sealingKid;
  }

  /** Seals `payload` (UTF-8 JSON text) with the first key: a compact JWE. */
  async seal(payload: string): Promise<string> {
    return new CompactEncrypt(new TextEncoder().encode(payload))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: this.sealingKid })
      .encrypt(await this.keys.get(this.sealingKid)!);
  }

  /**
   * Opens a compact JWE sealed with any key of the ring: the payload text, or `null` when it is not one (tampered,
   * truncated, re-ordered, another algorithm, an unknown or retired `kid`). Never throws for bad input.
   */
  async open(jwe: string): Promise<string | null> {
    try {
      const { plaintext } = await compactDecrypt(
        jwe,
        (header) => {
          const key = typeof header.kid === 'string' ? this.keys.get(header.kid) : undefined;
          if (!key) throw new Error('unknown kid');
          return key;
        },
        { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] },
      );
      return new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
    } catch {
      return null;
    }
  }
}

function importKey(bytes: Uint8Array): Promise<webcrypto.CryptoKey> {
  const imported = webcrypto.subtle.importKey('raw', bytes, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  // Checked at construction (32 bytes): a failure here is a bug, reported when the key is first used.
  imported.catch(() => undefined);
  return imported;
}

/** The 32 bytes of a key as given (bytes, or base64url/base64 text), or `undefined` when it is not 32 bytes. */
function keyBytes(key: unknown): Uint8Array | undefined {
  if (key instanceof Uint8Array) return key.length === SEALING_KEY_BYTES ? key : undefined;
  if (typeof key !== 'string') return undefined;
  const text = key.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  if (!BASE64URL_SHAPE.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.length === SEALING_KEY_BYTES ? bytes : undefined;
}

/**
 * Every problem of a key ring, each saying how to fix it (empty when it is fine). `at` names the option in messages.
 */
export function sealingKeyProblems(keys: unknown, at: string): string[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    return [`${at} must be a non-empty array of { kid, key }, newest first (the first key seals; the others still open)`];
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  keys.forEach((entry: unknown, i) => {
    const where = `${at}[${i}]`;
    if (typeof entry !== 'object' || entry === null) {
      problems.push(`${where} must be an object { kid, key }`);
      return;
    }
    const { kid, key } = entry as Record<string, unknown>;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH || !KID_SHAPE.test(kid)) {
      problems.push(`${where}.kid must be 1 to ${MAX_KID_LENGTH} characters of A-Z a-z 0-9 . _ - (got ${describe(kid)})`);
    } else if (seen.has(kid)) {
      problems.push(`${where}.kid "${kid}" appears twice: give every key its own kid`);
    } else {
      seen.add(kid);
    }
    if (keyBytes(key) === undefined) {
      problems.push(
        `${where}.key must be exactly ${SEALING_KEY_BYTES} bytes (a Uint8Array, or base64url text of 43 characters) (got ${describeKey(key)}); ` +
          "generate one with `openssl rand -base64 32` or crypto.randomBytes(32).toString('base64url')",
      );
    }
  });
  return problems;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `"${value.slice(0, 40)}"` : typeof value;
}

/** A key is a secret: say its size, never its text. */
function describeKey(key: unknown): string {
  if (key instanceof Uint8Array) return `${key.length} bytes`;
  if (typeof key === 'string') {
    const text = key.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    return BASE64URL_SHAPE.test(text)
      ? `text of ${Buffer.from(text, 'base64url').length} bytes`
      : `text of ${key.length} characters, not base64`;
  }
  return key === undefined ? 'nothing' : typeof key;
}
