import { createCipheriv, createDecipheriv, createSecretKey, KeyObject, randomBytes } from 'node:crypto';
import { MfaOptionsError, SecretBoxOpenError } from './mfa.errors';

/** Key length: AES-256 takes 32 bytes (256 bits). */
export const SECRET_BOX_KEY_BYTES = 32;
/** The environment variable {@link SecretBox.fromEnv} names in its errors unless told another one. */
export const DEFAULT_SECRET_BOX_ENV = 'MFA_SECRET_KEYS';

const VERSION = 'v1';
/** 96-bit IV: the size GCM is specified for (NIST SP 800-38D); random per seal. */
const IV_BYTES = 12;
/** Full 128-bit tag; set explicitly, since Node would otherwise accept a truncated tag on decryption. */
const TAG_BYTES = 16;
const KID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64URL_SHAPE = /^[A-Za-z0-9_-]*$/;

/** Options of {@link SecretBox}. */
export interface SecretBoxOptions {
  /**
   * Keys by id (`kid`: 1-64 characters `A-Z a-z 0-9 _ -`). Each key is 32 bytes: a Buffer, or a string holding
   * them in base64url (`openssl rand 32 | basenc --base64url`, or `node -p "crypto.randomBytes(32).toString('base64url')"`).
   * Keep retired keys here until every value sealed with them has been re-sealed ({@link SecretBox.needsReseal}).
   */
  keys: Record<string, Buffer | string>;
  /** The id of the key that seals new values. */
  current: string;
}

/**
 * Encrypts MFA secrets (TOTP seeds) at rest with AES-256-GCM, so a leaked database does not leak second factors.
 *
 * A sealed value is `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url parts): the key id lets keys rotate without a
 * flag day, and the associated data (the user's id) is authenticated with it, so a value copied into another
 * user's row does not open there. Keep the keys outside the database (environment, secret manager).
 *
 * @example
 * const box = SecretBox.fromEnv(process.env.MFA_SECRET_KEYS); // "k2:<base64url>,k1:<base64url>", newest first
 * const sealed = box.seal(secret, user.id);                    // store this
 * const secret = box.open(sealed, user.id);                    // throws SecretBoxOpenError if altered or moved
 * if (box.needsReseal(sealed)) await users.setTotpSecret(user.id, box.seal(secret, user.id));
 */
export class SecretBox {
  private readonly keys = new Map<string, KeyObject>();
  private readonly current: string;
  private readonly currentKey: KeyObject;

  constructor(options: SecretBoxOptions) {
    const problems: string[] = [];
    const entries = Object.entries(options?.keys ?? {});
    if (entries.length === 0)
      problems.push('keys is empty: give at least one 32-byte key, e.g. { keys: { k1: <base64url> }, current: "k1" }');
    for (const [kid, key] of entries) {
      if (!KID_SHAPE.test(kid)) {
        problems.push(`key id ${JSON.stringify(kid)} must be 1-64 characters A-Z, a-z, 0-9, "_" or "-" (it is part of the sealed value)`);
        continue;
      }
      const bytes = keyBytes(key);
      // Never echo key material in a message: only its id and length.
      if (!bytes) problems.push(`key "${kid}" must be a Buffer or a base64url string (no padding, no "+" or "/")`);
      else if (bytes.length !== SECRET_BOX_KEY_BYTES) {
        problems.push(`key "${kid}" is ${bytes.length} bytes; AES-256 needs exactly ${SECRET_BOX_KEY_BYTES} (e.g. crypto.randomBytes(32))`);
      } else this.keys.set(kid, createSecretKey(bytes));
    }
    if (typeof options?.current !== 'string' || !Object.hasOwn(options.keys ?? {}, options.current)) {
      problems.push(
        `current (${JSON.stringify(options?.current)}) must be the id of one of the keys (${entries.map(([k]) => k).join(', ')})`,
      );
    }
    if (problems.length > 0) throw new MfaOptionsError('SecretBox', problems);
    this.current = options.current;
    this.currentKey = this.keys.get(options.current) as KeyObject;
  }

  /**
   * Builds a box from an environment variable: comma-separated `kid:base64url-key` pairs, newest first. The first
   * key seals; all of them open.
   *
   * @param value the variable's value (e.g. `process.env.MFA_SECRET_KEYS`)
   * @param variable its name, for the error message. Default `MFA_SECRET_KEYS`.
   * @throws MfaOptionsError naming the variable (never the key material) when it is unset, empty or malformed
   * @example
   * // MFA_SECRET_KEYS="2026-06:Jm3r...,2025-12:q8Vt..."
   * const box = SecretBox.fromEnv(process.env.MFA_SECRET_KEYS);
   */
  static fromEnv(value: string | undefined, variable = DEFAULT_SECRET_BOX_ENV): SecretBox {
    const example = `${variable}="k2:<32 bytes base64url>,k1:<older key>" (newest first; generate a key with node -p "crypto.randomBytes(32).toString('base64url')")`;
    if (typeof value !== 'string' || value.trim() === '') {
      throw new MfaOptionsError('SecretBox', [`${variable} is not set. Set ${example}`]);
    }
    // No prototype: a key id such as "__proto__" must be a plain entry.
    const keys: Record<string, string> = Object.create(null);
    const problems: string[] = [];
    const pairs = value.split(',').map((pair) => pair.trim());
    pairs.forEach((pair, index) => {
      const colon = pair.indexOf(':');
      if (colon <= 0 || colon === pair.length - 1) {
        problems.push(`${variable}: entry ${index + 1} is not "kid:key". Expected ${example}`);
      } else {
        const kid = pair.slice(0, colon);
        if (Object.hasOwn(keys, kid)) problems.push(`${variable}: key id "${kid}" appears twice; give each key its own id`);
        keys[kid] = pair.slice(colon + 1);
      }
    });
    if (problems.length > 0) throw new MfaOptionsError('SecretBox', problems);
    try {
      return new SecretBox({ keys, current: pairs[0].slice(0, pairs[0].indexOf(':')) });
    } catch (error) {
      if (error instanceof MfaOptionsError) {
        throw new MfaOptionsError(
          'SecretBox',
          error.problems.map((problem) => `${variable}: ${problem}`),
        );
      }
      throw error;
    }
  }

  /**
   * Encrypts `plaintext` with the current key and a fresh random IV, binding `associatedData` to it.
   *
   * @param plaintext the secret to protect (e.g. a base32 TOTP secret)
   * @param associatedData what the value belongs to, typically the user's id: {@link open} must be given the same
   *   string. Not secret and not stored in the output.
   * @returns `v1.<kid>.<iv>.<ciphertext>.<tag>`, all parts base64url
   */
  seal(plaintext: string, associatedData: string): string {
    if (typeof plaintext !== 'string') throw new TypeError('SecretBox.seal: plaintext must be a string');
    checkAssociatedData(associatedData, 'seal');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.currentKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.current, associatedData));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      VERSION,
      this.current,
      iv.toString('base64url'),
      ciphertext.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
    ].join('.');
  }

  /**
   * Decrypts a value from {@link seal}, checking that it was not altered and belongs to `associatedData`.
   *
   * @throws SecretBoxOpenError `malformed` (not a v1 sealed value), `unknown-key` (sealed with a key id that is
   *   not configured: add the old key back) or `authentication-failed` (altered, or sealed for other associated
   *   data, or the key under that id changed)
   */
  open(sealed: string, associatedData: string): string {
    checkAssociatedData(associatedData, 'open');
    const parts = typeof sealed === 'string' ? sealed.split('.') : [];
    if (parts.length !== 5 || parts[0] !== VERSION) {
      throw new SecretBoxOpenError(
        'malformed',
        'SecretBox.open: the value is not a sealed v1 value ("v1.<kid>.<iv>.<ciphertext>.<tag>"). Pass exactly what seal() returned.',
      );
    }
    const [, kid, ivText, ciphertextText, tagText] = parts;
    const key = this.keys.get(kid);
    if (!key) {
      throw new SecretBoxOpenError(
        'unknown-key',
        `SecretBox.open: the value was sealed with key "${kid}", which is not configured (known: ${[...this.keys.keys()].join(', ')}). ` +
          'Add that key back (after the current one) until every value sealed with it has been re-sealed.',
      );
    }
    const iv = strictBase64url(ivText);
    const ciphertext = strictBase64url(ciphertextText);
    const tag = strictBase64url(tagText);
    if (!iv || iv.length !== IV_BYTES || !ciphertext || !tag || tag.length !== TAG_BYTES) {
      throw new SecretBoxOpenError(
        'malformed',
        `SecretBox.open: the value's IV, ciphertext or tag is not canonical base64url of the right length (IV ${IV_BYTES} bytes, tag ${TAG_BYTES}). ` +
          'It was altered or truncated; pass exactly what seal() returned.',
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(kid, associatedData));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxOpenError(
        'authentication-failed',
        `SecretBox.open: the value did not authenticate under key "${kid}": it was altered, it belongs to other associated data ` +
          '(another user id?), or the key with this id is not the one that sealed it.',
      );
    }
  }

  /** True when `sealed` was sealed with a key other than the current one: re-seal it (open, then seal) to retire the old key. */
  needsReseal(sealed: string): boolean {
    const parts = typeof sealed === 'string' ? sealed.split('.') : [];
    return parts.length === 5 && parts[0] === VERSION && parts[1] !== this.current;
  }
}

/**
 * The authenticated associated data: the format version and key id (so the header cannot be edited) and the
 * caller's data last, so a NUL inside it cannot shift a boundary (the kid cannot hold a NUL).
 */
function aad(kid: string, associatedData: string): Buffer {
  return Buffer.from(`nest-session-kit/mfa SecretBox ${VERSION}\0${kid}\0${associatedData}`, 'utf8');
}

function checkAssociatedData(associatedData: string, method: 'seal' | 'open'): void {
  if (typeof associatedData !== 'string' || associatedData === '') {
    throw new TypeError(
      `SecretBox.${method}: associatedData must be a non-empty string, e.g. the user's id, so a sealed value cannot be moved to another user`,
    );
  }
}

function keyBytes(key: Buffer | string): Buffer | undefined {
  if (Buffer.isBuffer(key)) return Buffer.from(key); // a copy: later changes to the caller's buffer do not reach the box
  return typeof key === 'string' ? strictBase64url(key) : undefined;
}

/** Decodes base64url only in its canonical form: Node's decoder skips stray characters, which would hide an edit. */
function strictBase64url(text: string): Buffer | undefined {
  if (!BASE64URL_SHAPE.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
