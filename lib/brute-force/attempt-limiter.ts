import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { Clock, SystemClock } from '../core/clock';
import { AttemptCount, AttemptCounterStore } from './attempt-counter.store';

/** Policy of an {@link AttemptLimiter}. Counts are failures; durations are milliseconds. */
export interface AttemptLimiterOptions {
  /** Where the counters live. */
  store: AttemptCounterStore;
  /** Source of time. Default the system clock; give the session module's `Clock` so tests can move it. */
  clock?: Clock;
  /**
   * What is being protected (`login`, `reauth`, `mfa`, `revoke`, later `refresh`): counters of different scopes never
   * mix. 1 to 32 characters `a-z 0-9 - _`.
   */
  scope: string;
  /**
   * Failures (of the account from unknown clients, of the client, or of the IP) after which a CAPTCHA solution is
   * required. 0 turns the CAPTCHA step off. Default 3.
   */
  captchaAfterFailures?: number;
  /** Failures of an account (or of one client on it) that lock it for {@link lockoutDurationMs}. 1 to 100. Default 10. */
  lockoutThreshold?: number;
  /** How long a lock lasts after the failure that reached (or passed) the threshold, in ms. Default 15 minutes. */
  lockoutDurationMs?: number;
  /** Failures from one IP (any accounts: password spraying) that lock that IP for `lockoutDurationMs`. Default 100. */
  ipLockoutThreshold?: number;
  /**
   * How long the account and client counters remember a failure without a newer one, in ms. Only a successful
   * authentication resets them before that (BF-01); the window only keeps storage bounded. Default 30 days.
   */
  failureWindowMs?: number;
  /** How long the per-IP counter remembers a failure without a newer one, in ms. Default 1 hour. */
  ipWindowMs?: number;
  /**
   * First wait of the progressive delay, in ms: after `delayAfterFailures` failures of a client in a row it must wait
   * this long, then twice as long after each further failure, up to {@link maxDelayMs}. 0 turns the delay off.
   * Default 1000.
   */
  baseDelayMs?: number;
  /** Failures of a client (account + IP) that are free of any wait: a typo or two costs nothing. Default 2. */
  delayAfterFailures?: number;
  /** Longest progressive delay, in ms. Default 30 seconds. */
  maxDelayMs?: number;
  /**
   * How long a client (account + IP) that authenticated successfully stays "known", in ms: a known client is not held
   * by the account's lock or CAPTCHA step caused by others, only by its own failures (BF-03). Default 30 days.
   */
  knownClientMs?: number;
}

/** The defaults of {@link AttemptLimiterOptions}. */
export const ATTEMPT_LIMITER_DEFAULTS = {
  captchaAfterFailures: 3,
  lockoutThreshold: 10,
  lockoutDurationMs: 15 * 60_000,
  ipLockoutThreshold: 100,
  failureWindowMs: 30 * 24 * 3_600_000,
  ipWindowMs: 3_600_000,
  baseDelayMs: 1000,
  delayAfterFailures: 2,
  maxDelayMs: 30_000,
  knownClientMs: 30 * 24 * 3_600_000,
} as const;

/** Who is attempting: the account named (a username, a user id) and the client IP. */
export interface AttemptSubject {
  /** The account the attempt is for, as typed (compared case-insensitively, trimmed). */
  account: string;
  /** The client's IP address (from the socket, or a trusted proxy: never a raw forwarding header). */
  ip: string;
}

/** The counters behind one decision, read in one round trip. */
export interface AttemptState {
  subject: AttemptSubject;
  account: AttemptCount;
  ip: AttemptCount;
  /** The (account, IP) pair. */
  client: AttemptCount;
  /** True when this client signed in to this account successfully within `knownClientMs`. */
  known: boolean;
}

/** What an attempt may do now. */
export type AttemptDecision =
  | { kind: 'allow'; captchaRequired: boolean; state: AttemptState }
  /** Locked (`account`, `client` or `ip`) or waiting out the progressive delay (`delay`); retry after `retryAfterMs`. */
  | {
      kind: 'refuse';
      reason: 'account' | 'client' | 'ip' | 'delay';
      retryAfterMs: number;
      state: AttemptState;
      /** For a `delay`: whether the attempt, once the wait is over, will also need a CAPTCHA solution. */
      captchaRequired?: boolean;
    };

/** What a failure changed. */
export interface FailureOutcome {
  /** Counts after this failure. */
  account: number;
  ip: number;
  client: number;
  /** This failure made the CAPTCHA step start (a count reached `captchaAfterFailures`). */
  captchaStarted: boolean;
  /** This failure reached a lock threshold: the account, client or IP is locked for `lockoutDurationMs`. */
  lockedNow: boolean;
  /** How long the next attempt of this client must wait (lock or delay), in ms; 0 when it may try at once. */
  retryAfterMs: number;
}

/**
 * Failure counting for one kind of attempt (sign-in, re-authentication, second factor, session revocation...):
 * per account, per IP and per (account, IP), with a progressive delay, a CAPTCHA step and a temporary lock.
 * Framework-free; `BruteForceService` wraps it for Nest.
 *
 * Use: {@link check} before verifying the secret (one store round trip, reading every counter at once), then
 * {@link failed} or {@link succeeded}. A success resets the account's and the client's counters (never the IP's),
 * and costs no round trip when there was nothing to reset and the client was already known.
 *
 * Denial of service (BF-03): a client that signed in to the account successfully from the same IP within
 * `knownClientMs` is held only by its own failures: not by the account's lock or CAPTCHA step, nor by the IP's
 * (others behind the same NAT). Everyone
 * else waits at most `lockoutDurationMs`, and after it gets one attempt (with a CAPTCHA) per lock period.
 *
 * @example
 * const login = new AttemptLimiter({ store: new InMemoryAttemptCounterStore(), scope: 'login' });
 * const decision = await login.check({ account: username, ip });
 * if (decision.kind === 'refuse') throw tooManyAttempts(decision.retryAfterMs);
 * if (await passwordOk()) await login.succeeded(decision.state); else await login.failed(decision.state);
 */
export class AttemptLimiter {
  readonly scope: string;
  readonly policy: Required<Omit<AttemptLimiterOptions, 'store' | 'clock' | 'scope'>>;
  private readonly store: AttemptCounterStore;
  private readonly clock: Clock;

  constructor(options: AttemptLimiterOptions) {
    const problems: string[] = [];
    if (!options?.store) problems.push('store is missing: pass an AttemptCounterStore (e.g. new InMemoryAttemptCounterStore())');
    if (typeof options?.scope !== 'string' || !/^[a-z0-9_-]{1,32}$/.test(options.scope)) {
      problems.push(`scope is ${JSON.stringify(options?.scope)}: use 1 to 32 characters a-z 0-9 - _ (e.g. 'login')`);
    }
    const policy = { ...ATTEMPT_LIMITER_DEFAULTS };
    for (const name of Object.keys(ATTEMPT_LIMITER_DEFAULTS) as (keyof typeof ATTEMPT_LIMITER_DEFAULTS)[]) {
      const value = options?.[name];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        problems.push(`${name} is ${JSON.stringify(value)}: give a whole number >= 0`);
        continue;
      }
      (policy as Record<string, number>)[name] = value;
    }
    if (policy.lockoutThreshold < 1 || policy.lockoutThreshold > 100) {
      problems.push(`lockoutThreshold is ${policy.lockoutThreshold}: give 1 to 100 (NIST SP 800-63B allows at most 100 failures)`);
    }
    if (policy.ipLockoutThreshold < 1) problems.push('ipLockoutThreshold is 0: give at least 1');
    if (policy.lockoutDurationMs < 1000) problems.push(`lockoutDurationMs is ${policy.lockoutDurationMs}: give at least 1000 ms`);
    if (problems.length > 0) throw new TypeError(`AttemptLimiter: ${problems.join('; ')}`);
    this.store = options.store;
    this.clock = options.clock ?? new SystemClock();
    this.scope = options.scope;
    this.policy = policy;
  }

  /** Reads the subject's counters (one round trip) and decides whether it may attempt now. */
  async check(subject: AttemptSubject): Promise<AttemptDecision> {
    const now = this.clock.now();
    const [account, ip, client, known] = await this.store.read(this.keys(subject), now);
    const state: AttemptState = { subject, account, ip, client, known: known.count > 0 };
    return decide(state, now, this.policy);
  }

  /** Counts a failure (one round trip, atomic) and says whether it started the CAPTCHA step or a lock. */
  async failed(state: AttemptState): Promise<FailureOutcome> {
    const now = this.clock.now();
    const [accountKey, ipKey, clientKey] = this.keys(state.subject);
    const { failureWindowMs, ipWindowMs, captchaAfterFailures, lockoutThreshold, ipLockoutThreshold } = this.policy;
    const [account, ip, client] = await this.store.increment(
      [
        { key: accountKey, ttlMs: failureWindowMs },
        { key: ipKey, ttlMs: ipWindowMs },
        { key: clientKey, ttlMs: failureWindowMs },
      ],
      now,
    );
    const reached = (count: number, threshold: number) => threshold > 0 && count === threshold;
    const next = decide({ ...state, account, ip, client }, now, this.policy);
    return {
      account: account.count,
      ip: ip.count,
      client: client.count,
      captchaStarted:
        reached(client.count, captchaAfterFailures) ||
        reached(ip.count, captchaAfterFailures) ||
        reached(account.count, captchaAfterFailures),
      lockedNow:
        reached(account.count, lockoutThreshold) || reached(client.count, lockoutThreshold) || reached(ip.count, ipLockoutThreshold),
      retryAfterMs: next.kind === 'refuse' ? next.retryAfterMs : 0,
    };
  }

  /**
   * A successful authentication: resets the account's and this client's counters and marks the client as known.
   * No round trip when there is nothing to change.
   */
  async succeeded(state: AttemptState): Promise<void> {
    const [accountKey, , clientKey, knownKey] = this.keys(state.subject);
    const reset = [...(state.account.count > 0 ? [accountKey] : []), ...(state.client.count > 0 ? [clientKey] : [])];
    if (reset.length === 0 && state.known) return;
    const now = this.clock.now();
    await this.store.reset(reset, state.known ? undefined : { key: knownKey, ttlMs: this.policy.knownClientMs, now });
  }

  /** Storage keys: account, IP, (account, IP), known (account, IP). Accounts are hashed: no usernames at rest. */
  private keys(subject: AttemptSubject): [string, string, string, string] {
    const account = normaliseAccount(subject.account);
    const ip = ipKey(subject.ip);
    const s = this.scope;
    return [`${s}:a:${digest(account)}`, `${s}:i:${ip}`, `${s}:c:${digest(`${account}\n${ip}`)}`, `${s}:k:${digest(`${account}\n${ip}`)}`];
  }
}

/**
 * The decision for a set of counters at `now`: a lock first, then the progressive delay, then the CAPTCHA step (a
 * delay refusal says whether the CAPTCHA step is due too, so that a caller can ask for the solution first).
 */
export function decide(state: AttemptState, now: number, policy: AttemptLimiter['policy']): AttemptDecision {
  // Clamped: a failure stamped in the future by an instance whose clock runs ahead never locks for longer.
  const until = (count: AttemptCount) => Math.min(count.lastAt + policy.lockoutDurationMs - now, policy.lockoutDurationMs);
  // A known client already proved the password from this address: others' failures (on the account, or from the
  // same address behind a NAT) never hold it, only its own.
  if (!state.known && state.ip.count >= policy.ipLockoutThreshold && until(state.ip) > 0) {
    return { kind: 'refuse', reason: 'ip', retryAfterMs: until(state.ip), state };
  }
  if (state.client.count >= policy.lockoutThreshold && until(state.client) > 0) {
    return { kind: 'refuse', reason: 'client', retryAfterMs: until(state.client), state };
  }
  if (!state.known && state.account.count >= policy.lockoutThreshold && until(state.account) > 0) {
    return { kind: 'refuse', reason: 'account', retryAfterMs: until(state.account), state };
  }
  const n = policy.captchaAfterFailures;
  const captchaRequired = n > 0 && (state.client.count >= n || (!state.known && (state.ip.count >= n || state.account.count >= n)));
  const wait = state.client.lastAt + delayAfter(state.client.count, policy) - now;
  if (state.client.count > 0 && wait > 0) return { kind: 'refuse', reason: 'delay', retryAfterMs: wait, state, captchaRequired };
  return { kind: 'allow', captchaRequired, state };
}

/**
 * The progressive delay after `failures` failures of one client: none up to `delayAfterFailures`, then base, 2x base,
 * 4x base... up to `maxDelayMs`.
 */
export function delayAfter(
  failures: number,
  policy: Pick<AttemptLimiter['policy'], 'baseDelayMs' | 'maxDelayMs' | 'delayAfterFailures'>,
): number {
  if (failures <= policy.delayAfterFailures || policy.baseDelayMs === 0) return 0;
  return Math.min(policy.baseDelayMs * 2 ** Math.min(failures - policy.delayAfterFailures - 1, 30), policy.maxDelayMs);
}

function normaliseAccount(account: string): string {
  return account.trim().toLowerCase().normalize('NFKC');
}

/** IPv4 as is; IPv6 by its /64 (one host usually holds a whole /64, so counting addresses would count nothing). */
function ipKey(ip: string): string {
  const bare = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  if (isIP(bare) !== 6) return isIP(bare) === 4 ? bare : `x${digest(bare)}`;
  const [head, tail = ''] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = bare.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return (
    groups
      .slice(0, 4)
      .map((g) => parseInt(g, 16).toString(16))
      .join(':') + '::/64'
  );
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 27);
}
