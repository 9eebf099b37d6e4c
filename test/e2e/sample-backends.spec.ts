/**
 * The sample app on every session backend it supports: Redis, memcached, PostgreSQL, MariaDB and SQLite, plus users and
 * sessions sharing one PostgreSQL or MariaDB database (DATABASE_URL reused by the store). The servers must be
 * running on 127.0.0.1: a missing one FAILS these tests with how to start it; they never skip.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SampleEnv } from '../../sample/src/config';
import { freePort } from '../support/private-memcached';
import { SampleHarness, startSample } from './sample-helpers';

const REDIS = 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no';
const POSTGRES = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';
const MARIADB = 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd';
const MEMCACHED = 'memcached -d -u root -l 127.0.0.1 -p 11211 (apt-get install -y memcached)';

const sqliteDir = mkdtempSync(join(tmpdir(), 'nsk-sample-backends-'));
afterAll(() => rmSync(sqliteDir, { recursive: true, force: true }));

const BACKENDS: { name: string; env: SampleEnv; start: string }[] = [
  { name: 'redis', env: { SESSION_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:6379' }, start: REDIS },
  // Sessions in memcached; API tokens in the users database (DATABASE_URL), where an eviction cannot undo a revocation.
  { name: 'memcached', env: { SESSION_STORE: 'memcached', MEMCACHED_URL: 'memcached://127.0.0.1:11211' }, start: MEMCACHED },
  { name: 'postgres', env: { SESSION_STORE: 'postgres' }, start: POSTGRES },
  { name: 'mariadb', env: { SESSION_STORE: 'mariadb' }, start: MARIADB },
  {
    name: 'sqlite',
    env: { SESSION_STORE: 'sqlite', SESSION_DATABASE_URL: `sqlite:${join(sqliteDir, 'sessions.sqlite')}` },
    start: 'nothing to start (better-sqlite3)',
  },
  {
    name: 'postgres for users and sessions',
    env: { SESSION_STORE: 'postgres', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' },
    start: POSTGRES,
  },
  {
    name: 'mariadb for users and sessions',
    env: { SESSION_STORE: 'mariadb', DATABASE_URL: 'mysql://root@127.0.0.1:3306/test' },
    start: MARIADB,
  },
];

describe.each(BACKENDS)('sample app on $name', ({ name, env, start }) => {
  let sample: SampleHarness;

  beforeAll(async () => {
    try {
      sample = await startSample(env);
    } catch (error) {
      throw new Error(
        `The sample could not start with the ${name} backend: ${error instanceof Error ? error.message : String(error)}. ` +
          `These tests need the server running on 127.0.0.1; start it with: ${start}`,
      );
    }
  });
  afterAll(() => sample?.close());

  it('answers /health', async () => {
    const res = await sample.client().get('/health');
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('records the sign-in in the audit table of DATABASE_URL (nsk_audit_event, from the library migration)', async () => {
    // Unique per run: the users-and-sessions variants share the test database, and its audit table, with other runs.
    const agent = `audit-${name}-${process.pid}-${Date.now()}`;
    await sample.client(agent).login('alice');
    const types = (await sample.auditEvents({ userAgent: agent })).map((e) => e.type);
    expect(types).toEqual(['session_created', 'authn_login_success']);
  });

  it('signs in, reads /me, adds to the cart and signs out', async () => {
    const client = sample.client(`backend-${name}`);
    const login = await client.login('alice');
    expect(login.body.user.username).toBe('alice');

    const me = await client.get('/me');
    expect(me.status).toBe(200);
    expect(me.body.user.username).toBe('alice');
    expect(me.body.session.aal).toBe(1);

    const cart = await client.post('/cart/items', { sku: 'apple', qty: 2 });
    expect(cart.status).toBe(200);
    expect(cart.body).toEqual({ items: [{ sku: 'apple', qty: 2 }], totalQuantity: 2 });
    expect((await client.get('/cart')).body.totalQuantity).toBe(2);

    const cookie = client.sessionCookie!;
    expect((await client.post('/auth/logout')).status).toBe(204);
    expect((await sample.client().get('/me', { Cookie: cookie })).status).toBe(401);
  });

  it('never loses a unit to 50 concurrent cart adds', async () => {
    const client = sample.client();
    await client.login('bob');
    const results = await Promise.all(Array.from({ length: 50 }, () => client.post('/cart/items', { sku: 'widget', qty: 1 })));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect((await client.get('/cart')).body.totalQuantity).toBe(50);
  });

  it('rotates the id and honours the grace window', async () => {
    const client = sample.client();
    await client.login('carol');
    const first = client.sessionCookie!;
    sample.clock.advance(16 * 60_000);
    expect((await client.get('/me')).status).toBe(200);
    expect(client.sessionCookie).not.toBe(first);
    expect((await sample.client().get('/me', { Cookie: first })).status).toBe(200);
    sample.clock.advance(11_000);
    expect((await sample.client().get('/me', { Cookie: first })).status).toBe(401);
    expect((await client.get('/me')).status).toBe(200);
  });
});

describe('sample app on memcached that is not there', () => {
  it('refuses to start, naming MEMCACHED_URL and host:port', async () => {
    const port = await freePort();
    await expect(startSample({ SESSION_STORE: 'memcached', MEMCACHED_URL: `memcached://127.0.0.1:${port}` })).rejects.toThrow(
      new RegExp(
        `SESSION_STORE=memcached: cannot reach memcached \\(check MEMCACHED_URL\\): .*memcached at 127\\.0\\.0\\.1:${port} did not answer`,
      ),
    );
  });
});
