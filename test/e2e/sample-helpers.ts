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
import { createApp, CreateAppOptions } from '../../sample/src/app.factory';
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

const SHORT_SECRETS = createGuardrails({ MIN_SECRET_BYTES: 10 });

/** The TOTP code of `secret` at `atMs` (ms since the epoch), as an authenticator app would show it. */
export function totpCode(atMs: number, secret = CAROL_TOTP_SECRET): string {
  return generateSync({ secret, epoch: Math.floor(atMs / 1000), guardrails: SHORT_SECRETS });
}

/** The brute-force settings of {@link startSample} unless `env` says otherwise: CAPTCHA and delay off, lock at 100. */
export const BRUTE_FORCE_OFF = { CAPTCHA_AFTER_FAILURES: '0', LOGIN_DELAY: '0', LOCKOUT_THRESHOLD: '100' } as const;

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
  /** A new client without cookies. */
  client(userAgent?: string): SampleClient;
  /** Closes the app and removes its temporary files (keeping the security log's text). Idempotent. */
  close(): Promise<void>;
}

/**
 * Boots the sample with test defaults (in-memory users database, security log in a temporary file, a
 * ManualClock starting now) overridden by `env`, listening on a free port of 127.0.0.1.
 */
export async function startSample(env: SampleEnv = {}, options: { logger?: CreateAppOptions['logger'] } = {}): Promise<SampleHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'nsk-sample-'));
  const securityLogPath = join(dir, 'security.log');
  const config = parseConfig({
    DATABASE_URL: 'sqlite::memory:',
    SECURITY_LOG: securityLogPath,
    // A fixed test key, so the app does not warn about a random one on every start.
    MFA_ENCRYPTION_KEYS: TEST_MFA_KEYS,
    // Every client of a suite signs in from 127.0.0.1 to one app whose clock stands still, so the brute-force steps
    // would hold suites that fail logins on purpose for other reasons: off here, on (with the contract's defaults) in
    // sample-brute-force.spec.ts and wherever a suite asks for them.
    ...BRUTE_FORCE_OFF,
    ...env,
  });
  // Counters on the shared Redis must not meet those of another run (same accounts, same 127.0.0.1).
  config.bruteForce.redisPrefix = `nsk-test:${randomUUID()}:attempts:`;
  // Starts at the real time: Redis key TTLs and the SQL store's background cleanup use the real clock, and
  // would see sessions from a clock set in the past as long expired.
  const clock = new ManualClock(Date.now());
  const app = await createApp(config, { clock, logger: options.logger });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  let finalLog: string | undefined;
  const readLog = (): string => (existsSync(securityLogPath) ? readFileSync(securityLogPath, 'utf8') : '');
  return {
    app,
    config,
    clock,
    url,
    securityLog: () => finalLog ?? readLog(),
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

/** An HTTP client that keeps the session cookie the way a browser would (set on Set-Cookie, dropped when cleared). */
export class SampleClient {
  /** `name=value` of the session cookie, or undefined. */
  sessionCookie: string | undefined;
  /** Other cookies the app set (the CSRF pre-session nonce), as `name=value`. */
  readonly otherCookies = new Map<string, string>();

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

  /** Sends a request with this client's cookies and records the cookies of the answer. */
  async send(method: Method, path: string, body?: object, headers: Record<string, string> = {}): Promise<Response> {
    let req = request(this.url)[method](path).set('User-Agent', this.userAgent);
    const cookies = [...this.otherCookies.values(), ...(this.sessionCookie ? [this.sessionCookie] : [])];
    if (cookies.length > 0) req = req.set('Cookie', cookies.join('; '));
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
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
