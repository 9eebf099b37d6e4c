/**
 * The soak run's traffic against the sample app (bench/soak.ts): virtual clients at a fixed total request rate, each
 * with its own keep-alive connection, cookie jar and client IP (`X-Forwarded-For`, the sample trusting loopback):
 *
 * - **browsers** sign in (`GET /auth/csrf`, `POST /auth/login` as alice or bob), then mix `GET /me`, `POST
 *   /cart/items` and `GET /cart`, following every `Set-Cookie` (periodic rotation renews the session ID), and end
 *   with `POST /auth/logout`, or walk away without it (the session then ends by idle timeout in the store);
 * - **API clients** take a token pair (`POST /api/auth/token`), call `GET /api/me` with the access token, rotate the
 *   refresh token (`POST /api/auth/refresh`), and revoke it at the end (`POST /api/auth/revoke`);
 * - **attackers** send wrong passwords for a fixed pool of unknown accounts from a fixed pool of IPs (other IPs than
 *   the browsers', so the CAPTCHA step and locks they cause never touch real sign-ins): 401 `INVALID_CREDENTIALS` or
 *   `CAPTCHA_REQUIRED` and 429 `TOO_MANY_ATTEMPTS` are their expected answers.
 *
 * Every answer is counted by route and status; one a route does not expect (any 5xx, a failed connection, a 401 on
 * `GET /me`) is an unexpected outcome, and the run fails on any.
 */
import { Agent, request } from 'node:http';
import { USER_AGENT } from './load';

/** Statuses counted per route (`METHOD /path`, the path as the contract writes it). Status 0: no answer (error). */
export type RouteStatusCounts = Record<string, Record<string, number>>;

/** What the traffic did. */
export interface TrafficResult {
  counts: RouteStatusCounts;
  /** The unexpected answers by route and status, with the first few bodies of each for the report. */
  unexpected: RouteStatusCounts;
  examples: string[];
  /**
   * Session IDs renewed on an ordinary request (a new session cookie on anything but sign-in), by route: periodic
   * rotation as the clients saw it.
   */
  sessionRenewals: Record<string, number>;
  requests: number;
  durationMs: number;
}

/** The mix of clients and their pace. */
export interface TrafficPlan {
  port: number;
  /** Requests per second of browsers and API clients together (attackers add `attackerRate`). */
  rate: number;
  browsers: number;
  apiClients: number;
  attackers: number;
  /** Requests per second of each attacker. */
  attackerRate: number;
  /** Requests of a browser between sign-in and sign-out. */
  browserSteps: number;
  /** `GET /api/me` calls of an API client per token pair, and how many of them between refreshes. */
  apiSteps: number;
  refreshEvery: number;
  /** Share of browser sessions left without a logout (they end by idle timeout). */
  abandonShare: number;
}

/** The soak's default mix: about 250 requests per second, 3 sign-ins and 1 token pair per second. */
export const DEFAULT_TRAFFIC: Omit<TrafficPlan, 'port' | 'rate'> = {
  browsers: 40,
  apiClients: 8,
  attackers: 4,
  attackerRate: 1,
  browserSteps: 60,
  apiSteps: 40,
  refreshEvery: 20,
  abandonShare: 0.15,
};

/** Seeded users of the sample (SAMPLE-APP.md) that browsers and API clients sign in as. */
const USERS = [
  { username: 'alice', password: 'alice-correct-horse-1' },
  { username: 'bob', password: 'bob-correct-horse-1' },
];
const CART_SKUS = ['sku-apple', 'sku-pear', 'sku-plum', 'sku-fig', 'sku-kiwi'];
/** Accounts and IPs of the attackers: fixed pools, so their counters in the users database stay bounded. */
const ATTACKER_ACCOUNTS = 20;
const ATTACKER_IPS = 20;
/** Longest wait for an answer (ms). A slower answer counts as status 0 (unexpected). */
const REQUEST_TIMEOUT_MS = 15_000;

interface Answer {
  status: number;
  body: string;
  setCookie?: string[];
}

/** Collects the counts of every client. */
class Counter {
  readonly counts: RouteStatusCounts = {};
  readonly unexpected: RouteStatusCounts = {};
  readonly examples: string[] = [];
  readonly sessionRenewals: Record<string, number> = {};
  requests = 0;

  add(route: string, status: number, expected: boolean, body: string): void {
    this.requests++;
    bump(this.counts, route, status);
    if (!expected) {
      bump(this.unexpected, route, status);
      if (this.examples.length < 20) this.examples.push(`${route} → ${status}: ${body.slice(0, 200)}`);
    }
  }
}

function bump(counts: RouteStatusCounts, route: string, status: number): void {
  const byStatus = (counts[route] ??= {});
  byStatus[status] = (byStatus[status] ?? 0) + 1;
}

/**
 * Paces one client: its requests start `intervalMs` apart (at a random phase), whatever their latency, so the total
 * rate stays fixed; a client that fell behind starts the next one at once instead of bursting to catch up.
 */
class Pacer {
  private next: number;

  constructor(
    private readonly intervalMs: number,
    private readonly stopAt: number,
  ) {
    this.next = Date.now() + Math.random() * intervalMs;
  }

  /** Waits for the next slot; false when the run is over. */
  async wait(): Promise<boolean> {
    const now = Date.now();
    if (this.next > now) await sleep(this.next - now);
    this.next = Math.max(this.next + this.intervalMs, Date.now());
    return Date.now() < this.stopAt;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One virtual client: a keep-alive connection, a cookie jar and a client IP. */
class Client {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly jar = new Map<string, string>();

  constructor(
    private readonly port: number,
    readonly ip: string,
    private readonly counter: Counter,
    readonly pacer: Pacer,
  ) {}

  /**
   * Sends one request at the next paced slot and counts its answer under `route`. `expected`: the statuses this
   * route may answer here. Undefined when the run ended before the slot.
   */
  async send(
    route: string,
    options: { method: string; path: string; body?: unknown; headers?: Record<string, string>; expected: readonly number[] },
  ): Promise<Answer | undefined> {
    if (!(await this.pacer.wait())) return undefined;
    const answer = await this.request(options.method, options.path, options.body, options.headers ?? {});
    this.remember(answer.setCookie, route);
    this.counter.add(route, answer.status, options.expected.includes(answer.status), answer.body);
    return answer;
  }

  forgetCookies(): void {
    this.jar.clear();
  }

  close(): void {
    this.agent.destroy();
  }

  private request(method: string, path: string, body: unknown, extra: Record<string, string>): Promise<Answer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, 'x-forwarded-for': this.ip, accept: 'application/json', ...extra };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    return new Promise((resolve) => {
      const req = request(
        { host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent, timeout: REQUEST_TIMEOUT_MS },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, setCookie: res.headers['set-cookie'] }));
          res.on('error', (error) => resolve({ status: 0, body: String(error) }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (error) => resolve({ status: 0, body: String(error) }));
      req.end(payload);
    });
  }

  /**
   * A minimal cookie jar: name=value, removed when the server clears it (empty value, `Max-Age=0` or a past date). A
   * session cookie (`sid`, `__Host-sid`) replaced on any route but sign-in is counted as a renewal (rotation).
   */
  private remember(setCookie: string[] | undefined, route: string): void {
    for (const line of setCookie ?? []) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const cleared =
        value === '' ||
        attributes.some((a) => /^max-age=(0|-\d+)$/i.test(a)) ||
        attributes.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now());
      if (cleared) {
        this.jar.delete(name);
        continue;
      }
      const previous = this.jar.get(name);
      if (/sid$/.test(name) && previous !== undefined && previous !== value && route !== 'POST /auth/login') {
        this.counter.sessionRenewals[route] = (this.counter.sessionRenewals[route] ?? 0) + 1;
      }
      this.jar.set(name, value);
    }
  }
}

function json<T>(answer: Answer | undefined): T | undefined {
  if (!answer || answer.status < 200 || answer.status >= 300 || answer.body === '') return undefined;
  try {
    return JSON.parse(answer.body) as T;
  } catch {
    return undefined;
  }
}

async function csrfToken(client: Client): Promise<string | undefined> {
  return json<{ token: string }>(await client.send('GET /auth/csrf', { method: 'GET', path: '/auth/csrf', expected: [200] }))?.token;
}

/** A browser: sign in, a mix of reads and cart writes, sign out (or walk away); again until the run ends. */
async function browser(client: Client, index: number, plan: TrafficPlan): Promise<void> {
  const user = USERS[index % USERS.length];
  for (;;) {
    client.forgetCookies();
    const loginToken = await csrfToken(client);
    if (loginToken === undefined) return;
    const login = await client.send('POST /auth/login', {
      method: 'POST',
      path: '/auth/login',
      body: user,
      headers: { 'x-csrf-token': loginToken },
      expected: [200],
    });
    if (json(login) === undefined) {
      if (!login) return;
      continue;
    }
    const token = await csrfToken(client);
    if (token === undefined) return;
    for (let step = 0; step < plan.browserSteps; step++) {
      const r = Math.random();
      const answer =
        r < 0.55
          ? await client.send('GET /me', { method: 'GET', path: '/me', expected: [200] })
          : r < 0.85
            ? await client.send('POST /cart/items', {
                method: 'POST',
                path: '/cart/items',
                body: { sku: CART_SKUS[step % CART_SKUS.length], qty: 1 },
                headers: { 'x-csrf-token': token },
                expected: [200],
              })
            : await client.send('GET /cart', { method: 'GET', path: '/cart', expected: [200] });
      if (!answer) return;
    }
    if (Math.random() >= plan.abandonShare) {
      const out = await client.send('POST /auth/logout', {
        method: 'POST',
        path: '/auth/logout',
        headers: { 'x-csrf-token': token },
        expected: [204],
      });
      if (!out) return;
    }
  }
}

interface TokenPair {
  access_token: string;
  refresh_token: string;
}

/** An API client: a token pair, calls with it, refreshes, revokes; again until the run ends. */
async function apiClient(client: Client, index: number, plan: TrafficPlan): Promise<void> {
  const user = USERS[index % USERS.length];
  for (;;) {
    const first = json<TokenPair>(
      await client.send('POST /api/auth/token', { method: 'POST', path: '/api/auth/token', body: user, expected: [200] }),
    );
    if (!first) return;
    let pair: TokenPair = first;
    for (let step = 1; step <= plan.apiSteps; step++) {
      const me = await client.send('GET /api/me', {
        method: 'GET',
        path: '/api/me',
        headers: { authorization: `Bearer ${pair.access_token}` },
        expected: [200],
      });
      if (!me) return;
      if (step % plan.refreshEvery === 0) {
        const next: TokenPair | undefined = json<TokenPair>(
          await client.send('POST /api/auth/refresh', {
            method: 'POST',
            path: '/api/auth/refresh',
            body: { refresh_token: pair.refresh_token },
            expected: [200],
          }),
        );
        if (!next) break;
        pair = next;
      }
    }
    const revoked = await client.send('POST /api/auth/revoke', {
      method: 'POST',
      path: '/api/auth/revoke',
      body: { token: pair.refresh_token },
      expected: [200],
    });
    if (!revoked) return;
  }
}

/** An attacker: wrong passwords for unknown accounts, each attempt with a fresh login CSRF token as a browser would. */
async function attacker(client: Client, index: number, attempt: { n: number }): Promise<void> {
  for (;;) {
    const n = attempt.n++;
    const token = await csrfToken(client);
    if (token === undefined) return;
    const answer = await client.send('POST /auth/login (wrong password)', {
      method: 'POST',
      path: '/auth/login',
      body: { username: `ghost-${n % ATTACKER_ACCOUNTS}`, password: `wrong-${n}` },
      headers: { 'x-csrf-token': token, 'x-forwarded-for': `10.99.${index}.${(n % ATTACKER_IPS) + 1}` },
      expected: [401, 429],
    });
    if (!answer) return;
    client.forgetCookies();
  }
}

/** Runs the traffic of `plan` for `durationMs` and returns what every route answered. */
export async function runSoakTraffic(plan: TrafficPlan, durationMs: number): Promise<TrafficResult> {
  const counter = new Counter();
  const started = Date.now();
  const stopAt = started + durationMs;
  const paced = plan.browsers + plan.apiClients;
  const intervalMs = (paced / plan.rate) * 1000;
  const clients: Client[] = [];
  const make = (ip: string, interval: number): Client => {
    const client = new Client(plan.port, ip, counter, new Pacer(interval, stopAt));
    clients.push(client);
    return client;
  };
  const attempt = { n: 0 };
  const runs = [
    ...Array.from({ length: plan.browsers }, (_, i) => browser(make(`10.77.0.${i + 1}`, intervalMs), i, plan)),
    ...Array.from({ length: plan.apiClients }, (_, i) => apiClient(make(`10.78.0.${i + 1}`, intervalMs), i, plan)),
    // The attacker's X-Forwarded-For is set per attempt (its header overrides the client's).
    ...Array.from({ length: plan.attackers }, (_, i) => attacker(make(`10.99.${i}.1`, 1000 / plan.attackerRate), i, attempt)),
  ];
  try {
    await Promise.all(runs);
  } finally {
    for (const client of clients) client.close();
  }
  return {
    counts: counter.counts,
    unexpected: counter.unexpected,
    sessionRenewals: counter.sessionRenewals,
    examples: counter.examples,
    requests: counter.requests,
    durationMs: Date.now() - started,
  };
}
