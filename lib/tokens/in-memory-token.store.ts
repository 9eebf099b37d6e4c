import {
  AccessCheck,
  AccessRevocation,
  RefreshFamily,
  RefreshRotation,
  RefreshRotationResult,
  TokenStore,
  TokenStoreUnavailableError,
} from './token-store';
import { asPromise } from '../core/promise';

/** Options of {@link InMemoryTokenStore}. */
export interface InMemoryTokenStoreOptions {
  /**
   * Most entries kept of each kind: refresh tokens, families, denied `jti`s, denied sessions, user cut-offs.
   * Default 100 000 (a few tens of MB at most). See the class comment for what happens when one is full.
   */
  maxEntries?: number;
}

/** Default of {@link InMemoryTokenStoreOptions.maxEntries}. */
export const DEFAULT_MAX_TOKEN_ENTRIES = 100_000;

/** How often (ms, on the clock of the calls) a write first drops what nothing can use any more: once a minute. */
export const TOKEN_SWEEP_INTERVAL_MS = 60_000;

interface StoredFamily {
  family: RefreshFamily;
  revoked: boolean;
}

interface StoredToken {
  familyId: string;
  idleExpiresAt: number;
  /** When it was first used (ms); undefined while live. */
  usedAt?: number;
  successorId?: string;
  sealedSuccessor?: string;
}

interface Cutoff {
  notBefore: number;
  until: number;
}

/**
 * The token store in this process's memory: the default of `ApiTokenModule`, for one instance and for tests. Several
 * instances need a shared store (`RedisTokenStore`, `TypeOrmTokenStore`): a refresh token rotated on one instance
 * would be unknown to the others, and a revocation seen by one only.
 *
 * Every method runs synchronously inside its promise, so each is atomic: of parallel `rotateRefresh` calls with
 * the same token exactly one rotates, the others get `grace` with its successor.
 *
 * Kept small: once a minute ({@link TOKEN_SWEEP_INTERVAL_MS}, on the next write) it forgets what nothing can use any
 * more: revoked families and families past their deadline or whose current token idled out (their tokens answer
 * `missing`, refused like `expired`), and denylist entries whose tokens have expired. A steady load therefore holds
 * steady memory, well below the caps.
 *
 * Bounded: at most `maxEntries` entries of each kind. Expired entries are swept first. Then the oldest refresh tokens
 * and families are dropped (fail safe: a dropped refresh token answers `missing`, and its holder signs in again).
 * Denylist entries (a denied `jti` or session, a user's cut-off) are never dropped while they matter, since that
 * would accept a revoked token: when a denylist is full of live entries, the revocation is refused with
 * {@link TokenStoreUnavailableError} (503, fail closed) until entries expire (at most one access-token lifetime).
 */
export class InMemoryTokenStore extends TokenStore {
  private readonly families = new Map<string, StoredFamily>();
  private readonly tokens = new Map<string, StoredToken>();
  private readonly familiesOfUser = new Map<string, Set<string>>();
  private readonly deniedJtis = new Map<string, number>();
  private readonly deniedSessions = new Map<string, number>();
  private readonly cutoffs = new Map<string, Cutoff>();
  private readonly maxEntries: number;
  /** When the next sweep is due (ms); the first write sweeps (nothing) and sets it. */
  private nextSweepAt = Number.NEGATIVE_INFINITY;

  constructor(options: InMemoryTokenStoreOptions = {}) {
    super();
    const max = options.maxEntries ?? DEFAULT_MAX_TOKEN_ENTRIES;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`InMemoryTokenStore: maxEntries is ${String(max)}; give a whole number of at least 1`);
    }
    this.maxEntries = max;
  }

  /** Entries held now, by kind (expired ones included until they are swept). For tests and metrics. */
  get size(): { tokens: number; families: number; deniedJtis: number; deniedSessions: number; cutoffs: number } {
    return {
      tokens: this.tokens.size,
      families: this.families.size,
      deniedJtis: this.deniedJtis.size,
      deniedSessions: this.deniedSessions.size,
      cutoffs: this.cutoffs.size,
    };
  }

  createFamily(family: RefreshFamily, tokenId: string, now: number, idleTimeoutMs: number): Promise<void> {
    return asPromise(() => {
      this.sweepIfDue(now);
      if (this.families.has(family.familyId)) throw new Error(`InMemoryTokenStore: family ${family.familyId} exists already`);
      if (this.tokens.has(tokenId)) throw new Error('InMemoryTokenStore: that refresh token id exists already');
      this.makeRoomForFamily(now);
      this.families.set(family.familyId, { family: { ...family }, revoked: false });
      let ofUser = this.familiesOfUser.get(family.userId);
      if (!ofUser) this.familiesOfUser.set(family.userId, (ofUser = new Set()));
      ofUser.add(family.familyId);
      this.putToken(tokenId, { familyId: family.familyId, idleExpiresAt: Math.min(now + idleTimeoutMs, family.absoluteExpiresAt) }, now);
    });
  }

  rotateRefresh(r: RefreshRotation): Promise<RefreshRotationResult> {
    return asPromise((): RefreshRotationResult => {
      this.sweepIfDue(r.now);
      const token = this.tokens.get(r.tokenId);
      const stored = token && this.families.get(token.familyId);
      if (!token || !stored) return { status: 'missing' };
      const family = { ...stored.family };
      if (stored.revoked || r.now >= stored.family.absoluteExpiresAt) return { status: 'expired', family };
      if (token.usedAt !== undefined) {
        if (r.now - token.usedAt < r.graceMs) {
          return { status: 'grace', family, successorId: token.successorId!, sealedSuccessor: token.sealedSuccessor! };
        }
        stored.revoked = true;
        return { status: 'reused', family };
      }
      if (r.now >= token.idleExpiresAt) return { status: 'expired', family };
      token.usedAt = r.now;
      token.successorId = r.successorId;
      token.sealedSuccessor = r.sealedSuccessor;
      this.putToken(
        r.successorId,
        { familyId: token.familyId, idleExpiresAt: Math.min(r.now + r.idleTimeoutMs, stored.family.absoluteExpiresAt) },
        r.now,
      );
      return { status: 'rotated', family };
    });
  }

  revokeFamilyOfToken(tokenId: string, now: number): Promise<RefreshFamily | null> {
    return asPromise(() => {
      const token = this.tokens.get(tokenId);
      const stored = token && this.families.get(token.familyId);
      if (!stored || !this.isLive(stored, now)) return null;
      stored.revoked = true;
      return { ...stored.family };
    });
  }

  revokeFamily(familyId: string, now: number): Promise<boolean> {
    return asPromise(() => {
      const stored = this.families.get(familyId);
      if (!stored || !this.isLive(stored, now)) return false;
      stored.revoked = true;
      return true;
    });
  }

  revokeAllForUser(userId: string, notBefore: number, until: number, now: number): Promise<number> {
    return asPromise(() => {
      this.sweepIfDue(now);
      const previous = this.cutoffs.get(userId);
      if (!previous) this.makeRoomInDenylist(this.cutoffs, (c) => c.until, now, 'user cut-offs');
      // A later cut-off replaces an earlier one, never the reverse; it holds as long as the longest of the two needs.
      if (!previous || notBefore >= previous.notBefore) {
        this.cutoffs.set(userId, { notBefore, until: Math.max(until, previous && previous.until > now ? previous.until : until) });
      }
      let ended = 0;
      for (const familyId of this.familiesOfUser.get(userId) ?? []) {
        const stored = this.families.get(familyId);
        if (stored && this.isLive(stored, now)) {
          stored.revoked = true;
          ended++;
        }
      }
      return ended;
    });
  }

  listFamilies(userId: string, now: number): Promise<RefreshFamily[]> {
    return asPromise(() => {
      const live: RefreshFamily[] = [];
      for (const familyId of this.familiesOfUser.get(userId) ?? []) {
        const stored = this.families.get(familyId);
        if (stored && this.isLive(stored, now)) live.push({ ...stored.family });
      }
      return live.sort((a, b) => a.createdAt - b.createdAt);
    });
  }

  denyAccessToken(jti: string, until: number, now: number): Promise<void> {
    return asPromise(() => this.deny(this.deniedJtis, jti, until, now, 'denied access tokens'));
  }

  denySession(sid: string, until: number, now: number): Promise<void> {
    return asPromise(() => this.deny(this.deniedSessions, sid, until, now, 'denied sessions'));
  }

  checkAccess(check: AccessCheck, now: number): Promise<AccessRevocation> {
    return asPromise((): AccessRevocation => {
      const jtiUntil = this.deniedJtis.get(check.jti);
      if (jtiUntil !== undefined && jtiUntil > now) return 'jti';
      const cutoff = this.cutoffs.get(check.userId);
      if (cutoff && cutoff.until > now && check.issuedAt < cutoff.notBefore) return 'user';
      if (check.sid !== undefined) {
        const sidUntil = this.deniedSessions.get(check.sid);
        if (sidUntil !== undefined && sidUntil > now) return 'session';
      }
      return null;
    });
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  private isLive(stored: StoredFamily, now: number): boolean {
    return !stored.revoked && now < stored.family.absoluteExpiresAt;
  }

  private deny(map: Map<string, number>, key: string, until: number, now: number, kind: string): void {
    this.sweepIfDue(now);
    const previous = map.get(key);
    if (previous !== undefined && previous >= until) return;
    // Nothing to deny once the token would be refused as expired anyway.
    if (until <= now) return;
    if (previous === undefined) this.makeRoomInDenylist(map, (u) => u, now, kind);
    map.set(key, until);
  }

  private putToken(tokenId: string, token: StoredToken, now: number): void {
    if (this.tokens.size >= this.maxEntries) {
      this.sweepTokens(now);
      // Still full: the oldest refresh token goes (its holder signs in again).
      if (this.tokens.size >= this.maxEntries) this.tokens.delete(this.tokens.keys().next().value!);
    }
    this.tokens.set(tokenId, token);
  }

  /**
   * Once per {@link TOKEN_SWEEP_INTERVAL_MS}: drops families that can never refresh again (revoked, past their
   * deadline, or without a live current token) with all their tokens, and expired denylist entries. A walk over every
   * entry, at most once a minute.
   */
  private sweepIfDue(now: number): void {
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + TOKEN_SWEEP_INTERVAL_MS;
    this.sweepTokens(now);
    const usable = new Set<string>();
    for (const token of this.tokens.values()) if (token.usedAt === undefined) usable.add(token.familyId);
    for (const [id, stored] of this.families) if (!usable.has(id) || !this.isLive(stored, now)) this.dropFamily(id, stored);
    this.sweepTokens(now);
    for (const map of [this.deniedJtis, this.deniedSessions]) for (const [key, until] of map) if (until <= now) map.delete(key);
    for (const [userId, cutoff] of this.cutoffs) if (cutoff.until <= now) this.cutoffs.delete(userId);
  }

  /** Forgets tokens nothing can use any more: their family is gone or past its deadline, or they idled out unused. */
  private sweepTokens(now: number): void {
    for (const [id, token] of this.tokens) {
      const stored = this.families.get(token.familyId);
      if (!stored || now >= stored.family.absoluteExpiresAt || (token.usedAt === undefined && now >= token.idleExpiresAt)) {
        this.tokens.delete(id);
      }
    }
  }

  private makeRoomForFamily(now: number): void {
    if (this.families.size < this.maxEntries) return;
    for (const [id, stored] of this.families) if (now >= stored.family.absoluteExpiresAt) this.dropFamily(id, stored);
    // Still full: the oldest family goes; its tokens answer `missing` from now on.
    if (this.families.size >= this.maxEntries) {
      const [id, stored] = this.families.entries().next().value!;
      this.dropFamily(id, stored);
    }
  }

  private dropFamily(id: string, stored: StoredFamily): void {
    this.families.delete(id);
    const ofUser = this.familiesOfUser.get(stored.family.userId);
    ofUser?.delete(id);
    if (ofUser?.size === 0) this.familiesOfUser.delete(stored.family.userId);
  }

  private makeRoomInDenylist<T>(map: Map<string, T>, untilOf: (value: T) => number, now: number, kind: string): void {
    if (map.size < this.maxEntries) return;
    for (const [key, value] of map) if (untilOf(value) <= now) map.delete(key);
    if (map.size >= this.maxEntries) {
      throw new TokenStoreUnavailableError(
        'deny',
        new Error(
          `InMemoryTokenStore holds ${map.size} live ${kind} (maxEntries): raise maxEntries or use a shared token store; ` +
            'entries free up as the tokens they deny expire',
        ),
      );
    }
  }
}
