import type { Clock } from '../core/clock';
import { CookiePolicy } from '../http/cookie-policy';
import type { ResolvedSessionOptions } from '../session.options';
import { InMemoryTokenStore } from '../tokens/in-memory-token.store';
import { TokenStore } from '../tokens/token-store';
import { SealingKey, sealingKeyProblems } from './sealed-key-ring';
import { SealedSessionStore } from './sealed-session.store';

/**
 * Client-side sessions: the session travels in the cookie, sealed (JWE `dir` + `A256GCM`, through jose). See the
 * README section "Sealed-cookie sessions" for what this mode is for and what it gives up.
 *
 * @example
 * SessionModule.forRoot({
 *   sealed: { keys: [{ kid: '2026-11', key: process.env.SESSION_SEAL_KEY! }], revocations: new RedisTokenStore({ url }) },
 *   maxConcurrentSessions: 0,
 * })
 */
export interface SealedCookieOptions {
  /**
   * The key ring, newest first: the first key seals every cookie, and every key still opens the cookies sealed with
   * it. Each key is exactly 32 bytes (a `Uint8Array`, or base64url text) with a short unique `kid`. Rotate by putting a
   * new key first; remove an old one after the longest session lifetime (a cookie sealed with it is then refused).
   * Required.
   */
  keys: SealingKey[];
  /**
   * Where the small server-side record of logouts lives (a per-user cut-off and a per-session denylist, each kept until
   * the sessions it refuses have expired): a `TokenStore` shared by every instance (`RedisTokenStore` from
   * `nest-session-kit/redis`, `TypeOrmTokenStore` from `nest-session-kit/typeorm`), or `'memory'` for one process
   * (an `InMemoryTokenStore`: logouts are then forgotten on restart, and other instances never see them). Required.
   */
  revocations: TokenStore | 'memory';
}

/** What the sealed store needs from the rest of the options, already resolved. */
export interface SealedContext {
  cookie: ResolvedSessionOptions['cookie'];
  clock: Clock;
  /** The longest life of any session (ms): how long user-wide revocations are kept. */
  maxLifetimeMs: number;
  /** `maxConcurrentSessions` as given: a number, a function, or nothing. */
  maxConcurrentSessions: unknown;
  /** Whether `store` was given too. */
  storeGiven: boolean;
}

/**
 * Validates the `sealed` option and builds its store; every problem goes to `problems` (the module then refuses to
 * start and lists them all). Answers `undefined` when there are problems.
 */
export function resolveSealedStore(sealed: unknown, context: SealedContext, problems: string[]): SealedSessionStore | undefined {
  const before = problems.length;
  if (typeof sealed !== 'object' || sealed === null) {
    problems.push('sealed must be an object { keys, revocations }: see the README section "Sealed-cookie sessions"');
    return undefined;
  }
  const { keys, revocations } = sealed as Record<string, unknown>;
  problems.push(...sealingKeyProblems(keys, 'sealed.keys'));
  if (revocations !== 'memory' && !(revocations instanceof TokenStore) && typeof (revocations as TokenStore)?.checkAccess !== 'function') {
    problems.push(
      "sealed.revocations must be a TokenStore shared by your instances (RedisTokenStore from 'nest-session-kit/redis', TypeOrmTokenStore " +
        "from 'nest-session-kit/typeorm') or 'memory' for a single process: logouts are kept there",
    );
  }
  if (context.storeGiven) {
    problems.push(
      'store and sealed cannot both be given: sealed sessions live in the cookie; remove store (or sealed for server-side sessions)',
    );
  }
  const limit = context.maxConcurrentSessions;
  if (typeof limit === 'function' || (typeof limit === 'number' && limit !== 0)) {
    problems.push(
      'maxConcurrentSessions cannot be held with sealed sessions (the server keeps no list of them): set it to 0 or leave it out, or use a server-side store',
    );
  }
  if (!context.cookie.httpOnly) {
    problems.push(
      'cookie.httpOnly must stay true with sealed sessions: a script that reads the cookie can replay the whole session elsewhere',
    );
  }
  if (problems.length > before) return undefined;
  const policy = new CookiePolicy(context.cookie);
  return new SealedSessionStore({
    keys: keys as SealingKey[],
    revocations: revocations === 'memory' ? new InMemoryTokenStore() : (revocations as TokenStore),
    maxLifetimeMs: context.maxLifetimeMs,
    clock: context.clock,
    cookieBytes: (value) => policy.headerBytes(value),
  });
}
