/**
 * Passkeys as the sample's second factor over HTTP, with real signed WebAuthn answers from a software
 * authenticator (no browser): enrolment behind re-authentication, the list without key material, sign-in from a
 * pending session to `aal: 2`, forged signatures, counter regressions, single-use challenges, the same attempt
 * limits as TOTP codes, removal, and no access to another account's passkeys.
 *
 * The `sample_passkeys` table lives in the users database (DATABASE_URL), so the suite runs on each SQL database the
 * sample supports: SQLite (with the memory and the Redis session store), and PostgreSQL and MariaDB, each holding the
 * users and the sessions as `sample-backends.spec.ts` runs them. Those two get a database of their own, created for
 * this run and dropped after it: the suite empties the passkeys table and resets the users' second-factor counters
 * between tests, which must not reach another file using the shared `test` database at the same time. A missing
 * server FAILS these tests with how to start it; they never skip.
 */
import type { SecurityEventType } from '../../lib';
import type { StoredSecurityEvent } from '../../lib/events/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { PasskeyCredential } from '../../sample/src/passkeys/passkey.entity';
import { User } from '../../sample/src/users/user.entity';
import { SoftwareAuthenticator } from '../unit/mfa/software-authenticator';
import { parseConfig, SampleEnv } from '../../sample/src/config';
import { PASSWORDS, SampleClient, SampleHarness, settle, startSample } from './sample-helpers';

const ORIGIN = 'http://localhost:3000';
const RP_ID = 'localhost';
const REAUTH_MAX_AGE_MS = 5 * 60_000;
/** A database of this run's own on a shared server (see the file comment). */
const DATABASE = `nsk_sample_passkeys_${process.pid}`;

/** A SQL server on 127.0.0.1 that gets {@link DATABASE} for the run. */
interface SqlServer {
  /** Where to connect to create and drop the database. */
  admin: DataSourceOptions;
  /** The run's database, as the sample's DATABASE_URL. */
  url: string;
  create: string;
  drop: string;
  /** How to start the server, for the failure message. */
  start: string;
}

const POSTGRES: SqlServer = {
  admin: { type: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test' },
  url: `postgres://postgres@127.0.0.1:5432/${DATABASE}`,
  create: `CREATE DATABASE ${DATABASE}`,
  drop: `DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`,
  start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
};
const MARIADB: SqlServer = {
  admin: { type: 'mysql', url: 'mysql://root@127.0.0.1:3306/test' },
  url: `mysql://root@127.0.0.1:3306/${DATABASE}`,
  create: `CREATE DATABASE ${DATABASE} CHARACTER SET utf8mb4`,
  drop: `DROP DATABASE IF EXISTS ${DATABASE}`,
  start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd',
};

/** Runs `sql` on the server, or fails saying which server is missing and how to start it. */
async function onServer(server: SqlServer, sql: string): Promise<void> {
  const admin = new DataSource(server.admin);
  await admin.initialize().catch((error: Error) => {
    throw new Error(`${server.admin.type} on 127.0.0.1 is needed for these tests (${error.message}); start it with: ${server.start}`);
  });
  try {
    await admin.query(sql);
  } finally {
    await admin.destroy();
  }
}

const BACKENDS: { name: string; env: SampleEnv; server?: SqlServer }[] = [
  { name: 'memory (users in SQLite)', env: { PUBLIC_ORIGIN: ORIGIN } },
  { name: 'redis (users in SQLite)', env: { PUBLIC_ORIGIN: ORIGIN, SESSION_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:6379' } },
  {
    name: 'postgres for users and sessions',
    env: { PUBLIC_ORIGIN: ORIGIN, SESSION_STORE: 'postgres', DATABASE_URL: POSTGRES.url },
    server: POSTGRES,
  },
  {
    name: 'mariadb for users and sessions',
    env: { PUBLIC_ORIGIN: ORIGIN, SESSION_STORE: 'mariadb', DATABASE_URL: MARIADB.url },
    server: MARIADB,
  },
];

type Username = keyof typeof PASSWORDS;
type AssertionInput = Parameters<SoftwareAuthenticator['authenticate']>[0];

describe.each(BACKENDS)('sample app passkeys on $name', ({ env, server }) => {
  let sample: SampleHarness;

  beforeAll(async () => {
    if (server) {
      await onServer(server, server.drop);
      await onServer(server, server.create);
    }
    sample = await startSample(env);
  });
  afterAll(async () => {
    await sample?.close();
    if (server) await onServer(server, server.drop);
  });

  async function events(type: SecurityEventType, reason?: string): Promise<StoredSecurityEvent[]> {
    await settle();
    return sample.auditEvents({ type, reason });
  }

  function passkeyRows(): Promise<PasskeyCredential[]> {
    return sample.app.get(DataSource).getRepository(PasskeyCredential).find();
  }

  /** Password only: a complete session for an account without a second factor, a pending one otherwise. */
  async function passwordLogin(
    username: Username,
    client = sample.client(),
  ): Promise<{ client: SampleClient; body: Record<string, unknown> }> {
    const res = await client.post('/auth/login', { username, password: PASSWORDS[username] });
    expect(res.status).toBe(200);
    return { client, body: res.body };
  }

  /** Enrols `authenticator` for the signed-in client (the session must be freshly authenticated). */
  async function enrol(client: SampleClient, authenticator: SoftwareAuthenticator, name?: string) {
    const options = await client.post('/account/mfa/passkeys/options');
    expect(options.status).toBe(200);
    const response = authenticator.register({ challenge: options.body.challenge, origin: ORIGIN, rpId: RP_ID });
    return client.post('/account/mfa/passkeys', name === undefined ? { response } : { response, name });
  }

  /** Sends the passkey answer for a pending session (after asking for options). */
  async function answer(client: SampleClient, authenticator: SoftwareAuthenticator, tweak: Partial<AssertionInput> = {}) {
    const options = await client.post('/auth/mfa/passkey/options');
    expect(options.status).toBe(200);
    const response = authenticator.authenticate({ challenge: options.body.challenge, origin: ORIGIN, rpId: RP_ID, ...tweak });
    return { options, response, res: await client.post('/auth/mfa/passkey', { response }) };
  }

  /** A user with one enrolled passkey, signed out. */
  async function userWithPasskey(username: Username): Promise<SoftwareAuthenticator> {
    const { client } = await passwordLogin(username);
    const authenticator = new SoftwareAuthenticator();
    expect((await enrol(client, authenticator)).status).toBe(201);
    await client.post('/auth/logout');
    return authenticator;
  }

  /** Each test starts with no passkeys and no second-factor attempts counted against any account. */
  afterEach(async () => {
    const data = sample.app.get(DataSource);
    await data.getRepository(PasskeyCredential).clear();
    await data.getRepository(User).createQueryBuilder().update(User).set({ mfaFailures: 0, mfaLockedUntil: null }).execute();
  });

  describe('enrolment (POST /account/mfa/passkeys/options, POST /account/mfa/passkeys)', () => {
    it('registers a passkey, lists it without key material, and re-authenticates the session at aal 2', async () => {
      const { client, body } = await passwordLogin('alice');
      expect(body).toMatchObject({ mfaRequired: false });
      const before = client.sessionCookie;

      const options = await client.post('/account/mfa/passkeys/options');
      expect(options.status).toBe(200);
      expect(options.body).toMatchObject({ rp: { id: RP_ID }, user: { name: 'alice' }, attestation: 'none', excludeCredentials: [] });
      expect(Buffer.from(options.body.challenge, 'base64url')).toHaveLength(32);
      const authenticator = new SoftwareAuthenticator();
      const response = authenticator.register({ challenge: options.body.challenge, origin: ORIGIN, rpId: RP_ID });
      const created = await client.post('/account/mfa/passkeys', { response, name: 'Laptop <b>' });

      expect(created.status).toBe(201);
      expect(Object.keys(created.body.passkey).sort()).toEqual(['createdAt', 'id', 'name']);
      expect(created.body.passkey).toMatchObject({ name: 'Laptop <b>', createdAt: sample.clock.now() });
      expect(created.body.session).toMatchObject({ aal: 2 });
      expect(client.sessionCookie).not.toBe(before);
      expect((await client.get('/me')).body.session).toMatchObject({ aal: 2 });

      const list = await client.get('/account/mfa/passkeys');
      expect(list.status).toBe(200);
      expect(list.body).toEqual([created.body.passkey]);
      expect(JSON.stringify(list.body)).not.toContain(authenticator.id);
      const [row] = await passkeyRows();
      expect(row).toMatchObject({ credentialId: authenticator.id, counter: 0, transports: ['usb', 'nfc'] });

      const again = await client.post('/account/mfa/passkeys/options');
      expect(again.body.excludeCredentials).toEqual([expect.objectContaining({ id: authenticator.id })]);
      const started = await events('mfa_enrollment_started');
      expect(started.at(-1)).toMatchObject({ level: 'INFO', outcome: 'success', userId: row.userId, detail: { method: 'passkey' } });
      const enrolled = await events('mfa_enrolled');
      expect(enrolled.at(-1)).toMatchObject({
        level: 'INFO',
        outcome: 'success',
        userId: row.userId,
        sessionHandle: (await client.get('/me')).body.session.handle,
        detail: { method: 'passkey', passkeyId: row.id },
      });
    });

    it('counts as an enrolled second factor in /account/security and in the admin users list (JSON and page)', async () => {
      const { client } = await passwordLogin('alice');
      expect((await enrol(client, new SoftwareAuthenticator())).status).toBe(201);
      const security = await client.get('/account/security');
      expect(security.status).toBe(200);
      expect(security.body).toEqual({ totpEnabled: false, recoveryCodesLeft: 0, mfaEnabled: true, mfaMethods: ['passkey'] });

      const bob = sample.client();
      await bob.login('bob');
      const users = (await bob.get('/admin/users')).body as { username: string; mfaEnabled: boolean; mfaMethods: string[] }[];
      const byName = Object.fromEntries(users.map((u) => [u.username, u]));
      expect(byName.alice).toMatchObject({ mfaEnabled: true, mfaMethods: ['passkey'] });
      expect(byName.carol).toMatchObject({ mfaEnabled: true, mfaMethods: ['totp'] });
      expect(byName.bob).toMatchObject({ mfaEnabled: false, mfaMethods: [] });
      const page = (await bob.get('/admin', { Accept: 'text/html' })).text;
      const rows = page.split('<tr data-testid="admin-user-row">').slice(1);
      const shown = Object.fromEntries(
        rows.map((row) => [/<td>(\w+)/.exec(row)![1], /data-testid="admin-user-mfa">([^<]*)</.exec(row)![1]]),
      );
      expect(shown).toEqual({
        alice: 'passkey',
        bob: 'none',
        carol: 'authenticator app',
      });
    });

    it('needs a recent authentication, and a session at all', async () => {
      const { client } = await passwordLogin('alice');
      sample.clock.advance(REAUTH_MAX_AGE_MS + 1000);
      const stale = await client.post('/account/mfa/passkeys/options');
      expect(stale.status).toBe(401);
      expect(stale.body.code).toBe('REAUTH_REQUIRED');
      expect((await client.post('/account/mfa/passkeys', { response: {} })).body.code).toBe('REAUTH_REQUIRED');
      expect((await sample.client().get('/account/mfa/passkeys')).status).toBe(401);
      expect((await sample.client().post('/account/mfa/passkeys/options')).status).toBe(401);
    });

    it('uses a registration challenge once: the same answer again is refused', async () => {
      const { client } = await passwordLogin('alice');
      const authenticator = new SoftwareAuthenticator();
      const options = await client.post('/account/mfa/passkeys/options');
      const response = authenticator.register({ challenge: options.body.challenge, origin: ORIGIN, rpId: RP_ID });
      expect((await client.post('/account/mfa/passkeys', { response })).status).toBe(201);
      const replay = await client.post('/account/mfa/passkeys', { response });
      expect(replay.status).toBe(409);
      expect(replay.body.code).toBe('NO_PASSKEY_CEREMONY');
      expect(await passkeyRows()).toHaveLength(1);
    });

    it('refuses an answer for another origin or challenge, and then needs a new ceremony', async () => {
      const { client } = await passwordLogin('alice');
      const authenticator = new SoftwareAuthenticator();
      const options = await client.post('/account/mfa/passkeys/options');
      const phished = authenticator.register({ challenge: options.body.challenge, origin: 'https://evil.example', rpId: RP_ID });
      const res = await client.post('/account/mfa/passkeys', { response: phished });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('PASSKEY_NOT_VERIFIED');
      const good = authenticator.register({ challenge: options.body.challenge, origin: ORIGIN, rpId: RP_ID });
      expect((await client.post('/account/mfa/passkeys', { response: good })).status).toBe(409);
      expect(await passkeyRows()).toHaveLength(0);
      expect((await events('mfa_enrollment_fail', 'unverified')).at(-1)).toMatchObject({ level: 'WARN', detail: { method: 'passkey' } });
      expect((await events('mfa_enrollment_fail', 'no_challenge')).length).toBeGreaterThan(0);
    });

    it('validates the body', async () => {
      const { client } = await passwordLogin('alice');
      const res = await client.post('/account/mfa/passkeys', { response: 'nope', extra: 1 });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('sign-in with a passkey (POST /auth/mfa/passkey/options, POST /auth/mfa/passkey)', () => {
    it('answers mfaRequired with the methods, gives a pending session, and completes it at aal 2', async () => {
      const authenticator = await userWithPasskey('alice');
      const { client, body } = await passwordLogin('alice');
      expect(body).toMatchObject({ mfaRequired: true, mfaMethods: ['passkey'] });
      expect((await client.get('/me')).status).toBe(401);
      const pendingCookie = client.sessionCookie;

      authenticator.counter = 1;
      const { options, res } = await answer(client, authenticator);
      expect(options.body.allowCredentials).toEqual([expect.objectContaining({ id: authenticator.id })]);
      expect(options.body.rpId).toBe(RP_ID);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ user: { username: 'alice' }, session: { aal: 2 } });
      expect(client.sessionCookie).not.toBe(pendingCookie);
      expect((await client.get('/me')).body.session).toMatchObject({ aal: 2 });
      expect((await passkeyRows())[0].counter).toBe(1);
      const success = await events('authn_login_success', 'mfa_passkey');
      expect(JSON.parse(JSON.stringify(success.at(-1)))).toMatchObject({ detail: expect.objectContaining({ aal: 2, method: 'passkey' }) });
    });

    it('offers both methods to an account with TOTP and a passkey', async () => {
      const client = sample.client();
      await client.login('carol');
      const authenticator = new SoftwareAuthenticator();
      expect((await enrol(client, authenticator)).status).toBe(201);
      await client.post('/auth/logout');
      const { body, client: pending } = await passwordLogin('carol');
      expect(body).toMatchObject({ mfaRequired: true, mfaMethods: ['totp', 'passkey'] });
      authenticator.counter = 1;
      expect((await answer(pending, authenticator)).res.status).toBe(200);
    });

    it('refuses a forged signature, logs it, and keeps the counter', async () => {
      const authenticator = await userWithPasskey('alice');
      const { client } = await passwordLogin('alice');
      authenticator.counter = 7;
      const forger = new SoftwareAuthenticator();
      const { res } = await answer(client, authenticator, { signWith: forger.privateKey });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('INVALID_PASSKEY');
      expect((await client.get('/me')).status).toBe(401);
      expect((await passkeyRows())[0].counter).toBe(0);
      const refused = await events('mfa_challenge_fail', 'unverified');
      expect(JSON.parse(JSON.stringify(refused.at(-1)))).toMatchObject({
        level: 'WARN',
        outcome: 'failure',
        detail: { action: 'login', method: 'passkey', passkeyId: (await passkeyRows())[0].id },
      });
      // Not a password failure: those stay authn_login_fail.
      expect((await events('authn_login_fail')).filter((e) => e.reason?.startsWith('mfa'))).toEqual([]);

      const tampered = await answer(client, authenticator, {
        tamper: (data) => Buffer.concat([data.subarray(0, 33), Buffer.from([0, 0, 0, 99])]),
      });
      expect(tampered.res.status).toBe(401);
    });

    it('refuses a counter that does not go up (a cloned authenticator) and logs it as critical', async () => {
      const authenticator = await userWithPasskey('alice');
      const first = await passwordLogin('alice');
      authenticator.counter = 5;
      expect((await answer(first.client, authenticator)).res.status).toBe(200);

      const second = await passwordLogin('alice');
      authenticator.counter = 5;
      const same = await answer(second.client, authenticator);
      expect(same.res.status).toBe(401);
      authenticator.counter = 3;
      const lower = await answer(second.client, authenticator);
      expect(lower.res.status).toBe(401);
      expect((await passkeyRows())[0].counter).toBe(5);
      const logged = await events('mfa_reuse', 'counter_regression');
      expect(logged.length).toBeGreaterThanOrEqual(2);
      expect(JSON.parse(JSON.stringify(logged.at(-1)))).toMatchObject({
        level: 'CRITICAL',
        detail: { action: 'login', method: 'passkey' },
      });
    });

    it('uses a sign-in challenge once: a replayed answer is refused, in the same or a new pending session', async () => {
      const authenticator = await userWithPasskey('alice');
      const { client } = await passwordLogin('alice');
      authenticator.counter = 1;
      const first = await answer(client, authenticator);
      expect(first.res.status).toBe(200);

      // The same signed answer, in a new pending session that never asked for options.
      const thief = await passwordLogin('alice');
      const replay = await thief.client.post('/auth/mfa/passkey', { response: first.response });
      expect(replay.status).toBe(401);
      expect(replay.body.code).toBe('INVALID_PASSKEY');
      // And after options for another challenge: the old answer's challenge does not match.
      await thief.client.post('/auth/mfa/passkey/options');
      expect((await thief.client.post('/auth/mfa/passkey', { response: first.response })).status).toBe(401);
      expect((await events('mfa_challenge_fail', 'no_challenge')).length).toBeGreaterThan(0);

      // In one pending session: a wrong answer uses the challenge up; the right answer for it then fails.
      const third = await passwordLogin('alice');
      const options = await third.client.post('/auth/mfa/passkey/options');
      authenticator.counter = 2;
      const good = authenticator.authenticate({ challenge: options.body.challenge, origin: ORIGIN, rpId: RP_ID });
      const bad = authenticator.authenticate({ challenge: options.body.challenge, origin: 'https://evil.example', rpId: RP_ID });
      expect((await third.client.post('/auth/mfa/passkey', { response: bad })).status).toBe(401);
      expect((await third.client.post('/auth/mfa/passkey', { response: good })).status).toBe(401);
      expect((await third.client.get('/me')).status).toBe(401);
    });

    it('refuses a passkey of another account', async () => {
      const bobs = await userWithPasskey('bob');
      await userWithPasskey('alice');
      const { client } = await passwordLogin('alice');
      bobs.counter = 1;
      const { res } = await answer(client, bobs);
      expect(res.status).toBe(401);
      expect((await events('mfa_challenge_fail', 'unknown_credential')).length).toBeGreaterThan(0);
    });

    it('counts wrong answers like wrong codes: the fifth ends the pending session', async () => {
      const authenticator = await userWithPasskey('alice');
      const { client } = await passwordLogin('alice');
      const forger = new SoftwareAuthenticator();
      for (let i = 1; i <= 4; i++) {
        const { res } = await answer(client, authenticator, { signWith: forger.privateKey });
        expect(res.body.code).toBe('INVALID_PASSKEY');
      }
      const fifth = await answer(client, authenticator, { signWith: forger.privateKey });
      expect(fifth.res.status).toBe(401);
      expect(fifth.res.body.code).toBe('MFA_ATTEMPTS_EXCEEDED');
      expect((await client.post('/auth/mfa/passkey/options')).status).toBe(401);
      // A right answer afterwards restarts the account's count.
      const again = await passwordLogin('alice');
      authenticator.counter = 1;
      expect((await answer(again.client, authenticator)).res.status).toBe(200);
    });

    it('counts wrong answers against the account too: the tenth in a row pauses second factors (429)', async () => {
      const authenticator = await userWithPasskey('alice');
      const forger = new SoftwareAuthenticator();
      const codes: string[] = [];
      for (let i = 0; i < 10; i++) {
        const { client } = await passwordLogin('alice');
        codes.push((await answer(client, authenticator, { signWith: forger.privateKey })).res.body.code);
      }
      expect(codes.slice(0, 9)).toEqual(Array(9).fill('INVALID_PASSKEY'));
      expect(codes[9]).toBe('TOO_MANY_ATTEMPTS');
      const { client } = await passwordLogin('alice');
      const locked = await client.post('/auth/mfa/passkey/options');
      expect(locked.status).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      const lockout = (await events('mfa_lockout')).at(-1);
      expect(JSON.parse(JSON.stringify(lockout))).toMatchObject({
        level: 'CRITICAL',
        outcome: 'failure',
        detail: { action: 'login', method: 'passkey', retryAfterMs: 15 * 60_000 },
      });
      // The tenth answer was checked and wrong: logged as such, and as the start of the pause.
      expect((await events('mfa_challenge_fail', 'unverified')).at(-1)?.sessionHandle).toBe(lockout?.sessionHandle);
    });

    it('is only for pending sessions, and only for accounts with a passkey', async () => {
      const { client } = await passwordLogin('alice');
      const complete = await client.post('/auth/mfa/passkey/options');
      expect(complete.status).toBe(409);
      expect(complete.body.code).toBe('MFA_NOT_PENDING');
      expect((await sample.client().post('/auth/mfa/passkey/options')).status).toBe(401);
      const carol = await passwordLogin('carol');
      const none = await carol.client.post('/auth/mfa/passkey/options');
      expect(none.status).toBe(409);
      expect(none.body.code).toBe('MFA_NOT_ENROLLED');
    });
  });

  describe('re-authentication with the password and a passkey (POST /auth/reauth/passkey/options, POST /auth/reauth/passkey)', () => {
    async function reauthAnswer(
      client: SampleClient,
      authenticator: SoftwareAuthenticator,
      password: string,
      tweak: Partial<AssertionInput> = {},
    ) {
      const options = await client.post('/auth/reauth/passkey/options');
      expect(options.status).toBe(200);
      const response = authenticator.authenticate({ challenge: options.body.challenge, origin: ORIGIN, rpId: RP_ID, ...tweak });
      return client.post('/auth/reauth/passkey', { password, response });
    }

    it('re-authenticates fully at aal 2 under a new id, and refuses a wrong password or a forged answer', async () => {
      const authenticator = await userWithPasskey('alice');
      const { client } = await passwordLogin('alice');
      authenticator.counter = 1;
      expect((await answer(client, authenticator)).res.status).toBe(200);
      sample.clock.advance(REAUTH_MAX_AGE_MS + 1000);
      expect((await client.post('/account/mfa/passkeys/options')).body.code).toBe('REAUTH_REQUIRED');

      authenticator.counter = 2;
      const wrongPassword = await reauthAnswer(client, authenticator, 'not-the-password');
      expect(wrongPassword.status).toBe(401);
      expect(wrongPassword.body.code).toBe('INVALID_CREDENTIALS');
      const forged = await reauthAnswer(client, authenticator, PASSWORDS.alice, { signWith: new SoftwareAuthenticator().privateKey });
      expect(forged.status).toBe(401);
      expect(forged.body.code).toBe('INVALID_PASSKEY');
      const failures = await events('mfa_challenge_fail', 'unverified');
      expect(JSON.parse(JSON.stringify(failures.at(-1)))).toMatchObject({
        detail: { action: 'reauthentication', method: 'passkey' },
      });
      // The wrong password is a password failure, not a second-factor one.
      expect((await events('authn_login_fail', 'wrong_password')).at(-1)).toMatchObject({ detail: { action: 'reauthentication' } });

      const before = client.sessionCookie;
      const ok = await reauthAnswer(client, authenticator, PASSWORDS.alice);
      expect(ok.status).toBe(200);
      expect(ok.body.session).toMatchObject({ aal: 2, authenticatedAt: sample.clock.now() });
      expect(client.sessionCookie).not.toBe(before);
      expect((await client.post('/account/mfa/passkeys/options')).status).toBe(200);
      const success = await events('authn_login_success', 'reauthentication');
      expect(JSON.parse(JSON.stringify(success.at(-1)))).toMatchObject({ detail: { aal: 2, method: 'passkey' } });
    });

    it('ends the session after five failed attempts, and needs a passkey on the account', async () => {
      const authenticator = await userWithPasskey('alice');
      const { client } = await passwordLogin('alice');
      authenticator.counter = 1;
      expect((await answer(client, authenticator)).res.status).toBe(200);
      const codes: string[] = [];
      for (let i = 0; i < 5; i++) codes.push((await reauthAnswer(client, authenticator, 'wrong-password')).body.code);
      expect(codes).toEqual([...Array(4).fill('INVALID_CREDENTIALS'), 'REAUTH_ATTEMPTS_EXCEEDED']);
      expect((await client.get('/me')).status).toBe(401);

      const bob = await passwordLogin('bob');
      const none = await bob.client.post('/auth/reauth/passkey/options');
      expect(none.status).toBe(409);
      expect(none.body.code).toBe('MFA_NOT_ENROLLED');
    });
  });

  describe('removal (DELETE /account/mfa/passkeys/:id)', () => {
    it('needs a recent authentication, removes the passkey, and sign-in needs no second factor again', async () => {
      const authenticator = await userWithPasskey('alice');
      const { client } = await passwordLogin('alice');
      authenticator.counter = 1;
      expect((await answer(client, authenticator)).res.status).toBe(200);
      const [listed] = (await client.get('/account/mfa/passkeys')).body;

      sample.clock.advance(REAUTH_MAX_AGE_MS + 1000);
      const stale = await client.delete(`/account/mfa/passkeys/${listed.id}`);
      expect(stale.status).toBe(401);
      expect(stale.body.code).toBe('REAUTH_REQUIRED');
      // A password alone is not a full re-authentication for an account whose second factor is a passkey.
      const passwordOnly = await client.post('/auth/reauth', { password: PASSWORDS.alice });
      expect(passwordOnly.status).toBe(401);
      expect(passwordOnly.body.code).toBe('PASSKEY_REQUIRED');
      const options = await client.post('/auth/reauth/passkey/options');
      authenticator.counter = 2;
      const response = authenticator.authenticate({ challenge: options.body.challenge, origin: ORIGIN, rpId: RP_ID });
      expect((await client.post('/auth/reauth/passkey', { password: PASSWORDS.alice, response })).status).toBe(200);
      const before = client.sessionCookie;
      expect((await client.delete(`/account/mfa/passkeys/${listed.id}`)).status).toBe(204);
      expect(client.sessionCookie).not.toBe(before);
      expect((await client.get('/account/mfa/passkeys')).body).toEqual([]);
      const me = (await client.get('/me')).body;
      expect(JSON.parse(JSON.stringify((await events('mfa_removed')).at(-1)))).toMatchObject({
        level: 'WARN',
        outcome: 'success',
        userId: me.user.id,
        sessionHandle: me.session.handle,
        detail: { method: 'passkey', passkeyId: listed.id },
      });
      expect((await passwordLogin('alice')).body).toMatchObject({ mfaRequired: false });
    });

    it("answers 404 for another user's passkey and for ids that name nothing, and changes nothing", async () => {
      await userWithPasskey('bob');
      const [bobs] = await passkeyRows();
      const { client } = await passwordLogin('alice');
      for (const id of [bobs.id, '00000000-0000-4000-8000-000000000000', 'not-a-uuid', `${bobs.id}' OR '1'='1`]) {
        const res = await client.delete(`/account/mfa/passkeys/${encodeURIComponent(id)}`);
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('PASSKEY_NOT_FOUND');
      }
      expect((await client.get('/account/mfa/passkeys')).body).toEqual([]);
      expect(await passkeyRows()).toHaveLength(1);
    });
  });
});

describe('PUBLIC_ORIGIN (where passkeys are bound)', () => {
  const base = { DATABASE_URL: 'sqlite::memory:' };

  it('takes an https origin, or http on localhost, normalised; unset it stays unset', () => {
    expect(parseConfig({ ...base, PUBLIC_ORIGIN: 'https://App.Example.com:8443' }).publicOrigin).toBe('https://app.example.com:8443');
    expect(parseConfig({ ...base, PUBLIC_ORIGIN: 'http://localhost:3000/' }).publicOrigin).toBe('http://localhost:3000');
    expect(parseConfig(base).publicOrigin).toBeUndefined();
  });

  it.each(['http://app.example.com', 'https://example.com/app', 'not a url', 'https://user:pw@example.com', 'ftp://localhost'])(
    'refuses %j, naming the variable',
    (value) => {
      expect(() => parseConfig({ ...base, PUBLIC_ORIGIN: value })).toThrow(/PUBLIC_ORIGIN/);
    },
  );
});
