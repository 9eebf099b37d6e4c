/**
 * Faults under load (issue 10, AV-01 and AV-04): the built sample app as a real child process on a PRIVATE Redis, then
 * on a PRIVATE PostgreSQL, under steady traffic from many clients (sign-ins, GET /me, cart writes). Each store is
 *
 * 1. killed (SIGKILL), kept down a few seconds and restarted on the same port and data: the app never crashes,
 *    answers nothing but 2xx and 503 (the contract's error shape), recovers by itself, and no cart write it
 *    acknowledged with a 2xx is lost;
 * 2. paused (SIGSTOP) under open-loop traffic, then resumed (SIGCONT): requests end at the store's timeout with 503,
 *    the circuit breaker then answers 503 at once, so requests in flight do not pile up and memory stays flat.
 *
 * Prints, per backend, the figures the README's "Operating it" section records: time to detect (store down → first
 * 503), time to recover (store back → first 2xx), requests refused (503s). The outage behaviour of single requests
 * is in redis-outage-http.spec.ts and memcached-outage-http.spec.ts; this adds load, PostgreSQL and the pause.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS } from '../../lib/stores/redis';
import { DEFAULT_SQL_OPERATION_TIMEOUT_MS } from '../../lib/stores/typeorm';
import { BRUTE_FORCE_OFF, RATE_LIMIT_RELAXED } from '../e2e/sample-helpers';
import { PrivatePostgres } from '../support/private-postgres';
import { freePort, PrivateRedis } from '../support/private-redis';
import { BalancedClient, buildSample, SampleInstance, SHARED_SECRETS } from '../support/sample-instances';

jest.setTimeout(180_000);

/** Clients that each keep one session and loop over GET /me and a cart write. */
const CART_CLIENTS = 8;
/** Clients that sign in again and again (a fresh browser each time). */
const LOGIN_CLIENTS = 2;
/** Pause between two requests of one client (ms): steady load, not a benchmark, on a shared 2-core machine. */
const THINK_MS = 20;
const DOWN_MS = 4000;
/** Open-loop rate during the pause (requests per second), sent whatever the answers. */
const PAUSE_RATE = 40;
/** The brief's "memory stays flat", generously: growth allowed while the store is paused. */
const RSS_BOUND = 150 * 1024 * 1024;
const HEAP_BOUND = 100 * 1024 * 1024;

const MEMORY_REPORTER = resolve(__dirname, '../support/memory-reporter.js');

/** One store the sample runs on, which the test can kill, restart, pause and resume. */
interface Backend {
  name: string;
  /** The store's own timeout, which bounds a request while it is paused (ms). */
  timeoutMs: number;
  env: Record<string, string>;
  start(): Promise<void>;
  signal(signal: NodeJS.Signals): Promise<void>;
  dispose(): Promise<void>;
}

const BACKENDS: Array<{ name: string; open: () => Promise<Backend> }> = [
  {
    name: 'redis',
    open: async () => {
      const redis = new PrivateRedis(await freePort(), true);
      return {
        name: 'redis',
        timeoutMs: DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
        env: { SESSION_STORE: 'redis', REDIS_URL: redis.url },
        start: () => redis.start(),
        signal: (s) => redis.signal(s),
        dispose: () => redis.dispose(),
      };
    },
  },
  {
    name: 'postgres',
    open: async () => {
      const pg = new PrivatePostgres(await freePort());
      return {
        name: 'postgres',
        timeoutMs: DEFAULT_SQL_OPERATION_TIMEOUT_MS,
        env: { SESSION_STORE: 'postgres', SESSION_DATABASE_URL: pg.url },
        start: () => pg.start(),
        signal: (s) => pg.signal(s),
        dispose: () => pg.dispose(),
      };
    },
  },
];

/** One answer, when its request was sent and when the answer came (ms since epoch). */
interface Answer {
  route: string;
  status: number;
  sentAt: number;
  at: number;
  body: unknown;
}

/** Everything the load saw. */
class Traffic {
  readonly answers: Answer[] = [];
  /** Answers outside 2xx and 503, or 503s outside the contract's error shape (with their bodies). */
  readonly unexpected: Answer[] = [];
  /** Network failures (the app not answering at all: a crash). */
  readonly failures: string[] = [];
  inFlight = 0;

  async track(route: string, send: () => Promise<{ status: number; body: unknown }>): Promise<number> {
    const sentAt = Date.now();
    this.inFlight++;
    try {
      const res = await send();
      const answer = { route, status: res.status, sentAt, at: Date.now(), body: res.body };
      this.answers.push(answer);
      const ok2xx = res.status >= 200 && res.status < 300;
      if (!ok2xx && !(res.status === 503 && isUnavailableBody(res.body))) this.unexpected.push(answer);
      return res.status;
    } catch (error) {
      this.failures.push(`${route}: ${error instanceof Error ? error.message : String(error)}`);
      return 0;
    } finally {
      this.inFlight--;
    }
  }

  /** The first answer with `status` to a request that needs the store, sent at or after `from`. */
  first(predicate: (a: Answer) => boolean, from: number): Answer | undefined {
    return this.answers
      .filter((a) => a.sentAt >= from && a.route !== '/health' && predicate(a))
      .sort((x, y) => x.at - y.at)
      .at(0);
  }
}

/** The contract's JSON error shape for a dependency that is down: `{ statusCode: 503, code: '..._UNAVAILABLE', message }`. */
function isUnavailableBody(body: unknown): boolean {
  const b = body as { statusCode?: unknown; code?: unknown; message?: unknown } | undefined;
  return b?.statusCode === 503 && typeof b.code === 'string' && /_UNAVAILABLE$/.test(b.code) && typeof b.message === 'string';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client with one session, adding to its cart: `acked` counts the adds answered 2xx, per SKU. */
class CartClient {
  readonly browser = new BalancedClient();
  readonly acked = new Map<string, number>();
  private n = 0;

  constructor(readonly index: number) {}

  async step(app: SampleInstance, traffic: Traffic): Promise<void> {
    await traffic.track('/me', () => this.browser.get(app, '/me'));
    await sleep(THINK_MS);
    const sku = `c${this.index}-${this.n++ % 20}`;
    const status = await traffic.track('/cart/items', () => this.browser.post(app, '/cart/items', { sku, qty: 1 }));
    if (status >= 200 && status < 300) this.acked.set(sku, (this.acked.get(sku) ?? 0) + 1);
  }
}

/** Steady load: cart clients and sign-in clients in closed loops until stopped. */
class Load {
  readonly traffic = new Traffic();
  readonly carts: CartClient[] = Array.from({ length: CART_CLIENTS }, (_, i) => new CartClient(i));
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly app: SampleInstance) {}

  async start(): Promise<void> {
    for (const [i, cart] of this.carts.entries()) await cart.browser.login(this.app, i % 2 === 0 ? 'alice' : 'bob');
    this.running = true;
    this.loops = [
      ...this.carts.map(async (cart) => {
        while (this.running) {
          await cart.step(this.app, this.traffic);
          await sleep(THINK_MS);
        }
      }),
      ...Array.from({ length: LOGIN_CLIENTS }, async (_, i) => {
        while (this.running) {
          const browser = new BalancedClient();
          const user = i % 2 === 0 ? 'alice' : 'bob';
          await this.traffic.track('/auth/login', () =>
            browser.post(this.app, '/auth/login', { username: user, password: `${user}-correct-horse-1` }),
          );
          await sleep(THINK_MS * 5);
        }
      }),
    ];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/** Memory samples the sample process wrote (see test/support/memory-reporter.js). */
function memorySamples(app: SampleInstance): Array<{ at: number; rss: number; heapUsed: number }> {
  return [...app.errors().matchAll(/^nsk-memory (\{.*\})$/gm)].map(
    (m) => JSON.parse(m[1]) as { at: number; rss: number; heapUsed: number },
  );
}

function maxOf(samples: Array<{ rss: number; heapUsed: number }>): { rss: number; heapUsed: number } {
  return { rss: Math.max(...samples.map((s) => s.rss)), heapUsed: Math.max(...samples.map((s) => s.heapUsed)) };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

beforeAll(() => buildSample(), 180_000);

describe.each(BACKENDS)('faults under load: the sample on a private $name', ({ open }) => {
  let dir: string;
  let backend: Backend;
  let app: SampleInstance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nsk-faults-'));
    backend = await open();
    await backend.start();
    app = await SampleInstance.start(backend.name, {
      ...backend.env,
      ...SHARED_SECRETS,
      ...BRUTE_FORCE_OFF,
      ...RATE_LIMIT_RELAXED,
      DATABASE_URL: `sqlite:${join(dir, 'users.sqlite')}`,
      SECURITY_LOG: join(dir, 'security.log'),
      // Every client signs in as alice or bob: no session may be evicted by the per-user limit mid-test.
      SESSION_MAX_CONCURRENT: '0',
      NODE_OPTIONS: `--require ${MEMORY_REPORTER}`,
    });
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await backend?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('killed and restarted under load: only 2xx and 503, recovers by itself, loses no acknowledged cart write', async () => {
    const load = new Load(app);
    await load.start();
    await sleep(2000);

    const downAt = Date.now();
    await backend.signal('SIGKILL');
    await sleep(DOWN_MS);
    const upAt = Date.now();
    await backend.start();
    const restartedAt = Date.now();
    // Recovery: every client is served again, by the same app process, without a restart.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !load.traffic.first((a) => a.status < 300 && a.route !== '/auth/login', restartedAt)) await sleep(100);
    await sleep(2000);
    await load.stop();

    const { traffic } = load;
    expect(traffic.failures).toEqual([]);
    expect(traffic.unexpected.slice(0, 5)).toEqual([]);
    const firstRefusal = traffic.first((a) => a.status === 503, downAt);
    const firstServed = traffic.first((a) => a.status < 300 && a.route !== '/auth/login', restartedAt);
    expect(firstRefusal).toBeDefined();
    expect(firstServed).toBeDefined();
    const refused = traffic.answers.filter((a) => a.status === 503).length;

    // No write acknowledged with a 2xx is lost: each client's cart holds at least every unit it was told was added
    // (a 503'd add may have been applied too: a 503 never promises that nothing happened).
    let ackedAdds = 0;
    const lost: Array<{ sku: string; acked: number; inCart: number }> = [];
    for (const cart of load.carts) {
      const res = await cart.browser.get(app, '/cart');
      expect(res.status).toBe(200);
      const lines = new Map((res.body.items as Array<{ sku: string; qty: number }>).map((l) => [l.sku, l.qty]));
      for (const [sku, acked] of cart.acked) {
        ackedAdds += acked;
        if ((lines.get(sku) ?? 0) < acked) lost.push({ sku, acked, inCart: lines.get(sku) ?? 0 });
      }
    }
    expect(lost).toEqual([]);
    expect(ackedAdds).toBeGreaterThan(0);
    expect((await fetch(`${app.url}/health`)).status).toBe(200);
    expect(app.errors()).toMatch(/Session store circuit OPEN after \d+ connectivity failures in a row/);

    console.log(
      `[faults ${backend.name}] kill: ${traffic.answers.length} answers; time to detect ${firstRefusal!.at - downAt} ms (store down → first 503); ` +
        `store restarted in ${restartedAt - upAt} ms; time to recover ${firstServed!.at - restartedAt} ms (store back → first 2xx); ` +
        `requests refused ${refused} (503); acknowledged cart adds ${ackedAdds}, lost 0; no 500, no crash`,
    );
  });

  it('paused (SIGSTOP) under open-loop load: requests end at the store timeout with 503, do not pile up, memory stays flat', async () => {
    const traffic = new Traffic();
    const clients = Array.from({ length: 4 }, () => new BalancedClient());
    for (const [i, client] of clients.entries()) await client.login(app, i % 2 === 0 ? 'alice' : 'bob');
    let sending = true;
    const sent: Promise<number>[] = [];
    let inFlightPeak = 0;
    const sender = (async () => {
      for (let n = 0; sending; n++) {
        const client = clients[n % clients.length];
        sent.push(traffic.track('/me', () => client.get(app, '/me')));
        inFlightPeak = Math.max(inFlightPeak, traffic.inFlight);
        await sleep(1000 / PAUSE_RATE);
      }
    })();

    await sleep(3000);
    const pausedAt = Date.now();
    await backend.signal('SIGSTOP');
    const pauseMs = backend.timeoutMs + 5000;
    await sleep(pauseMs);
    // Long after the timeout and the circuit's opening: requests must be answered at once, not held.
    const inFlightAtEnd = traffic.inFlight;
    const resumedAt = Date.now();
    await backend.signal('SIGCONT');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !traffic.first((a) => a.status === 200, resumedAt)) await sleep(100);
    await sleep(3000);
    sending = false;
    await sender;
    await Promise.all(sent);

    expect(traffic.failures).toEqual([]);
    expect(traffic.unexpected.slice(0, 5)).toEqual([]);
    const during = traffic.answers.filter((a) => a.sentAt >= pausedAt && a.sentAt < resumedAt);
    const refused = during.filter((a) => a.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    // Every request sent during the pause ended by the store's timeout (plus its sweep and this loaded machine's slack).
    const slowest = Math.max(...during.map((a) => a.at - a.sentAt));
    expect(slowest).toBeLessThan(backend.timeoutMs + 3000);
    // Without timeouts and the breaker, PAUSE_RATE × pauseMs requests would be waiting here.
    expect(inFlightAtEnd).toBeLessThanOrEqual(PAUSE_RATE * 1.5);
    expect(inFlightPeak).toBeLessThan((PAUSE_RATE * pauseMs) / 1000);
    const recovered = traffic.first((a) => a.status === 200, resumedAt);
    expect(recovered).toBeDefined();

    const samples = memorySamples(app);
    const before = maxOf(samples.filter((s) => s.at >= pausedAt - 3000 && s.at < pausedAt));
    const paused = maxOf(samples.filter((s) => s.at >= pausedAt && s.at < resumedAt));
    const after = maxOf(samples.filter((s) => s.at >= resumedAt + 1000));
    expect(paused.rss - before.rss).toBeLessThan(RSS_BOUND);
    expect(paused.heapUsed - before.heapUsed).toBeLessThan(HEAP_BOUND);
    expect(after.rss - before.rss).toBeLessThan(RSS_BOUND);

    console.log(
      `[faults ${backend.name}] pause ${pauseMs} ms at ${PAUSE_RATE} req/s: ${refused.length} of ${during.length} refused (503), slowest answer ` +
        `${slowest} ms (store timeout ${backend.timeoutMs} ms); in flight: peak ${inFlightPeak}, ${inFlightAtEnd} at the end of the pause; ` +
        `time to recover ${recovered!.at - resumedAt} ms after SIGCONT; max RSS ${mb(before.rss)} before, ${mb(paused.rss)} paused, ` +
        `${mb(after.rss)} after; max heap ${mb(before.heapUsed)} before, ${mb(paused.heapUsed)} paused, ${mb(after.heapUsed)} after`,
    );
  });
});
