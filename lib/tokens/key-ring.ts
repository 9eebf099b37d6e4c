import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import type { Clock } from '../core/clock';
import type { AccessTokenAlgorithm } from './api-token.options';

/**
 * A JSON Web Key as the module reads it (a private key in `ApiTokenModuleOptions.keys`) and publishes it (a public key
 * in the JWKS). Declared here rather than taken from jose, whose ESM-only typings a CommonJS app could not import.
 */
export interface AccessTokenJwk {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
  /** The private part: present in `keys`, never in the JWKS. */
  d?: string;
  kid?: string;
  alg?: string;
  use?: string;
  [member: string]: unknown;
}

/** One signing key pair, held as `KeyObject`s created once (never re-imported per request). */
export interface SigningKey {
  kid: string;
  alg: AccessTokenAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public JWK as the JWKS publishes it (`kty`, `crv`, `x`, (`y`), `kid`, `alg`, `use: sig`). */
  publicJwk: AccessTokenJwk;
}

interface RetiredKey {
  key: SigningKey;
  /** Until when tokens it signed may still be live (retire time + access-token TTL, ms). */
  until: number;
}

/**
 * The access-token signing keys: the current key (signs), the next key (published in the JWKS before it signs, so
 * every verifier has it by the time it does) and retired keys (published and accepted until the last token they
 * signed has expired: retire time + access-token TTL). {@link rotate} promotes next to current and makes a new next.
 */
export class KeyRing {
  private currentKey: SigningKey;
  private nextKey: SigningKey;
  private retired: RetiredKey[] = [];
  private jwksCache: { keys: AccessTokenJwk[] } | undefined;
  private jwksUntil = 0;
  private algorithmsCache: AccessTokenAlgorithm[] | undefined;

  /**
   * @param keys private JWKs: current, next, then retired (see `ApiTokenModuleOptions.keys`); none: generated
   * @param algorithm of generated keys
   * @param accessTokenTtlMs how long a retired key stays accepted (ms)
   */
  constructor(
    keys: readonly AccessTokenJwk[] | undefined,
    private readonly algorithm: AccessTokenAlgorithm,
    private readonly accessTokenTtlMs: number,
    private readonly clock: Clock,
  ) {
    const imported = (keys ?? []).map(importPrivateJwk);
    const kids = new Set(imported.map((k) => k.kid));
    if (kids.size !== imported.length) throw new Error('ApiTokenModule keys: two keys share a kid; give each key a unique kid');
    this.currentKey = imported[0] ?? generateSigningKey(algorithm);
    this.nextKey = imported[1] ?? generateSigningKey(imported[0]?.alg ?? algorithm);
    // Retired keys given at start-up: accepted for one token lifetime from now (when they retired is unknown).
    const now = clock.now();
    this.retired = imported.slice(2).map((key) => ({ key, until: now + accessTokenTtlMs }));
  }

  /** The key that signs now. */
  get current(): SigningKey {
    return this.currentKey;
  }

  /** The key that signs after the next {@link rotate}; already published. */
  get next(): SigningKey {
    return this.nextKey;
  }

  /** The algorithms tokens may be signed with: verification pins these (TK-01). */
  get algorithms(): AccessTokenAlgorithm[] {
    // Read on every verification: built once per change of the ring (rotate), not per request; frozen, since the
    // same array pins the algorithms of every verification.
    return (this.algorithmsCache ??= Object.freeze([
      ...new Set([this.currentKey.alg, this.nextKey.alg, ...this.retired.map((r) => r.key.alg)]),
    ]) as AccessTokenAlgorithm[]);
  }

  /** The key with this `kid` that may have signed a live token, or undefined. */
  verificationKey(kid: unknown): SigningKey | undefined {
    if (typeof kid !== 'string') return undefined;
    if (kid === this.currentKey.kid) return this.currentKey;
    // Another instance may have rotated first: the next key is already trusted.
    if (kid === this.nextKey.kid) return this.nextKey;
    const now = this.clock.now();
    return this.retired.find((r) => r.key.kid === kid && r.until > now)?.key;
  }

  /**
   * Promotes the next key to current, retires the current one (accepted and published for one more access-token
   * lifetime), and makes a new next key (generated, or `next` when given as a private JWK).
   */
  rotate(next?: AccessTokenJwk): void {
    const now = this.clock.now();
    const incoming = next ? importPrivateJwk(next) : generateSigningKey(this.algorithm);
    this.retired = this.retired.filter((r) => r.until > now);
    this.retired.push({ key: this.currentKey, until: now + this.accessTokenTtlMs });
    this.currentKey = this.nextKey;
    this.nextKey = incoming;
    this.jwksCache = undefined;
    this.algorithmsCache = undefined;
  }

  /** The public JWKS: current, next and still-live retired keys. Built once per change (or retirement end). */
  jwks(): { keys: AccessTokenJwk[] } {
    const now = this.clock.now();
    if (this.jwksCache && now < this.jwksUntil) return this.jwksCache;
    const live = this.retired.filter((r) => r.until > now);
    this.jwksUntil = Math.min(Infinity, ...live.map((r) => r.until));
    this.jwksCache = { keys: [this.currentKey, this.nextKey, ...live.map((r) => r.key)].map((k) => ({ ...k.publicJwk })) };
    return this.jwksCache;
  }
}

/** A new key pair for `alg`, with its RFC 7638 thumbprint as `kid`. */
export function generateSigningKey(alg: AccessTokenAlgorithm): SigningKey {
  const { privateKey, publicKey } = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return fromKeyObjects(privateKey, publicKey, undefined, alg);
}

/** A private JWK (Ed25519 `OKP` or P-256 `EC`, with `kid`) as a {@link SigningKey}. */
export function importPrivateJwk(jwk: AccessTokenJwk): SigningKey {
  const alg: AccessTokenAlgorithm | undefined =
    jwk.kty === 'OKP' && jwk.crv === 'Ed25519' ? 'EdDSA' : jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : undefined;
  if (!alg) throw new Error(`ApiTokenModule keys: key ${String(jwk.kid)} is not Ed25519 or P-256`);
  const privateKey = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  return fromKeyObjects(privateKey, createPublicKey(privateKey), jwk.kid, alg);
}

function fromKeyObjects(privateKey: KeyObject, publicKey: KeyObject, kid: string | undefined, alg: AccessTokenAlgorithm): SigningKey {
  const exported = publicKey.export({ format: 'jwk' }) as AccessTokenJwk;
  const members =
    alg === 'EdDSA'
      ? { crv: exported.crv, kty: exported.kty, x: exported.x }
      : { crv: exported.crv, kty: exported.kty, x: exported.x, y: exported.y };
  const id = kid ?? createHash('sha256').update(JSON.stringify(members)).digest('base64url');
  return { kid: id, alg, privateKey, publicKey, publicJwk: { ...members, kid: id, alg, use: 'sig' } };
}
