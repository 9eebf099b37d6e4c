/**
 * Many instances (issue 9): two sample-app processes, A and B, behind an imaginary load balancer that sends each
 * request of one browser to either of them. They share only what a real deployment shares: one Redis (a private
 * redis-server of this suite, users in a SQLite file both open) in the first run, one PostgreSQL database in the
 * second and one MariaDB database in the third (each created for its run and dropped after it, holding users and
 * sessions), and their configured secrets.
 *
 * What one instance does, the other sees at the next request: sessions and cart writes, revocations, role changes
 * and disabled accounts, API-token revocations, one successor for parallel requests at a rotation, and the
 * brute-force and rate-limit counters.
 *
 * A missing redis-server, PostgreSQL or MariaDB FAILS this suite with how to start it; it never skips. Each test plays
 * its own client IP (X-Forwarded-For, `TRUST_PROXY=loopback`), so the per-IP budgets of one test never spend another's.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request, { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { PASSWORDS, totpCode } from './sample-helpers';
import { freePort, PrivateRedis } from '../support/private-redis';
import {
  accessTokenKeys,
  BalancedClient,
  buildSample,
  SampleInstance,
  SHARED_SECRETS,
  sessionCookieSet,
} from '../support/sample-instances';

/** Periodic rotation, short so that a test can wait for it; the grace window longer, so parallel requests fall in it. */
const ROTATION_INTERVAL_MS = 3000;
const ROTATION_GRACE_MS = 5000;
const LOCKOUT_THRESHOLD = 4;
const RATE_LIMIT = 8;

const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
const START_POSTGRES = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';
const MARIADB_ADMIN_URL = 'mysql://root@127.0.0.1:3306/test';
const START_MARIADB = 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd';

/** A backend both instances share: the environment that selects it, and how to remove it afterwards. */
interface SharedBackend {
  env: Record<string, string>;
  dispose(): Promise<void>;
}

const RUNS: { name: string; open(dir: string): Promise<SharedBackend> }[] = [
  {
    name: 'one Redis',
    open: async (dir) => {
      const redis = new PrivateRedis(await freePort());
      try {
        await redis.start();
      } catch (error) {
        await redis.dispose();
        throw new Error(`The shared Redis did not start (apt-get install -y redis-server): ${(error as Error).message}`);
      }
      return {
        env: { SESSION_STORE: 'redis', REDIS_URL: redis.url, DATABASE_URL: `sqlite:${join(dir, 'users.sqlite')}` },
        dispose: () => redis.dispose(),
      };
    },
  },
  {
    name: 'one PostgreSQL',
    open: privateDatabase('postgres', POSTGRES_ADMIN_URL, START_POSTGRES, (db) => `postgres://postgres@127.0.0.1:5432/${db}`),
  },
  {
    name: 'one MariaDB',
    open: privateDatabase('mysql', MARIADB_ADMIN_URL, START_MARIADB, (db) => `mysql://root@127.0.0.1:3306/${db}`),
  },
];

/** A private database on a shared server: created before the run, dropped after it (with its connections). */
function privateDatabase(
  kind: 'postgres' | 'mysql',
  adminUrl: string,
  start: string,
  urlOf: (database: string) => string,
): (dir: string) => Promise<SharedBackend> {
  const admin = async (statement: string): Promise<void> => {
    const db = new DataSource({ type: kind, url: adminUrl });
    try {
      await db.initialize();
    } catch (error) {
      throw new Error(`${kind} is not reachable at ${new URL(adminUrl).host} (${(error as Error).message}); start it with: ${start}`);
    }
    try {
      await db.query(statement);
    } finally {
      await db.destroy();
    }
  };
  return async () => {
    // Of this run only: its sessions, users and counters meet no other suite's, and go with it.
    const database = `nsk_multi_${randomBytes(6).toString('hex')}`;
    await admin(`CREATE DATABASE ${database}`);
    return {
      env: { SESSION_STORE: kind === 'postgres' ? 'postgres' : 'mariadb', DATABASE_URL: urlOf(database) },
      dispose: () =>
        admin(kind === 'postgres' ? `DROP DATABASE IF EXISTS ${database} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${database}`),
    };
  };
}

beforeAll(() => buildSample(), 120_000);

describe.each(RUNS)('two sample instances sharing $name', ({ name, open }) => {
  let dir: string;
  let backend: SharedBackend | undefined;
  let a: SampleInstance;
  let b: SampleInstance;
  let aliceId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nsk-multi-'));
    backend = await open(dir);
    const env = {
      ...backend.env,
      ...SHARED_SECRETS,
      ACCESS_TOKEN_KEYS: accessTokenKeys(),
      SESSION_ROTATION_INTERVAL: String(ROTATION_INTERVAL_MS),
      SESSION_ROTATION_GRACE: String(ROTATION_GRACE_MS),
      TRUST_PROXY: 'loopback',
      LOCKOUT_THRESHOLD: String(LOCKOUT_THRESHOLD),
      CAPTCHA_AFTER_FAILURES: '0',
      LOGIN_DELAY: '0',
      RATE_LIMIT_SENSITIVE: `${RATE_LIMIT}/1h`,
    };
    // One after the other: the first creates the tables and seeds the users, the second finds them.
    a = await SampleInstance.start('A', { ...env, SECURITY_LOG: join(dir, 'a.log') });
    b = await SampleInstance.start('B', { ...env, SECURITY_LOG: join(dir, 'b.log') });
    const bob = client();
    await bob.login(b, 'bob');
    const users = await bob.get(b, '/admin/users');
    expect(users.status).toBe(200);
    aliceId = (users.body as { id: string; username: string }[]).find((u) => u.username === 'alice')!.id;
  }, 180_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await backend?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('serves a session signed in on A from B, with cart writes visible both ways and no concurrent add lost', async () => {
    const alice = client();
    await alice.login(a, 'alice');
    const onA = await alice.get(a, '/me');
    const onB = await alice.get(b, '/me');
    expect([onA.status, onB.status]).toEqual([200, 200]);
    expect(onB.body.user.username).toBe('alice');
    expect(onB.body.session.handle).toBe(onA.body.session.handle);

    expect((await alice.post(a, '/cart/items', { sku: 'apple', qty: 2 })).status).toBe(200);
    expect((await alice.get(b, '/cart')).body).toEqual({ items: [{ sku: 'apple', qty: 2 }], totalQuantity: 2 });
    expect((await alice.post(b, '/cart/items', { sku: 'pear', qty: 1 })).status).toBe(200);
    expect((await alice.get(a, '/cart')).body.totalQuantity).toBe(3);

    const adds = await Promise.all(Array.from({ length: 20 }, (_, i) => alice.post(i % 2 ? a : b, '/cart/items', { sku: 'plum', qty: 1 })));
    expect(adds.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect((await alice.get(b, '/cart')).body.totalQuantity).toBe(23);
    expect((await alice.get(a, '/cart')).body.totalQuantity).toBe(23);
  });

  it('accepts on B the CSRF tokens A issued, before and after sign-in (one CSRF_SECRET), and still refuses a wrong one', async () => {
    const alice = client();
    const preLogin = await alice.get(a, '/auth/csrf');
    const login = await alice.post(
      b,
      '/auth/login',
      { username: 'alice', password: PASSWORDS.alice },
      { 'x-csrf-token': preLogin.body.token },
    );
    expect(login.status).toBe(200);
    const token = (await alice.get(a, '/auth/csrf')).body.token as string;
    expect((await alice.post(b, '/cart/items', { sku: 'fig', qty: 1 }, { 'x-csrf-token': token })).status).toBe(200);
    const forged = await alice.post(
      b,
      '/cart/items',
      { sku: 'fig', qty: 1 },
      { 'x-csrf-token': `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` },
    );
    expect(forged.status).toBe(403);
    expect(forged.body.code).toBe('CSRF_REJECTED');
  });

  it('accepts a TOTP code once across A and B: the same code sent to both at once completes one sign-in', async () => {
    const [first, second] = [client(), client()];
    for (const [browser, instance] of [
      [first, a],
      [second, b],
    ] as const) {
      const res = await browser.post(instance, '/auth/login', { username: 'carol', password: PASSWORDS.carol });
      expect(res.body.mfaRequired).toBe(true);
    }
    const code = totpCode(Date.now());
    const answers = await Promise.all([first.post(a, '/auth/mfa', { code }), second.post(b, '/auth/mfa', { code })]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it('ends on A, at its next request, a session revoked on B', async () => {
    const laptop = client();
    const phone = client();
    await laptop.login(a, 'alice');
    await phone.login(b, 'alice');
    const handle = (await laptop.get(a, '/me')).body.session.handle as string;
    const listed = await phone.get(b, '/sessions');
    expect(listed.body.find((s: { handle: string }) => s.handle === handle)).toMatchObject({ current: false });

    expect((await phone.delete(b, `/sessions/${encodeURIComponent(handle)}`)).status).toBe(204);
    expect((await laptop.get(a, '/me')).status).toBe(401);
    expect((await laptop.get(b, '/me')).status).toBe(401);
    expect((await phone.get(a, '/me')).status).toBe(200);
  });

  it('ends on A every session and API token of a user who signed out everywhere on B', async () => {
    const laptop = client();
    const phone = client();
    await laptop.login(a, 'alice');
    await phone.login(b, 'alice');
    const pair = await apiToken(a, 'alice');
    // One set of signing keys (ACCESS_TOKEN_KEYS): a token A issued passes on B.
    expect((await bearer(b, pair.access_token)).status).toBe(200);

    expect((await phone.post(b, '/auth/logout-all')).status).toBe(204);
    expect((await laptop.get(a, '/me')).status).toBe(401);
    expect((await bearer(a, pair.access_token)).status).toBe(401);
    expect((await refresh(a, pair.refresh_token)).status).toBe(401);
  });

  it('refuses on A a refresh-token family revoked on B, and an access token revoked on B', async () => {
    const first = await apiToken(a, 'alice');
    // Refreshed on B: the family lives in the shared store, not in the instance that issued it.
    const refreshed = await refresh(b, first.refresh_token);
    expect(refreshed.status).toBe(200);
    const second = refreshed.body as TokenPair;
    expect((await bearer(a, second.access_token)).status).toBe(200);

    expect((await revoke(b, second.refresh_token)).status).toBe(200);
    expect((await refresh(a, second.refresh_token)).status).toBe(401);

    const other = await apiToken(b, 'alice');
    expect((await bearer(a, other.access_token)).status).toBe(200);
    expect((await revoke(b, other.access_token)).status).toBe(200);
    expect((await bearer(a, other.access_token)).status).toBe(401);
  });

  it('applies on A, at the next request, a role change made on B (an elevation with a new session id)', async () => {
    const bob = client();
    await bob.login(b, 'bob');
    const alice = client();
    await alice.login(a, 'alice');
    expect((await alice.get(a, '/admin/users')).body.code).toBe('INSUFFICIENT_ROLE');

    const before = alice.sessionCookie;
    try {
      expect((await bob.put(b, `/admin/users/${aliceId}/roles`, { roles: ['admin'] })).status).toBe(200);
      const elevated = await alice.get(a, '/admin/users');
      expect(elevated.status).toBe(200);
      expect(sessionCookieSet(elevated)).toBeDefined();
      expect(alice.sessionCookie).not.toBe(before);
      // A privilege change leaves no grace: the old id is dead on both instances.
      expect((await request(b.url).get('/me').set('Cookie', before!)).status).toBe(401);
    } finally {
      expect((await bob.put(b, `/admin/users/${aliceId}/roles`, { roles: ['user'] })).status).toBe(200);
    }
    const demoted = await alice.get(a, '/admin/users');
    expect(demoted.status).toBe(403);
    expect(demoted.body.code).toBe('INSUFFICIENT_ROLE');
  });

  it('ends on A the sessions of a user an admin revoked or disabled on B, and refuses a disabled account its sign-in on A', async () => {
    const bob = client();
    await bob.login(b, 'bob');
    const alice = client();
    await alice.login(a, 'alice');
    expect((await bob.post(b, `/admin/users/${aliceId}/sessions/revoke`)).status).toBe(200);
    expect((await alice.get(a, '/me')).status).toBe(401);

    await alice.login(a, 'alice');
    const pair = await apiToken(a, 'alice');
    try {
      expect((await bob.post(b, `/admin/users/${aliceId}/disable`)).status).toBe(200);
      expect((await alice.get(a, '/me')).status).toBe(401);
      expect((await bearer(a, pair.access_token)).status).toBe(401);
      const refused = await alice.post(a, '/auth/login', { username: 'alice', password: PASSWORDS.alice });
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe('INVALID_CREDENTIALS');
    } finally {
      expect((await bob.post(b, `/admin/users/${aliceId}/enable`)).status).toBe(200);
    }
    await alice.login(a, 'alice');
  });

  it('gives parallel requests split across A and B at a periodic rotation one successor; the old id lives only for the grace window', async () => {
    const alice = client();
    await alice.login(a, 'alice');
    const old = alice.sessionCookie!;
    await sleep(ROTATION_INTERVAL_MS + 500);

    // Ten tabs of one browser, all still holding the old cookie, half on each instance.
    const tabs = Array.from({ length: 10 }, () => alice.fork());
    const answers = await Promise.all(tabs.map((tab, i) => tab.get(i % 2 ? a : b, '/me')));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    // Exactly one of them rotated (the store's rotation is atomic across instances): its response names the
    // successor; the others went through the grace pointer to that same successor and set no cookie (the store keeps
    // only the successor's hash, so they cannot name it; the browser already has it from the rotating response).
    const named = answers.map((r) => sessionCookieSet(r)).filter((t) => t !== undefined);
    expect(named).toHaveLength(1);
    const [successor] = named;
    expect(`__Host-sid=${successor}`).not.toBe(old);
    expect(new Set(answers.map((r) => r.body.session.handle)).size).toBe(1);
    expect((await request(a.url).get('/me').set('Cookie', `__Host-sid=${successor}`)).body.session.handle).toBe(
      answers[0].body.session.handle,
    );

    // Within the grace window the old id still resolves (to the same successor), on either instance.
    const late = await request(a.url).get('/me').set('Cookie', old);
    expect(late.status).toBe(200);
    expect(late.body.session.handle).toBe(answers[0].body.session.handle);
    await sleep(ROTATION_GRACE_MS + 500);
    expect((await request(a.url).get('/me').set('Cookie', old)).status).toBe(401);
    expect((await request(b.url).get('/me').set('Cookie', old)).status).toBe(401);
    expect((await request(b.url).get('/me').set('Cookie', `__Host-sid=${successor}`)).status).toBe(200);
  });

  it(`locks an account after ${LOCKOUT_THRESHOLD} failed sign-ins split across A and B`, async () => {
    const attacker = client();
    for (let i = 0; i < LOCKOUT_THRESHOLD; i++) {
      const res = await attacker.post(i % 2 ? a : b, '/auth/login', { username: 'carol', password: `wrong-${i}` });
      expect(res.status).toBe(401);
    }
    // Each instance saw half the failures: only a shared counter locks.
    for (const instance of [a, b]) {
      const res = await attacker.post(instance, '/auth/login', { username: 'carol', password: PASSWORDS.carol });
      expect(res.status).toBe(429);
      expect(res.body.code).toBe('TOO_MANY_ATTEMPTS');
    }
  });

  it(`spends one rate-limit budget (${RATE_LIMIT} an hour per client and route) across A and B`, async () => {
    const ip = randomIp();
    const answers: number[] = [];
    for (let i = 0; i < RATE_LIMIT + 2; i++) answers.push((await revoke(i % 2 ? a : b, 'nsk_rt_not-a-token', ip)).status);
    expect(answers).toEqual([...Array(RATE_LIMIT).fill(200), 429, 429]);
  });

  it('stops both instances cleanly, neither having written a warning or an error', async () => {
    expect(await Promise.all([a.stop(), b.stop()])).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    expect({ A: a.errors(), B: b.errors() }).toEqual({ A: '', B: '' });
  });

  /** A browser with an IP of its own (see the file comment). */
  function client(): BalancedClient {
    return new BalancedClient('__Host-sid', { 'User-Agent': `multi-instance-e2e/${name}`, 'X-Forwarded-For': randomIp() });
  }
});

interface TokenPair {
  access_token: string;
  refresh_token: string;
}

async function apiToken(on: SampleInstance, username: keyof typeof PASSWORDS): Promise<TokenPair> {
  const res = await request(on.url)
    .post('/api/auth/token')
    .set('X-Forwarded-For', randomIp())
    .send({ username, password: PASSWORDS[username] });
  if (res.status !== 200) throw new Error(`POST /api/auth/token on ${on.name}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as TokenPair;
}

function bearer(on: SampleInstance, accessToken: string): Promise<Response> {
  return request(on.url)
    .get('/api/me')
    .set('Authorization', `Bearer ${accessToken}`)
    .set('X-Forwarded-For', randomIp())
    .then((r) => r);
}

function refresh(on: SampleInstance, refreshToken: string): Promise<Response> {
  return request(on.url)
    .post('/api/auth/refresh')
    .set('X-Forwarded-For', randomIp())
    .send({ refresh_token: refreshToken })
    .then((r) => r);
}

function revoke(on: SampleInstance, token: string, ip = randomIp()): Promise<Response> {
  return request(on.url)
    .post('/api/auth/revoke')
    .set('X-Forwarded-For', ip)
    .send({ token })
    .then((r) => r);
}

/** An address of the benchmarking range 198.18.0.0/15 (RFC 2544), random per call. */
function randomIp(): string {
  const [x, y, z] = randomBytes(3);
  return `198.${18 + (x & 1)}.${y}.${z}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
