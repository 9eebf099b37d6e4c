/**
 * Shared helpers of the sample app's e2e suites: boot the real AppModule (through `createApp`, as `main.ts`
 * does) on a free port with a ManualClock, and a small cookie-keeping client.
 *
 * The client keeps the session cookie by hand: supertest's agent follows browser rules and would never send a
 * `Secure` cookie over the plain-HTTP test connection.
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGuardrails, generateSync } from 'otplib';
import request, { Response } from 'supertest';
import { ManualClock } from '../../lib';
import type { StoredSecurityEvent } from '../../lib/events/typeorm';
import { createApp, CreateAppOptions } from '../../sample/src/app.factory';
import { AuditTrail } from '../../sample/src/audit/audit-trail';
import { parseConfig, SampleConfig, SampleEnv } from '../../sample/src/config';

/** Demo passwords, as the contract seeds them. */
export const PASSWORDS = {
  alice: 'alice-correct-horse-1',
  bob: 'bob-correct-horse-1',
  carol: 'carol-correct-horse-1',
} as const;

/** Carol's TOTP secret, as the contract seeds it (80 bits, hence the guardrail override to compute codes). */
export const CAROL_TOTP_SECRET = 'JBSWY3DPEHPK3PXP';

/** The `MFA_ENCRYPTION_KEYS` the test apps run with (a test value, never a real key). */
export const TEST_MFA_KEYS = `test:${Buffer.alloc(32, 7).toString('base64url')}`;

/** The `CSRF_SECRET` the test apps run with (a test value, never a real key). */
export const TEST_CSRF_SECRET = 'test-csrf-secret-0123456789abcdefghij';

const SHORT_SECRETS = createGuardrails({ MIN_SECRET_BYTES: 10 });

/** The TOTP code of `secret` at `atMs` (ms since the epoch), as an authenticator app would show it. */
export function totpCode(atMs: number, secret = CAROL_TOTP_SECRET): string {
  return generateSync({ secret, epoch: Math.floor(atMs / 1000), guardrails: SHORT_SECRETS });
}

/** The brute-force settings of {@link startSample} unless `env` says otherwise: CAPTCHA and delay off, lock at 100. */
export const BRUTE_FORCE_OFF = { CAPTCHA_AFTER_FAILURES: '0', LOGIN_DELAY: '0', LOCKOUT_THRESHOLD: '100' } as const;

/**
 * The API rate limit of {@link startSample} unless `env` says otherwise: every client of a suite is 127.0.0.1 and the
 * clock stands still, so the sample's 30 per minute would refuse suites that re-authenticate or revoke often. Still on
 * (the guard and its counters run on every marked route); sample-rate-limit.spec.ts tests the real limits.
 */
export const RATE_LIMIT_RELAXED = { RATE_LIMIT_SENSITIVE: '10000/1m' } as const;

/** The contract's brute-force defaults, for suites that test them. */
export const BRUTE_FORCE_DEFAULTS = { CAPTCHA_AFTER_FAILURES: '3', LOGIN_DELAY: '1s', LOCKOUT_THRESHOLD: '10' } as const;

/** A running sample app. */
export interface SampleHarness {
  app: NestExpressApplication;
  config: SampleConfig;
  clock: ManualClock;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** The JSON-lines security log so far (after `close()`: all of it, flushed). */
  securityLog(): string;
  /**
   * Events of the audit table matching every given field, oldest first. Writes what the sink still buffers first
   * (it writes in the background), so every event of the requests made so far is there.
   */
  auditEvents(filter?: AuditFilter): Promise<StoredSecurityEvent[]>;
  /** The newest audit event matching `filter`; throws when there is none. */
  lastAuditEvent(filter?: AuditFilter): Promise<StoredSecurityEvent>;
  /** A new client without cookies. */
  client(userAgent?: string): SampleClient;
  /** Closes the app and removes its temporary files (keeping the security log's text). Idempotent. */
  close(): Promise<void>;
}

/** Fields an audit event must have, for {@link SampleHarness.auditEvents}. */
export type AuditFilter = Partial<Pick<StoredSecurityEvent, 'type' | 'userId' | 'reason' | 'userAgent' | 'outcome'>>;

/**
 * Boots the sample with test defaults (in-memory users database, security log in a temporary file, a
 * ManualClock starting now) overridden by `env`, listening on a free port of 127.0.0.1.
 */
export async function startSample(
  env: SampleEnv = {},
  /** `listenOnConfiguredPort`: listen on the config's `PORT` (a test that must know the URL before start, e.g. OIDC's redirect URI). */
  options: { logger?: CreateAppOptions['logger']; listenOnConfiguredPort?: boolean } = {},
): Promise<SampleHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'nsk-sample-'));
  const securityLogPath = join(dir, 'security.log');
  const config = parseConfig({
    DATABASE_URL: 'sqlite::memory:',
    SECURITY_LOG: securityLogPath,
    // A fixed test key, so the app does not warn about a random one on every start.
    MFA_ENCRYPTION_KEYS: TEST_MFA_KEYS,
    // The same for the CSRF token key.
    CSRF_SECRET: TEST_CSRF_SECRET,
    // Every client of a suite signs in from 127.0.0.1 to one app whose clock stands still, so the brute-force steps
    // would hold suites that fail logins on purpose for other reasons: off here, on (with the contract's defaults) in
    // sample-brute-force.spec.ts and wherever a suite asks for them.
    ...BRUTE_FORCE_OFF,
    ...RATE_LIMIT_RELAXED,
    ...env,
  });
  // Counters on the shared Redis must not meet those of another run (same accounts, same 127.0.0.1).
  config.bruteForce.redisPrefix = `nsk-test:${randomUUID()}:attempts:`;
  // Starts at the real time: Redis key TTLs and the SQL store's background cleanup use the real clock, and
  // would see sessions from a clock set in the past as long expired.
  const clock = new ManualClock(Date.now());
  const app = await createApp(config, { clock, logger: options.logger });
  await app.listen(options.listenOnConfiguredPort ? config.port : 0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  let finalLog: string | undefined;
  const readLog = (): string => (existsSync(securityLogPath) ? readFileSync(securityLogPath, 'utf8') : '');
  const auditEvents = async (filter: AuditFilter = {}): Promise<StoredSecurityEvent[]> => {
    const sink = app.get(AuditTrail).sink;
    await sink.flush();
    const found: StoredSecurityEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await sink.query({ type: filter.type, userId: filter.userId, limit: 500, cursor });
      found.push(...page.events);
      cursor = page.next;
    } while (cursor);
    const wanted = Object.entries(filter).filter(([, value]) => value !== undefined);
    return found.filter((e) => wanted.every(([key, value]) => e[key as keyof AuditFilter] === value)).reverse();
  };
  return {
    app,
    config,
    clock,
    url,
    securityLog: () => finalLog ?? readLog(),
    auditEvents,
    lastAuditEvent: async (filter: AuditFilter = {}) => {
      const last = (await auditEvents(filter)).at(-1);
      if (!last) throw new Error(`no audit event matches ${JSON.stringify(filter)}`);
      return last;
    },
    client: (userAgent?: string) => new SampleClient(url, config.cookie.name, userAgent, clock),
    close: async () => {
      if (finalLog !== undefined) return;
      await app.close();
      finalLog = readLog();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Method = 'get' | 'post' | 'put' | 'delete';

/** Header of the CSRF token, as the contract names it. */
export const CSRF_HEADER = 'x-csrf-token';

/**
 * An HTTP client that keeps the session cookie the way a browser would (set on Set-Cookie, dropped when cleared),
 * and sends the CSRF token the way the pages do: on every unsafe method (POST, PUT, PATCH, DELETE) it adds
 * `x-csrf-token`, fetched from `GET /auth/csrf` when it has none for the current session cookie (a login, a second
 * factor, a re-authentication or a privilege rotation sets a new cookie, and the token is fetched again). Like the
 * pages, it fetches a new token and sends the request once more when the app answers 403 `CSRF_REJECTED` to a token
 * it fetched itself (a role change made elsewhere renews the session's token without a new cookie).
 *
 * Negative tests opt out per request: an explicit `x-csrf-token` header is sent as given, and an empty one
 * (`{ 'x-csrf-token': '' }`, see {@link NO_CSRF}) sends no token at all.
 */
export class SampleClient {
  /** `name=value` of the session cookie, or undefined. */
  sessionCookie: string | undefined;
  /** Other cookies the app set (the CSRF pre-session nonce), as `name=value`. */
  readonly otherCookies = new Map<string, string>();
  /** The CSRF token fetched for {@link csrfFor} (the session cookie then, or none). */
  private csrfToken: string | undefined;
  private csrfFor: string | undefined;

  constructor(
    private readonly url: string,
    private readonly cookieName: string,
    readonly userAgent = 'sample-e2e/1.0',
    /** The app's clock, for TOTP codes. */
    private readonly clock?: ManualClock,
  ) {}

  /** The session token this client holds (the cookie's value). */
  get token(): string | undefined {
    return this.sessionCookie?.slice(this.cookieName.length + 1);
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.send('get', path, undefined, headers);
  }

  post(path: string, body?: object, headers: Record<string, string> = {}): Promise<Response> {
    return this.send('post', path, body, headers);
  }

  put(path: string, body?: object, headers: Record<string, string> = {}): Promise<Response> {
    return this.send('put', path, body, headers);
  }

  delete(path: string, headers: Record<string, string> = {}, body?: object): Promise<Response> {
    return this.send('delete', path, body, headers);
  }

  /**
   * Signs in as a seeded user and expects success. For an account with TOTP (carol) it sends the code of the
   * clock's current step to `/auth/mfa`: a second sign-in in the same 30 s step would be a replay, so move the
   * clock between them. Answers the login response (`mfaRequired` tells whether a second step ran).
   */
  async login(username: keyof typeof PASSWORDS, options: { remember?: boolean } = {}): Promise<Response> {
    const res = await this.post('/auth/login', { username, password: PASSWORDS[username], ...options });
    if (res.status !== 200) throw new Error(`login as ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    if (res.body.mfaRequired === true) {
      if (!this.clock) throw new Error(`login as ${username} needs a TOTP code: make the client with SampleHarness.client()`);
      const mfa = await this.post('/auth/mfa', { code: totpCode(this.clock.now()) });
      if (mfa.status !== 200) throw new Error(`second factor for ${username} failed: ${mfa.status} ${JSON.stringify(mfa.body)}`);
    }
    return res;
  }

  /** Re-authenticates as a seeded user (with carol's TOTP code at the clock's current step) and expects success. */
  async reauth(username: keyof typeof PASSWORDS, code?: string): Promise<Response> {
    const body: Record<string, string> = { password: PASSWORDS[username] };
    if (code !== undefined) body.code = code;
    else if (username === 'carol' && this.clock) body.code = totpCode(this.clock.now());
    const res = await this.post('/auth/reauth', body);
    if (res.status !== 200) throw new Error(`reauth as ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  }

  /**
   * The CSRF token for this client's current context (its session, or its pre-login nonce), from `GET /auth/csrf`;
   * fetched again only when the session cookie changed since.
   */
  async csrf(): Promise<string> {
    const token = await this.currentCsrf();
    if (typeof token !== 'string') throw new Error(`GET /auth/csrf failed: ${token.status} ${JSON.stringify(token.body)}`);
    return token;
  }

  /** The token as {@link csrf} finds it, or the failed answer of `GET /auth/csrf` (e.g. 503 while the store is down). */
  private async currentCsrf(context: Record<string, string> = {}): Promise<string | Response> {
    if (this.csrfToken === undefined || this.csrfFor !== this.sessionCookie) {
      // Fetched from the same client context as the request it is for (a browser's page fetches it from the same
      // network): the headers a test uses to play another client (X-Forwarded-For under TRUST_PROXY) go along.
      const res = await this.send('get', '/auth/csrf', undefined, contextHeaders(context));
      if (res.status !== 200 || typeof res.body?.token !== 'string') return res;
      this.csrfToken = res.body.token;
      this.csrfFor = this.sessionCookie;
    }
    return this.csrfToken!;
  }

  /** The token for an unsafe request: none when `GET /auth/csrf` failed, so the app's own answer (a 503) shows. */
  private async autoCsrf(context: Record<string, string>): Promise<string | undefined> {
    const token = await this.currentCsrf(context);
    return typeof token === 'string' ? token : undefined;
  }

  /** Forgets the CSRF token, so the next unsafe request fetches a new one (after a role change made elsewhere). */
  forgetCsrf(): void {
    this.csrfToken = undefined;
  }

  /** Sends a request with this client's cookies (and CSRF token, see the class comment); records the answer's cookies. */
  async send(method: Method, path: string, body?: object, headers: Record<string, string> = {}): Promise<Response> {
    const explicit = Object.keys(headers).find((name) => name.toLowerCase() === CSRF_HEADER);
    const auto = method !== 'get' && explicit === undefined;
    const res = await this.sendOnce(method, path, body, headers, auto ? await this.autoCsrf(headers) : undefined);
    if (!auto || res.status !== 403 || res.body?.code !== 'CSRF_REJECTED') return res;
    this.forgetCsrf();
    return this.sendOnce(method, path, body, headers, await this.autoCsrf(headers));
  }

  private async sendOnce(
    method: Method,
    path: string,
    body: object | undefined,
    headers: Record<string, string>,
    token: string | undefined,
  ): Promise<Response> {
    const explicit = Object.keys(headers).find((name) => name.toLowerCase() === CSRF_HEADER);
    let req = request(this.url)[method](path).set('User-Agent', this.userAgent);
    const cookies = [...this.otherCookies.values(), ...(this.sessionCookie ? [this.sessionCookie] : [])];
    if (cookies.length > 0) req = req.set('Cookie', cookies.join('; '));
    if (token !== undefined) req = req.set(CSRF_HEADER, token);
    for (const [name, value] of Object.entries(headers)) if (name !== explicit || value !== '') req = req.set(name, value);
    const res = body === undefined ? await req : await req.send(body);
    this.remember(res);
    return res;
  }

  private remember(res: Response): void {
    for (const line of setCookies(res)) {
      const pair = line.split(';')[0];
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(name.length + 1);
      if (name === this.cookieName) this.sessionCookie = value ? pair : undefined;
      else if (value) this.otherCookies.set(name, pair);
      else this.otherCookies.delete(name);
    }
  }
}

/** The headers of a request that describe the client (network, browser), for the CSRF token fetched for it. */
function contextHeaders(headers: Record<string, string>): Record<string, string> {
  const keep = new Set(['x-forwarded-for', 'user-agent', 'origin', 'sec-fetch-site']);
  return Object.fromEntries(Object.entries(headers).filter(([name]) => keep.has(name.toLowerCase())));
}

/** Headers that make {@link SampleClient} send an unsafe request without any CSRF token. */
export const NO_CSRF: Readonly<Record<string, string>> = Object.freeze({ [CSRF_HEADER]: '' });

/** The Set-Cookie lines of a response (possibly none). */
export function setCookies(res: Response): string[] {
  const header = res.headers['set-cookie'] as string[] | string | undefined;
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [header];
}

/** The Set-Cookie line for `name`, if any. */
export function setCookieFor(res: Response, name: string): string | undefined {
  return setCookies(res).find((c) => c.startsWith(`${name}=`));
}

/** Lets pending asynchronous work (event sinks writing) run. */
export function settle(ms = 50): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
