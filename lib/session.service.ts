import { Inject, Injectable, Logger } from '@nestjs/common';
import { ActiveSession, ResolveOutcome, SessionEndListener, SessionManager } from './core/session-manager';
import type { CircuitState } from './core/circuit-breaker';
import { SessionGoneError, SessionStoreUnavailableError, TooManySessionsError } from './core/errors';
import type { ClientInfo } from './core/client-info';
import { asPromise, isPromise } from './core/promise';
import { SessionData, SessionRecord, SessionStage, SessionTier } from './core/session-record';
import {
  SessionRequiredException,
  SessionRotatedException,
  SessionStoreUnavailableException,
  TooManySessionsException,
} from './errors/session.exceptions';
import { SecurityEventBus } from './events/security-event-bus';
import { clientInfoOf } from './http/client-info';
import { CookiePolicy } from './http/cookie-policy';
import { HttpRequestLike, HttpResponseLike } from './http/http-types';
import { linkedReply } from './http/fastify-reply-link';
import { headersSent, setNoStore as noStore, setResponseHeader } from './http/response-headers';
import { RESOLVED_SESSION_OPTIONS } from './session.module-definition';
import { ResolvedSessionOptions } from './session.options';

/** The session as the application sees it: no token, no storage id. Times in ms since the epoch. */
export interface SessionView {
  /** Random, non-secret id for listings and revocation; stable across rotations. */
  handle: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
  authenticatedAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  /** Authentication assurance level: 1 (one factor), 2 (multi-factor). */
  aal: number;
  /** `pending` while a second factor is due, else `complete`. */
  stage: SessionStage;
  /**
   * The user's roles: the snapshot taken at login, replaced at once on every live session by
   * {@link SessionService.setRoles}. What `RolesGuard` checks, with no database lookup. Empty when none were given.
   */
  roles: readonly string[];
  /** Incremented by every privilege change of the user (`setRoles`, `bumpPrivileges`). */
  rolesVersion: number;
  /** `remember` for a "remember me" session (longer timeouts, persistent cookie), else `standard`. */
  tier: SessionTier;
  /** For an impersonation session, the administrator's user id (acting as `userId`); otherwise `null`. */
  impersonatedBy: string | null;
  /** Client IP when the session was created (for binding checks and the activity log). */
  ip: string;
  /** Client user agent when the session was created, clipped to 256 characters. */
  userAgent: string;
  /** Application state. Read it here; change it with {@link SessionService.update} (compare-and-set). */
  data: Readonly<SessionData>;
}

/** One entry of a user's session listing ("active devices"). */
export interface SessionListing {
  handle: string;
  /** True for the session making this request. */
  current: boolean;
  createdAt: number;
  lastSeenAt: number;
  ip: string;
  userAgent: string;
  /** `remember` for a "remember me" session, else `standard`. */
  tier: SessionTier;
  /** For an impersonation session, the administrator's user id; otherwise `null`. Show it: the user should see it. */
  impersonatedBy: string | null;
}

/** Input of {@link SessionService.create}. */
export interface CreateSessionOptions {
  /** The authenticated user's id: a non-empty string of at most 255 characters. */
  userId: string;
  /** Authentication assurance level (1 = one factor, 2 = multi-factor). Default 1. */
  aal?: number;
  /**
   * `pending` when the password is proven but a second factor is still due: the session then reaches only
   * routes marked `@AllowPendingSession()` until {@link SessionService.complete}, lives at most the module's
   * `pendingTimeout` (default 5 minutes), and does not count toward `maxConcurrentSessions` (it evicts nothing and
   * is never refused; the limit applies when it completes). Default `complete`.
   */
  stage?: SessionStage;
  /** Initial data: a JSON-serialisable plain object of at most 60 KiB as JSON. */
  data?: SessionData;
  /** Copy the pre-login session's data: `true` for all, or a list of keys. Default: none. */
  carryOver?: boolean | string[];
  /**
   * The user's roles, kept in the session as a snapshot so guarded requests need no database lookup: at most 64
   * names of 1 to 64 characters (repeats dropped). Change them later with {@link SessionService.setRoles}.
   * Default none.
   */
  roles?: readonly string[];
  /**
   * "Remember me": the session lives by the `rememberMe` timeouts (default 30 days idle, 90 days absolute) and
   * gets a persistent cookie (`Max-Age` = the rest of its absolute lifetime, renewed with every rotation).
   * Default `false`: the module's timeouts and a session cookie.
   */
  remember?: boolean;
  /**
   * For an administrator impersonating `userId`: the administrator's user id. The session is a standard one that
   * lives at most `impersonation.maxAge` (default 1 h) from creation, is listed among the user's sessions, and is
   * exempt from the user's concurrent-session limit (it neither counts nor evicts). Cannot be combined with
   * `remember`. Default none.
   */
  impersonatedBy?: string;
  /**
   * When the user actually authenticated, in ms since the epoch, if not now: after an OpenID Connect login, the ID
   * token's `auth_time` (so `@ReAuth` measures the age of the real authentication at the identity provider). At most
   * 30 s in the future (clock skew; clamped to now), else the call fails. Default: now.
   */
  authenticatedAt?: number;
}

/**
 * Each request's session state, kept beside the request rather than on it. Express 5 sets the prototype of every
 * request (`Object.setPrototypeOf`), after which V8 gives each request object a map of its own: a property added to
 * it then costs a runtime lookup at every site that reads or writes it, and changes its map again, so the framework's
 * own reads after the guard miss their caches too. A WeakMap entry leaves the request as it is (measured: 4.1 to 4.8 µs
 * per request for one symbol property written and read three times, against 0.1 to 0.7 µs here) and goes with it.
 */
const STATES = new WeakMap<object, RequestState>();
const NONE: ResolveOutcome = Object.freeze({ kind: 'none' });
const MALFORMED: ResolveOutcome = Object.freeze({ kind: 'malformed' });

interface RequestState {
  /** The outcome itself when it was known at once, else its promise. */
  outcome: ResolveOutcome | Promise<ResolveOutcome>;
  session?: ActiveSession;
  /** The view of `session`, built once per request for the parameter decorators, and the record it shows. */
  view?: SessionView;
  viewOf?: SessionRecord;
  /** A token this request rotated to while no response was known yet: written as soon as one is. */
  pendingToken?: string;
}

/** Express puts the response on the request (`req.res`); used when a caller did not pass one. */
type StatefulRequest = HttpRequestLike & { res?: HttpResponseLike };

/**
 * The response to write a cookie to when a caller passed none: Express's `req.res`, else the Fastify reply linked to
 * the request by `FastifyReplyLink` (a Fastify request has no link of its own to its reply).
 */
function responseOf(req: StatefulRequest, res: HttpResponseLike | undefined): HttpResponseLike | undefined {
  return res ?? req.res ?? linkedReply(req);
}

/**
 * The session API for controllers and services. Loads the session lazily (at most once per request; a route
 * that never asks costs no store round trip), sets the cookie only on create, rotation and destroy, and fails
 * closed with 503 when the store is down.
 */
@Injectable()
export class SessionService {
  private readonly logger = new Logger('SessionModule');
  private readonly cookies: CookiePolicy;
  private lastOutageLog = 0;
  private suppressedOutageLogs = 0;

  constructor(
    private readonly manager: SessionManager,
    private readonly events: SecurityEventBus,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
  ) {
    this.cookies = new CookiePolicy(options.cookie);
  }

  /**
   * Resolves the request's session (once per request). Sends a new cookie when the session rotated, and
   * clears a cookie that names no live session.
   */
  load(req: HttpRequestLike, res?: HttpResponseLike): Promise<ResolveOutcome> {
    return asPromise(() => this.loadNow(req, res));
  }

  /**
   * {@link load} for guards on the request path: the outcome itself when the store answered at once (the in-memory
   * store), else a promise of it. Errors (503 when the store is down) may be thrown synchronously.
   */
  loadNow(req: HttpRequestLike, res?: HttpResponseLike): ResolveOutcome | Promise<ResolveOutcome> {
    const request = req as StatefulRequest;
    const known = STATES.get(request);
    if (known) {
      // A rotation this request made before any response was known is written as soon as one is (checked after
      // the outcome settles, so a load still in flight when this call came is covered too).
      const outcome = known.outcome;
      if (!res) return outcome;
      return isPromise(outcome) ? outcome.then((o) => this.flushPending(request, res, o)) : this.flushPending(request, res, outcome);
    }
    // Every field present from the start: one object shape for all requests.
    const state: RequestState = { outcome: NONE, session: undefined, view: undefined, viewOf: undefined, pendingToken: undefined };
    STATES.set(request, state);
    state.outcome = this.resolve(request, res, state);
    return state.outcome;
  }

  /** The current session, loading it if needed; `null` when the request has none. */
  async current(req: HttpRequestLike, res?: HttpResponseLike): Promise<SessionView | null> {
    const outcome = await this.load(req, res);
    return outcome.kind === 'active' ? toView(outcome.session.record) : null;
  }

  /** The current session if the guard (or an earlier call) loaded it; `undefined` otherwise. Synchronous. */
  peek(req: HttpRequestLike): SessionView | undefined {
    return peekSession(req);
  }

  /**
   * Starts a session for a user who just authenticated. Always a new token; the session the request came
   * with (if any) is destroyed first, so a planted id can never become authenticated (no fixation).
   *
   * @throws TooManySessionsException (409 `TOO_MANY_SESSIONS`, listing the user's sessions) when
   *   `concurrentSessionPolicy` is `'deny-new'` and the user is at the limit; nothing is created. The session the
   *   request came with is ended first all the same, so signing in again on the same device never counts it.
   * @example await sessions.create(req, res, { userId: user.id, roles: user.roles, remember: body.remember === true });
   */
  async create(req: HttpRequestLike, res: HttpResponseLike, input: CreateSessionOptions): Promise<SessionView> {
    const reading = this.cookies.read(req);
    const { token, session } = await this.guard(() =>
      this.manager.create({
        userId: input.userId,
        aal: input.aal,
        stage: input.stage,
        data: input.data,
        carryOver: input.carryOver,
        roles: input.roles,
        remember: input.remember,
        impersonatedBy: input.impersonatedBy,
        authenticatedAt: input.authenticatedAt,
        client: clientInfoOf(req),
        previousToken: reading.kind === 'present' ? reading.value : undefined,
      }),
    );
    this.setCookie(res, token, session.record);
    noStore(res);
    STATES.set(req, { outcome: { kind: 'active', session }, session });
    return toView(session.record);
  }

  /**
   * Changes session data atomically. `mutate` receives a copy and returns the new data (or changes the copy
   * in place); on a parallel write it is re-run on the fresh data, so keep it free of side effects. With sealed-cookie
   * sessions (`sealed` option) it also sets the re-sealed cookie, on `res` or the request's own response.
   *
   * @example await sessions.update(req, (data) => ({ ...data, theme: 'dark' }));
   */
  async update(req: HttpRequestLike, mutate: (data: SessionData) => SessionData | void, res?: HttpResponseLike): Promise<SessionView> {
    const session = await this.require(req, res);
    const record = await this.guard(() => this.manager.updateData(session, mutate));
    if (this.sealed) this.sendResealed(req, session, res);
    return toView(record);
  }

  /** Issues a new id for the current session now (privilege change); the old one dies at once. */
  async rotate(req: HttpRequestLike, res: HttpResponseLike, reason = 'privilege_change'): Promise<SessionView> {
    const session = await this.require(req, res);
    const token = await this.guard(() => this.manager.rotate(session, reason, clientInfoOf(req)));
    return this.afterRotation(req, session, res, token);
  }

  /**
   * Records that the user just proved who they are again (password, second factor): rotates the id, sets
   * `authenticatedAt`, resets the idle and absolute timeouts with those of the session's tier (a remembered session
   * gets the remember timeouts and a fresh persistent cookie), and optionally raises the assurance level. An
   * impersonation session never lives past its creation plus `impersonation.maxAge`, re-authenticated or not.
   * `options.authenticatedAt` (ms since the epoch) is when the user proved it if not now, e.g. the ID token's
   * `auth_time` of a re-authentication at an OpenID Provider; at most 30 s in the future (clamped to now).
   */
  async reauthenticate(
    req: HttpRequestLike,
    res: HttpResponseLike,
    options: { aal?: number; authenticatedAt?: number } = {},
  ): Promise<SessionView> {
    const session = await this.require(req, res);
    const changes = {
      ...(options.aal === undefined ? {} : { aal: options.aal }),
      ...(options.authenticatedAt === undefined ? {} : { authenticatedAt: options.authenticatedAt }),
    };
    const token = await this.guard(() => this.manager.reauthenticate(session, clientInfoOf(req), changes));
    return this.afterRotation(req, session, res, token);
  }

  /**
   * Completes a pending sign-in once the second factor is proven: the stage becomes `complete`, the assurance
   * level becomes `aal` (default 2), `authenticatedAt` is now, and the id rotates. The session's timeouts start again
   * from now with those of its tier (the `pendingTimeout` cap is lifted), and it starts counting toward
   * `maxConcurrentSessions`: under `'evict-oldest'` the user's oldest other session ends if the limit is reached.
   *
   * @throws TooManySessionsException (409 `TOO_MANY_SESSIONS`, listing the user's sessions) under
   *   `concurrentSessionPolicy: 'deny-new'` when the user is at the limit. Nothing changes: the session stays pending
   *   (same cookie, still within `pendingTimeout`), so the app can have the user sign a device out and complete
   *   again, or end it with `destroy`.
   * @example await sessions.complete(req, res, { aal: 2 }); // after verifying the TOTP code
   */
  async complete(req: HttpRequestLike, res: HttpResponseLike, options: { aal?: number } = {}): Promise<SessionView> {
    const session = await this.require(req, res);
    const token = await this.guard(() => this.manager.complete(session, clientInfoOf(req), options.aal ?? 2));
    return this.afterRotation(req, session, res, token);
  }

  /** The client behind a request (IP as the platform reports it, user agent), as the module records it in events. */
  client(req: HttpRequestLike): ClientInfo {
    return clientInfoOf(req);
  }

  /** Logs out: destroys the session server-side and clears the cookie (and, by default, site data). */
  async destroy(req: HttpRequestLike, res: HttpResponseLike): Promise<void> {
    const outcome = await this.load(req, res);
    if (outcome.kind === 'active') await this.guard(() => this.manager.destroy(outcome.session, clientInfoOf(req)));
    this.cookies.clear(res);
    noStore(res);
    if (this.options.clearSiteDataOnLogout && !headersSent(res)) setResponseHeader(res, 'Clear-Site-Data', '"cache", "storage"');
    STATES.set(req, { outcome: NONE });
  }

  /**
   * Ends every session of a user (logout everywhere, password change, account disabled). With `exceptCurrentOf`,
   * the session of that request survives. Returns how many sessions ended: 0 with sealed-cookie sessions, where the
   * server cannot know them (all of the user's cookies minted before the call are refused all the same).
   */
  async destroyAllForUser(userId: string, options: { exceptCurrentOf?: HttpRequestLike; reason?: string } = {}): Promise<number> {
    // Load first: a session not loaded yet would otherwise not be recognised as the one to keep.
    if (options.exceptCurrentOf) await this.load(options.exceptCurrentOf);
    const client = options.exceptCurrentOf ? clientInfoOf(options.exceptCurrentOf) : undefined;
    // Sealed cookie: the kept session gets a new cookie first, minted before the user's cut-off and spared by it.
    if (this.sealed && options.exceptCurrentOf) await this.rotateKeptSeal(options.exceptCurrentOf, userId, client!);
    const keep = options.exceptCurrentOf ? loadedSessionId(options.exceptCurrentOf) : undefined;
    return this.guard(() => this.manager.destroyAllForUser(userId, client, { exceptId: keep, reason: options.reason }));
  }

  /**
   * The user's live sessions, oldest first; `current` marks the one of `req`.
   *
   * @throws SealedSessionsUnlistedError with sealed-cookie sessions: the server keeps no list of them.
   */
  async list(userId: string, req?: HttpRequestLike): Promise<SessionListing[]> {
    if (req) await this.load(req);
    const currentId = req ? loadedSessionId(req) : undefined;
    const sessions = await this.guard(() => this.manager.list(userId));
    return sessions.map(({ id, record }) => ({
      handle: record.handle,
      current: id === currentId,
      createdAt: record.createdAt,
      lastSeenAt: record.lastSeenAt,
      ip: record.ip,
      userAgent: record.userAgent,
      tier: record.tier,
      impersonatedBy: record.impersonatedBy,
    }));
  }

  /**
   * Ends the user's session with this handle. False when the user has none with it (e.g. another user's). With
   * sealed-cookie sessions the server cannot tell, so it answers true for any well-formed handle; a handle of another
   * user's session still ends nothing.
   */
  async revoke(userId: string, handle: string, req?: HttpRequestLike): Promise<boolean> {
    return this.guard(() => this.manager.revoke(userId, handle, req ? clientInfoOf(req) : undefined));
  }

  /** The user's privileges changed: each of their live sessions gets a new id at its next request. */
  async bumpPrivileges(userId: string): Promise<number> {
    return this.guard(() => this.manager.bumpPrivileges(userId));
  }

  /**
   * The user's roles changed (in your user store): every live session of the user, impersonation sessions
   * included, gets `roles` as its snapshot at once, so guards see the change on the very next request. A session
   * that gains a role gets a new id at its next request (privilege change, RO-01); one that only loses roles keeps
   * its id. Emits `authz_change`; `req` (the administrator's request) is recorded as its client. Returns how many
   * sessions changed.
   *
   * @example await sessions.setRoles(user.id, ['user', 'admin'], req);
   */
  async setRoles(userId: string, roles: readonly string[], req?: HttpRequestLike): Promise<number> {
    return this.guard(() => this.manager.setRoles(userId, roles, req ? clientInfoOf(req) : undefined));
  }

  /**
   * Registers `listener`, awaited every time sessions end explicitly (logout, revocation, logout everywhere, a
   * request-time check ending one), not when they time out. `ApiTokenModule` uses it so the access tokens exchanged
   * from a session die with it, and logout everywhere ends the user's refresh tokens too.
   */
  onSessionsEnded(listener: SessionEndListener): void {
    this.manager.onSessionsEnded(listener);
  }

  /**
   * Resolves when the store answers; throws 503 when it does not. For health checks: it asks the store even while
   * the circuit breaker is open, and a success closes the circuit.
   */
  async ping(): Promise<void> {
    await this.guard(() => this.manager.ping());
  }

  /**
   * The state of the store's circuit breaker (`circuitBreaker` option): `closed` (requests reach the store), `open`
   * (they answer 503 at once) or `half-open` (the next one probes the store). `closed` when the breaker is off.
   */
  get storeCircuitState(): CircuitState {
    return this.manager.circuitState;
  }

  /**
   * One request's resolution: synchronous when the manager answered at once (no promise, no closure: it runs on every
   * authenticated request), else the same steps once its promise settles.
   */
  private resolve(req: StatefulRequest, res: HttpResponseLike | undefined, state: RequestState): ResolveOutcome | Promise<ResolveOutcome> {
    const reading = this.cookies.read(req);
    if (reading.kind === 'absent') return NONE;
    if (reading.kind === 'ambiguous') return this.settle(req, res, state, MALFORMED);
    let outcome: ResolveOutcome | Promise<ResolveOutcome>;
    try {
      outcome = this.manager.resolveNow(reading.value, clientInfoOf(req));
    } catch (error) {
      throw this.failed(req, res, state, error);
    }
    return isPromise(outcome) ? this.settleLater(req, res, state, outcome) : this.settle(req, res, state, outcome);
  }

  private async settleLater(
    req: StatefulRequest,
    res: HttpResponseLike | undefined,
    state: RequestState,
    pending: Promise<ResolveOutcome>,
  ): Promise<ResolveOutcome> {
    let outcome: ResolveOutcome;
    try {
      outcome = await pending;
    } catch (error) {
      throw this.failed(req, res, state, error);
    }
    return this.settle(req, res, state, outcome);
  }

  /** A resolution that failed: forgotten (a later call tries again), the answer marked no-store, the error mapped. */
  private failed(req: StatefulRequest, res: HttpResponseLike | undefined, state: RequestState, error: unknown): unknown {
    // Let a later call try again rather than remembering an outage.
    if (STATES.get(req) === state) STATES.delete(req);
    // The 503 depends on the session too: no cache may keep it and answer with it after the store is back.
    const response = responseOf(req, res);
    if (response) noStore(response);
    return this.httpError(error);
  }

  /** Applies an outcome to the request state and the response (cookie, no-store). */
  private settle(req: StatefulRequest, res: HttpResponseLike | undefined, state: RequestState, outcome: ResolveOutcome): ResolveOutcome {
    const response = responseOf(req, res);
    if (outcome.kind === 'active') {
      state.session = outcome.session;
      if (response) noStore(response);
      if (outcome.issuedToken) {
        if (response) this.setCookie(response, outcome.issuedToken, outcome.session.record);
        else state.pendingToken = outcome.issuedToken;
      }
    } else if (response && outcome.kind !== 'none') {
      // A tombstoned id lost a rotation race: the winner's response carries the new cookie; clearing ours
      // could reach the browser after it and erase it.
      if (outcome.kind !== 'rotated') this.cookies.clear(response);
      noStore(response);
    }
    return outcome;
  }

  /** Writes the cookie of a rotation that happened before any response was known. */
  private flushPending(req: StatefulRequest, res: HttpResponseLike, outcome: ResolveOutcome): ResolveOutcome {
    const state = STATES.get(req);
    if (state?.pendingToken !== undefined) {
      if (state.session) this.setCookie(res, state.pendingToken, state.session.record);
      else this.cookies.set(res, state.pendingToken);
      noStore(res);
      state.pendingToken = undefined;
    }
    return outcome;
  }

  private async require(req: HttpRequestLike, res?: HttpResponseLike): Promise<ActiveSession> {
    const outcome = await this.load(req, res);
    const session = STATES.get(req)?.session;
    if (!session) throw outcome.kind === 'rotated' ? new SessionRotatedException() : new SessionRequiredException();
    return session;
  }

  private afterRotation(req: HttpRequestLike, session: ActiveSession, res: HttpResponseLike, token: string | null): SessionView {
    if (token === null) throw new SessionRequiredException('Your session has ended. Sign in again.');
    // This token supersedes one an earlier rotation of this request may still have waiting.
    const state = STATES.get(req);
    if (state) state.pendingToken = undefined;
    this.setCookie(res, token, session.record);
    noStore(res);
    return toView(session.record);
  }

  /** True when sessions travel in a sealed cookie (`sealed` option): every write re-seals and sets the cookie. */
  private get sealed(): boolean {
    return this.options.store.keepsSessionInToken === true;
  }

  /**
   * Sealed cookie: a write re-sealed the session, whose id is the new cookie value. Sent on `res` (or the request's
   * own response), else kept for the next call that knows a response, like a rotation's.
   */
  private sendResealed(req: HttpRequestLike, session: ActiveSession, res: HttpResponseLike | undefined): void {
    const request = req as StatefulRequest;
    const response = responseOf(request, res);
    const state = STATES.get(request);
    if (!response) {
      if (state) state.pendingToken = session.id;
      return;
    }
    if (state) state.pendingToken = undefined;
    this.setCookie(response, session.id, session.record);
    noStore(response);
  }

  /** Sealed cookie, logout everywhere but here: rotates this request's session of `userId`, so the cut-off spares it. */
  private async rotateKeptSeal(req: HttpRequestLike, userId: string, client: ClientInfo): Promise<void> {
    const session = STATES.get(req)?.session;
    if (!session || session.record.userId !== userId) return;
    const token = await this.guard(() => this.manager.rotate(session, 'logout_everywhere', client));
    if (token !== null) this.sendResealed(req, session, undefined);
  }

  /** Sets the session cookie of `record`: persistent for a remembered session, by {@link CookiePolicy.maxAgeFor}. */
  private setCookie(res: HttpResponseLike, token: string, record: SessionRecord): void {
    this.cookies.set(res, token, this.cookies.maxAgeFor(record, this.options.clock.now()));
  }

  /**
   * Maps core failures to HTTP: store down → 503 (logged, throttled to one line a second), session gone → 401,
   * login refused by the concurrent-session limit → 409.
   */
  private guard<T>(fn: () => Promise<T>): Promise<T> {
    return fn().catch((error: unknown) => {
      throw this.httpError(error);
    });
  }

  private httpError(error: unknown): unknown {
    if (error instanceof SessionStoreUnavailableError) {
      this.reportOutage(error);
      return new SessionStoreUnavailableException();
    }
    if (error instanceof SessionGoneError) return new SessionRequiredException(error.message);
    if (error instanceof TooManySessionsError) return new TooManySessionsException(error.limit, error.sessions);
    // Anything else is bad input (SessionInputError) or a bug: it keeps its stack and becomes a 500.
    return error;
  }

  private reportOutage(error: SessionStoreUnavailableError): void {
    const now = this.options.clock.now();
    if (now - this.lastOutageLog < 1000) {
      this.suppressedOutageLogs++;
      return;
    }
    const suppressed = this.suppressedOutageLogs ? ` (${this.suppressedOutageLogs} similar failures in the last second not logged)` : '';
    this.lastOutageLog = now;
    this.suppressedOutageLogs = 0;
    this.logger.error(`${error.message} Failing closed with 503${suppressed}.`);
    this.events.emit({
      type: 'session_store_unavailable',
      time: this.options.clock.now(),
      level: 'CRITICAL',
      outcome: 'failure',
      reason: error.operation,
    });
  }
}

/**
 * The session that `SessionAuthGuard` (or an earlier `SessionService` call) loaded for this request, or
 * `undefined`. Synchronous and free: no store access. Used by the parameter decorators.
 */
export function peekSession(req: HttpRequestLike): SessionView | undefined {
  const state = STATES.get(req);
  const record = state?.session?.record;
  if (!state || !record) return undefined;
  if (state.viewOf !== record || state.view === undefined) {
    state.view = toView(record);
    state.viewOf = record;
  }
  return state.view;
}

/** Storage id of the session loaded for this request, if any. */
function loadedSessionId(req: HttpRequestLike): string | undefined {
  return STATES.get(req)?.session?.id;
}

function toView(r: SessionRecord): SessionView {
  return {
    handle: r.handle,
    userId: r.userId,
    createdAt: r.createdAt,
    lastSeenAt: r.lastSeenAt,
    authenticatedAt: r.authenticatedAt,
    idleExpiresAt: r.idleExpiresAt,
    absoluteExpiresAt: r.absoluteExpiresAt,
    aal: r.aal,
    stage: r.stage,
    roles: r.roles,
    rolesVersion: r.rolesVersion,
    tier: r.tier,
    impersonatedBy: r.impersonatedBy,
    ip: r.ip,
    userAgent: r.userAgent,
    data: r.data,
  };
}
