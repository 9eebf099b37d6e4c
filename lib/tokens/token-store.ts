import { SessionStoreConnectionError } from '../core/errors';

/**
 * One refresh-token family: everything issued from one sign-in (RFC 9700 §4.14.2). Every refresh token of the
 * family is bound to its user, client and scope (TK-07); reuse of a used token ends the whole family (TK-05).
 * Times in ms since the epoch, from the caller's clock.
 */
export interface RefreshFamily {
  /** Random, non-secret id (for events, listings and revocation). 22 base64url characters (128 bits). */
  familyId: string;
  /** The user the family was issued to. */
  userId: string;
  /** The client it was issued to: a refresh presented by another client is refused (TK-07). */
  clientId: string;
  /** The granted scope, space-separated (may be empty). Refreshes never widen it. */
  scope: string;
  /** Authentication assurance level of the sign-in (1 one factor, 2 multi-factor). */
  aal: number;
  /** When the user last authenticated (ms): becomes the access tokens' `auth_time`. */
  authTime: number;
  /** When the family was created (ms). */
  createdAt: number;
  /** The family's absolute deadline (ms): no token of it refreshes after this, however active (TK-06). */
  absoluteExpiresAt: number;
}

/** How a refresh token is stored: never the token itself, only its SHA-256 (`tokenId`). */
export interface RefreshRotation {
  /** SHA-256 (base64url) of the token presented. */
  tokenId: string;
  /** SHA-256 (base64url) of the successor the caller generated. */
  successorId: string;
  /**
   * The successor token sealed with a key only the holder of the presented token can derive (the service
   * encrypts it under a key derived from the presented token). Kept with the used token during `graceMs`, so a
   * concurrent refresh with the same token gets the same successor (no fork) without the store ever holding a
   * usable token. Opaque to the store.
   */
  sealedSuccessor: string;
  /** Current time (ms). */
  now: number;
  /** The successor's idle lifetime (ms): it expires `now + idleTimeoutMs` (capped at the family's absolute deadline) unless used first. */
  idleTimeoutMs: number;
  /** How long after its first use a token still answers with the same successor (ms). After it, a use is reuse. */
  graceMs: number;
}

/** What {@link TokenStore.rotateRefresh} found and did, in one atomic operation. */
export type RefreshRotationResult =
  /** The token was live: it is now used, and `successorId` is stored as the family's live token. */
  | { status: 'rotated'; family: RefreshFamily }
  /**
   * The token was used less than `graceMs` ago (a concurrent refresh): nothing changed; `sealedSuccessor` is the
   * one stored by the first use (open it with the presented token) and `successorId` its id.
   */
  | { status: 'grace'; family: RefreshFamily; successorId: string; sealedSuccessor: string }
  /**
   * The token was used before, outside the grace window: reuse (a stolen token, or a client that lost a response).
   * The store has revoked the whole family in the same operation (TK-05).
   */
  | { status: 'reused'; family: RefreshFamily }
  /** The token idled out, its family passed its absolute deadline, or the family was revoked. Nothing changed. */
  | { status: 'expired'; family: RefreshFamily }
  /** No such token (never issued, forgotten after expiry, or corrupted). Nothing changed. */
  | { status: 'missing' };

/** Input of {@link TokenStore.checkAccess}: the claims of one access token. */
export interface AccessCheck {
  /** The token's subject (user id). */
  userId: string;
  /** The token's `jti`, qualified by issuer by the caller (`iss + ' ' + jti`), so a copy from another issuer is distinct. */
  jti: string;
  /** When the token was issued, in ms (the caller keeps ms precision, so a token issued right after a cut-off passes). */
  issuedAt: number;
  /** The session handle the token names (`sid`), for tokens that die with a session; undefined for others. */
  sid?: string;
}

/** Why an access token is no longer accepted, or `null` when nothing revokes it. */
export type AccessRevocation = 'jti' | 'user' | 'session' | null;

/**
 * Storage of the API-token layer: refresh-token families and the revocation state of access tokens (per-user
 * not-before, a `jti` denylist, a per-session denylist). Implemented next to each session store, on the same
 * backend: `InMemoryTokenStore`, `RedisTokenStore` (`nest-session-kit/redis`), `TypeOrmTokenStore`
 * (`nest-session-kit/typeorm`). `describeTokenStore` in `nest-session-kit/testing` is the conformance suite.
 *
 * Every method is ONE atomic backend operation (one round trip), time always comes from the caller (`now`), ids
 * are SHA-256 hashes (the store never sees a token), and entries are forgotten once nothing can use them any more
 * (a token after its idle deadline, a family after its absolute deadline, a denylist entry after `until`).
 * A backend that cannot be reached throws {@link TokenStoreUnavailableError} (or any `SessionStoreConnectionError`):
 * the API then fails closed with 503, never open.
 */
export abstract class TokenStore {
  /** Opens what the store owns and checks the backend answers. Safe to call more than once. Default: nothing. */
  async connect(): Promise<void> {}

  /**
   * Stores a new family and its first refresh token (`tokenId`, idle deadline `now + idleTimeoutMs` capped at the
   * family's absolute deadline), and adds the family to its user's index.
   *
   * @throws Error when `familyId` or `tokenId` exists already (callers generate fresh random values).
   */
  abstract createFamily(family: RefreshFamily, tokenId: string, now: number, idleTimeoutMs: number): Promise<void>;

  /**
   * Uses a refresh token: see {@link RefreshRotationResult} for each outcome. Parallel calls with the same token
   * never both get `rotated`: exactly one rotates, the others get `grace` with its successor (or `reused` after
   * `graceMs`), so a family never forks.
   */
  abstract rotateRefresh(rotation: RefreshRotation): Promise<RefreshRotationResult>;

  /**
   * Ends the family of the refresh token `tokenId` (RFC 7009 revocation, logout). Answers the family it ended,
   * or `null` when the token is unknown or its family was already ended.
   */
  abstract revokeFamilyOfToken(tokenId: string, now: number): Promise<RefreshFamily | null>;

  /** Ends one family by id. Answers whether a live family was ended. */
  abstract revokeFamily(familyId: string, now: number): Promise<boolean>;

  /**
   * Ends every family of the user AND sets the user's access-token cut-off in the same operation (logout
   * everywhere, password change, account disabled, admin revoke, back-channel logout by `sub`): access tokens
   * issued before `notBefore` (ms) are refused until `until` (ms, the latest such token's expiry). A later
   * cut-off replaces an earlier one, never the reverse. Answers how many live families were ended.
   */
  abstract revokeAllForUser(userId: string, notBefore: number, until: number, now: number): Promise<number>;

  /** The user's live families (not revoked, not past their absolute deadline), oldest first. */
  abstract listFamilies(userId: string, now: number): Promise<RefreshFamily[]>;

  /** Denies one access token by its (issuer-qualified) `jti` until `until` (ms, its expiry). Idempotent. */
  abstract denyAccessToken(jti: string, until: number, now: number): Promise<void>;

  /** Denies every access token naming session handle `sid` until `until` (ms): the session ended. Idempotent. */
  abstract denySession(sid: string, until: number, now: number): Promise<void>;

  /**
   * Whether an access token is revoked: its `jti` denied, issued before its user's cut-off, or naming a denied
   * session, checked together in ONE round trip (the per-request cost of revocation). First match in that order.
   */
  abstract checkAccess(check: AccessCheck, now: number): Promise<AccessRevocation>;

  /** Resolves when the backend answers; throws {@link TokenStoreUnavailableError} otherwise. */
  abstract ping(): Promise<void>;

  /** Releases what the store opened (never a client or data source the application passed in). */
  async close(): Promise<void> {}
}

/** The token storage cannot be reached or timed out. The API fails closed on it (503) and recovers by itself. */
export class TokenStoreUnavailableError extends SessionStoreConnectionError {
  override name = 'TokenStoreUnavailableError';

  constructor(operation: string, cause: unknown) {
    super(
      `Token store operation "${operation}" failed: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'API token routes answer 503 until it answers again; check that the token backend is up and reachable.',
      { cause },
    );
  }
}
