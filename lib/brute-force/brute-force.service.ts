import { Inject, Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import { AltchaCaptchaVerifier } from '../captcha/altcha-captcha.verifier';
import { CaptchaVerifier } from '../captcha/captcha-verifier';
import { Clock } from '../core/clock';
import { isStoreConnectionError } from '../core/errors';
import { SecurityEventType } from '../events/security-event';
import { SecurityEventBus } from '../events/security-event-bus';
import { clientInfoOf } from '../http/client-info';
import { HttpRequestLike, HttpResponseLike } from '../http/http-types';
import { setResponseHeader } from '../http/response-headers';
import { AttemptCounterStore } from './attempt-counter.store';
import { AttemptLimiter, AttemptState, FailureOutcome } from './attempt-limiter';
import { AttemptLimiterUnavailableException, CaptchaRequiredException, TooManyAttemptsException } from './brute-force.exceptions';
import { BRUTE_FORCE_MODULE_OPTIONS, BruteForceModuleOptions } from './brute-force.module-definition';
import { InMemoryAttemptCounterStore } from './in-memory-attempt-counter.store';
import { SessionTelemetry } from '../telemetry/session-telemetry';

/** The counter store's operations that are timed and traced (when SessionModule's metrics or tracing are on). */
const ATTEMPT_STORE_OPERATIONS = ['read', 'increment', 'reset', 'claim', 'hit'] as const satisfies readonly (keyof AttemptCounterStore)[];

/** An attempt that {@link BruteForceService.begin} let through: hand it to `failed` or `succeeded`. */
export interface AttemptTicket {
  readonly scope: string;
  readonly state: AttemptState;
  readonly req: HttpRequestLike;
}

/** Input of {@link BruteForceService.begin}. */
export interface BeginAttemptInput {
  /** `login`, `reauth`, `mfa`, `revoke`... (counters of different scopes never mix). */
  scope: string;
  /** The account attempted: the typed username at sign-in, the user id on routes behind a session. */
  account: string;
  /** The client's CAPTCHA solution (login body field `captcha`), if it sent one. */
  captcha?: string;
}

/**
 * The brute-force defence for Nest: wraps an {@link AttemptLimiter} per scope, reads the client IP the way the rest of
 * the module does (`req.ip`, which believes `X-Forwarded-For` only from proxies named in Express' `trust proxy`),
 * answers refusals (429 `TOO_MANY_ATTEMPTS` with `Retry-After`, 401 `CAPTCHA_REQUIRED` with a challenge), fails
 * closed (503) when the counters cannot be reached, and emits the OWASP events: `authn_login_fail_max` and
 * `authn_login_lock` for sign-in, `excess_rate_limit_exceeded` for refusals and the other scopes.
 *
 * @example
 * const ticket = await bruteForce.begin(req, res, { scope: 'login', account: body.username, captcha: body.captcha });
 * if (!(await passwordOk())) { await bruteForce.failed(ticket); throw invalidCredentials(); }
 * await bruteForce.succeeded(ticket);
 */
@Injectable()
export class BruteForceService implements OnApplicationShutdown {
  private readonly logger = new Logger('BruteForce');
  private readonly limiters = new Map<string, AttemptLimiter>();
  /** The counter storage every scope (and the default CAPTCHA's replay check) uses. */
  readonly store: AttemptCounterStore;
  private readonly captcha: CaptchaVerifier | undefined;
  private readonly ownsStore: boolean;

  constructor(
    @Inject(BRUTE_FORCE_MODULE_OPTIONS) private readonly options: BruteForceModuleOptions,
    private readonly clock: Clock,
    private readonly events: SecurityEventBus,
    /** SessionModule's metrics and tracer: counts CAPTCHA challenges, times the counter store. */
    @Optional() private readonly telemetry?: SessionTelemetry,
  ) {
    const store = options.store ?? 'memory';
    const counters = store === 'memory' ? new InMemoryAttemptCounterStore() : store;
    this.store = telemetry?.instrument(counters, 'attempt', ATTEMPT_STORE_OPERATIONS) ?? counters;
    this.ownsStore = options.closeStoreOnShutdown ?? store === 'memory';
    this.captcha = options.captcha === false ? undefined : (options.captcha ?? new AltchaCaptchaVerifier({ store: this.store, clock }));
    // Built now so that a bad policy stops start-up with its message.
    this.limiter('login');
    for (const scope of Object.keys(options.scopes ?? {})) this.limiter(scope);
  }

  /** The limiter of `scope` (built once), for a use the service does not cover. */
  limiter(scope: string): AttemptLimiter {
    let limiter = this.limiters.get(scope);
    if (!limiter) {
      limiter = new AttemptLimiter({
        ...this.options.policy,
        ...this.options.scopes?.[scope],
        store: this.store,
        clock: this.clock,
        scope,
      });
      this.limiters.set(scope, limiter);
    }
    return limiter;
  }

  /**
   * Before checking a secret: reads the counters (one store round trip) and refuses a locked or too-early attempt
   * (429 with `Retry-After`), or one that needs a CAPTCHA solution it lacks (401 `CAPTCHA_REQUIRED`).
   *
   * @throws TooManyAttemptsException, CaptchaRequiredException, AttemptLimiterUnavailableException (503)
   */
  async begin(req: HttpRequestLike, res: HttpResponseLike, input: BeginAttemptInput): Promise<AttemptTicket> {
    const client = clientInfoOf(req);
    const subject = { account: input.account, ip: client.ip };
    const decision = await this.unlessDown(() => this.limiter(input.scope).check(subject));
    // Without a CAPTCHA solution no secret is checked, so a client that owes one is told so at once, even while it
    // waits out the progressive delay: it solves the challenge during the wait, and its attempt meets the delay next.
    const owesCaptcha = decision.kind === 'refuse' && decision.reason === 'delay' && decision.captchaRequired === true;
    if (owesCaptcha && this.captcha && (typeof input.captcha !== 'string' || input.captcha === '')) {
      this.telemetry?.metrics?.captchaChallenge(input.scope);
      throw new CaptchaRequiredException(
        await this.captcha.createChallenge(captchaContext(input.scope, input.account, client.ip, client.userAgent)),
      );
    }
    if (decision.kind === 'refuse') {
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      this.emit(req, 'excess_rate_limit_exceeded', input.scope, input.account, {
        reason: decision.reason === 'delay' ? 'delay' : `locked_${decision.reason}`,
        retryAfterMs: decision.retryAfterMs,
      });
      setResponseHeader(res, 'Retry-After', String(seconds));
      throw new TooManyAttemptsException(seconds);
    }
    if (decision.captchaRequired && this.captcha) {
      const context = captchaContext(input.scope, input.account, client.ip, client.userAgent);
      const solved =
        typeof input.captcha === 'string' &&
        input.captcha !== '' &&
        (await this.unlessDown(() => this.captcha!.verify(input.captcha!, context)));
      if (!solved) {
        this.telemetry?.metrics?.captchaChallenge(input.scope);
        throw new CaptchaRequiredException(await this.captcha.createChallenge(context));
      }
    }
    return { scope: input.scope, state: decision.state, req };
  }

  /**
   * The secret was wrong: counts it (one round trip) and emits `authn_login_fail_max` when it started the CAPTCHA
   * step and `authn_login_lock` (reason `maxretries`) when it locked (other scopes: `excess_rate_limit_exceeded`).
   *
   * @param userId the account's id when it exists, for the events
   * @throws AttemptLimiterUnavailableException (503) when the counters cannot be written
   */
  async failed(ticket: AttemptTicket, userId?: string): Promise<FailureOutcome> {
    const outcome = await this.unlessDown(() => this.limiter(ticket.scope).failed(ticket.state));
    const account = ticket.state.subject.account;
    const counts = { accountFailures: outcome.account, clientFailures: outcome.client, ipFailures: outcome.ip };
    const login = ticket.scope === 'login';
    if (outcome.captchaStarted) {
      this.emit(
        ticket.req,
        login ? 'authn_login_fail_max' : 'excess_rate_limit_exceeded',
        ticket.scope,
        account,
        { reason: 'captcha', ...counts },
        userId,
      );
    }
    if (outcome.lockedNow) {
      this.emit(
        ticket.req,
        login ? 'authn_login_lock' : 'excess_rate_limit_exceeded',
        ticket.scope,
        account,
        {
          reason: 'maxretries',
          retryAfterMs: outcome.retryAfterMs,
          ...counts,
        },
        userId,
      );
    }
    return outcome;
  }

  /** The secret was right: resets the account's and the client's counters (no round trip when there is nothing to reset). */
  async succeeded(ticket: AttemptTicket): Promise<void> {
    await this.unlessDown(() => this.limiter(ticket.scope).succeeded(ticket.state));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.ownsStore) await this.store.close();
  }

  private async unlessDown<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (!isStoreConnectionError(error)) throw error;
      this.logger.error(`${error.message} Failing closed with 503.`);
      throw new AttemptLimiterUnavailableException();
    }
  }

  private emit(
    req: HttpRequestLike,
    type: SecurityEventType,
    scope: string,
    account: string,
    detail: Record<string, string | number>,
    userId?: string,
  ): void {
    const client = clientInfoOf(req);
    const { reason, ...rest } = detail;
    this.events.emit({
      type,
      time: this.clock.now(),
      level: type === 'authn_login_lock' ? 'CRITICAL' : 'WARN',
      outcome: 'failure',
      userId,
      ip: client.ip,
      userAgent: client.userAgent,
      reason: String(reason),
      // The attempted account as typed, neutralised: control characters cannot forge log lines. Never the password.
      detail: { scope, account: neutralise(account), ...rest },
    });
  }
}

/** What a CAPTCHA solution is bound to: the scope, the account attempted and the client (IP and user agent). */
function captchaContext(scope: string, account: string, ip: string, userAgent: string): string {
  return `${scope}\n${account.trim().toLowerCase()}\n${ip}\n${userAgent}`;
}

/** Printable characters only (others become `?`), at most 64: safe to log whatever was typed. */
export function neutralise(value: string): string {
  return Array.from(value.slice(0, 64), (ch) => (/[\p{L}\p{N}\p{P}\p{S} ]/u.test(ch) ? ch : '?')).join('');
}
