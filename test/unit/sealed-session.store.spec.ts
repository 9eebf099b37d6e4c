/**
 * The sealed-cookie session store and key ring, without HTTP: what a cookie must be to open (every forgery refused,
 * never a throw), key rotation through the ring, timeouts from the sealed claims, the 4 KB limit at write time, the
 * per-generation denial of an explicit rotation, and the `sealed` option checked at start-up with messages.
 */
import { randomBytes } from 'node:crypto';
import { CompactEncrypt } from 'jose';
import { ManualClock } from '../../lib/core/clock';
import { SessionOptionsError } from '../../lib/core/errors';
import { SessionManager } from '../../lib/core/session-manager';
import { SecurityEventBus } from '../../lib/events/security-event-bus';
import { SealedCookieTooLargeError, SealedSessionsUnlistedError } from '../../lib/sealed/sealed-session.errors';
import { SealedSessionStore } from '../../lib/sealed/sealed-session.store';
import { resolveSessionOptions, SessionModuleOptions } from '../../lib/session.options';
import { InMemoryTokenStore } from '../../lib/tokens/in-memory-token.store';

const T0 = Date.parse('2026-11-30T10:00:00Z');
const K1 = randomBytes(32);
const K2 = randomBytes(32);
const READ = { idleTimeoutMs: 30 * 60_000, touchIntervalMs: 60_000 };

function setup(keys = [{ kid: 'k1', key: K1 }], extra: Partial<SessionModuleOptions> = {}) {
  const clock = new ManualClock(T0);
  const revocations = new InMemoryTokenStore();
  const options = resolveSessionOptions({ sealed: { keys, revocations }, clock, idleTimeout: '30m', absoluteTimeout: '2h', ...extra });
  const store = options.store as SealedSessionStore;
  const manager = new SessionManager(store, clock, options, new SecurityEventBus([], () => undefined));
  /** A store with another key ring over the same revocations and clock. */
  const withKeys = (ring: { kid: string; key: Uint8Array }[]) =>
    resolveSessionOptions({ sealed: { keys: ring, revocations }, clock, idleTimeout: '30m', absoluteTimeout: '2h' })
      .store as SealedSessionStore;
  const login = async (userId = 'alice') =>
    (await manager.create({ userId, client: { ip: '203.0.113.7', userAgent: 'test' }, data: { theme: 'dark' } })).token;
  return { clock, store, manager, withKeys, login, revocations };
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const flip = (s: string, at = 0) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);

describe('SealedSessionStore', () => {
  it('is a SessionStore whose ids are the cookie values: a compact JWE dir + A256GCM with the kid', async () => {
    const { store, login } = setup();
    const token = await login();
    expect(store.keepsSessionInToken).toBe(true);
    expect(store.isWellFormedToken(token)).toBe(true);
    const [header, encryptedKey, iv, , tag] = token.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'dir', enc: 'A256GCM', kid: 'k1' });
    expect(encryptedKey).toBe('');
    expect(Buffer.from(iv, 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag, 'base64url')).toHaveLength(16);
    const read = await store.read(token, { now: T0, ...READ });
    expect(read).toMatchObject({ status: 'active', id: token, record: { userId: 'alice', data: { theme: 'dark' } } });
  });

  it('refuses every tampered, truncated or re-ordered cookie as missing, never with a throw', async () => {
    const { store, login } = setup();
    const token = await login();
    const parts = token.split('.');
    const forgeries = [
      flip(token, 40), // header
      [parts[0], parts[1], flip(parts[2]), parts[3], parts[4]].join('.'), // IV
      [parts[0], parts[1], parts[2], flip(parts[3], 5), parts[4]].join('.'), // ciphertext
      [parts[0], parts[1], parts[2], parts[3], flip(parts[4])].join('.'), // tag
      token.slice(0, -1),
      token.slice(0, token.length / 2),
      parts.slice(0, 4).join('.'),
      [parts[0], parts[1], parts[2], parts[4], parts[3]].join('.'),
      [parts[0], parts[1], parts[3], parts[2], parts[4]].join('.'),
      [parts[3], parts[1], parts[2], parts[0], parts[4]].join('.'),
      `${token}.${parts[4]}`,
      '',
      'not a token',
    ];
    for (const forged of forgeries) {
      await expect(store.read(forged, { now: T0, ...READ })).resolves.toEqual({ status: 'missing' });
      await expect(store.update(forged, 1, { data: {} }, T0)).resolves.toEqual({ status: 'missing' });
      await expect(store.destroy(forged)).resolves.toBeNull();
    }
  });

  it('refuses a header with another alg or enc (swapped in, or a genuine JWE of another algorithm), or without a kid', async () => {
    const { store, login } = setup();
    const token = await login();
    const [, ...rest] = token.split('.');
    for (const header of [
      { alg: 'dir', enc: 'A128GCM', kid: 'k1' },
      { alg: 'dir', enc: 'A256CBC-HS512', kid: 'k1' },
      { alg: 'A256KW', enc: 'A256GCM', kid: 'k1' },
      { alg: 'none', enc: 'A256GCM', kid: 'k1' },
      { alg: 'dir', enc: 'A256GCM' },
      { enc: 'A256GCM', alg: 'dir', kid: 'k1' }, // the same header re-ordered: the authenticated bytes differ
    ]) {
      await expect(store.read([b64(header), ...rest].join('.'), { now: T0, ...READ })).resolves.toEqual({ status: 'missing' });
    }
    // A well-formed JWE of the same record under A256KW with our own key as the key-wrapping key.
    const payload = { v: 1, n: 'n', ep: T0, s: ((await store.read(token, { now: T0, ...READ })) as { record: object }).record };
    const wrapped = await new CompactEncrypt(Buffer.from(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: 'k1' })
      .encrypt(K1);
    await expect(store.read(wrapped, { now: T0, ...READ })).resolves.toEqual({ status: 'missing' });
  });

  it('refuses a kid the ring lacks, and a cookie sealed with another key under a known kid', async () => {
    const { store } = setup([{ kid: 'k1', key: K1 }]);
    const foreign = await setup([{ kid: 'k9', key: K2 }]).login();
    const impostor = await setup([{ kid: 'k1', key: K2 }]).login();
    await expect(store.read(foreign, { now: T0, ...READ })).resolves.toEqual({ status: 'missing' });
    await expect(store.read(impostor, { now: T0, ...READ })).resolves.toEqual({ status: 'missing' });
    // Each is a good cookie where it was sealed.
    await expect(setup([{ kid: 'k1', key: K2 }]).store.read(impostor, { now: T0, ...READ })).resolves.toMatchObject({ status: 'active' });
  });

  it('key rotation: a cookie sealed with a retired key opens while the key is in the ring, re-seals with the newest, and is refused once it is removed', async () => {
    const { login, withKeys } = setup([{ kid: 'k1', key: K1 }]);
    const old = await login();
    const rotated = withKeys([
      { kid: 'k2', key: K2 },
      { kid: 'k1', key: K1 },
    ]);
    const read = await rotated.read(old, { now: T0 + 60_000, ...READ });
    expect(read.status).toBe('active');
    const resealed = (read as { id: string }).id;
    expect(resealed).not.toBe(old);
    expect(JSON.parse(Buffer.from(resealed.split('.')[0], 'base64url').toString()).kid).toBe('k2');
    const retired = withKeys([{ kid: 'k2', key: K2 }]);
    await expect(retired.read(old, { now: T0 + 60_000, ...READ })).resolves.toEqual({ status: 'missing' });
    await expect(retired.read(resealed, { now: T0 + 60_000, ...READ })).resolves.toMatchObject({ status: 'active' });
  });

  it('enforces idle and absolute timeouts from the sealed claims, with the module clock', async () => {
    const { store, login } = setup();
    const token = await login();
    await expect(store.read(token, { now: T0 + 30 * 60_000 - 1, ...READ })).resolves.toMatchObject({ status: 'active' });
    await expect(store.read(token, { now: T0 + 30 * 60_000, ...READ })).resolves.toMatchObject({ status: 'expired' });
    // Touched every 20 minutes, it still ends 2 h after login.
    let current = token;
    for (let t = 20; t < 120; t += 20) {
      const read = await store.read(current, { now: T0 + t * 60_000, ...READ });
      expect(read.status).toBe('active');
      current = (read as { id: string }).id;
    }
    await expect(store.read(current, { now: T0 + 120 * 60_000, ...READ })).resolves.toMatchObject({
      status: 'expired',
      record: { absoluteExpiresAt: T0 + 120 * 60_000 },
    });
    // An expired cookie cannot be written to either.
    await expect(store.update(token, 1, { data: {} }, T0 + 30 * 60_000)).resolves.toEqual({ status: 'missing' });
  });

  it('touches (re-seals) only at the touch interval', async () => {
    const { store, login } = setup();
    const token = await login();
    await expect(store.read(token, { now: T0 + 59_999, ...READ })).resolves.toMatchObject({ status: 'active', id: token });
    const touched = await store.read(token, { now: T0 + 60_000, ...READ });
    expect(touched).toMatchObject({ status: 'active', record: { lastSeenAt: T0 + 60_000, idleExpiresAt: T0 + 31 * 60_000 } });
    expect((touched as { id: string }).id).not.toBe(token);
  });

  it('rotation re-seals with a fresh nonce; an explicit one (no grace) kills the old cookie and every re-seal of it at once', async () => {
    const { store, manager, login, clock } = setup();
    const token = await login();
    const outcome = await manager.resolve(token, { ip: '', userAgent: '' });
    if (outcome.kind !== 'active') throw new Error('not active');
    const updated = await manager.updateData(outcome.session, (d) => ({ ...d, step: 1 }));
    const resealed = outcome.session.id;
    expect(updated.data).toEqual({ theme: 'dark', step: 1 });
    const nonceOf = async (t: string) =>
      JSON.parse((await (store as unknown as { ring: { open(x: string): Promise<string> } }).ring.open(t))!).n;
    expect(await nonceOf(resealed)).toBe(await nonceOf(token));
    const next = await manager.rotate(outcome.session, 'privilege_change', { ip: '', userAgent: '' });
    expect(next).not.toBeNull();
    expect(await nonceOf(next!)).not.toBe(await nonceOf(token));
    for (const old of [token, resealed])
      await expect(store.read(old, { now: clock.now(), ...READ })).resolves.toEqual({ status: 'missing' });
    await expect(store.read(next!, { now: clock.now(), ...READ })).resolves.toMatchObject({ status: 'active' });
  });

  it('periodic rotation re-seals with a fresh generation and tells the caller to send it; the previous cookie lives on until it expires', async () => {
    const { manager, login, clock, store } = setup();
    const token = await login();
    const nonceOf = async (t: string) =>
      JSON.parse((await (store as unknown as { ring: { open(x: string): Promise<string> } }).ring.open(t))!).n;
    clock.advance(15 * 60_000);
    const outcome = await manager.resolve(token, { ip: '', userAgent: '' });
    if (outcome.kind !== 'active') throw new Error('not active');
    expect(outcome.issuedToken).toBe(outcome.session.id);
    expect(outcome.session.record.rotatedAt).toBe(clock.now());
    expect(await nonceOf(outcome.issuedToken!)).not.toBe(await nonceOf(token));
    // Documented: a periodic rotation denies nothing (parallel requests still carry the old cookie).
    await expect(manager.resolve(token, { ip: '', userAgent: '' })).resolves.toMatchObject({ kind: 'active' });
    // A steady request (no touch due, no rotation) sends no cookie.
    const steady = await manager.resolve(outcome.issuedToken!, { ip: '', userAgent: '' });
    expect(steady).toMatchObject({ kind: 'active' });
    expect((steady as { issuedToken?: string }).issuedToken).toBeUndefined();
  });

  it('refuses, at write time and naming the size and the limit, a session that would pass the 4 KB cookie limit', async () => {
    const { store, manager, login, clock } = setup();
    const create = manager.create({ userId: 'bob', client: { ip: '', userAgent: '' }, data: { blob: 'x'.repeat(3500) } });
    await expect(create).rejects.toThrow(SealedCookieTooLargeError);
    await expect(create).rejects.toThrow(/would be \d{4} bytes .*over the browsers' limit of 4096 bytes.*nothing was written/);
    const token = await login();
    const outcome = await manager.resolve(token, { ip: '', userAgent: '' });
    if (outcome.kind !== 'active') throw new Error('not active');
    const error = await manager.updateData(outcome.session, (d) => ({ ...d, blob: 'x'.repeat(3500) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SealedCookieTooLargeError);
    expect((error as SealedCookieTooLargeError).bytes).toBeGreaterThan(4096);
    expect((error as SealedCookieTooLargeError).limit).toBe(4096);
    // The cookie the browser holds is untouched.
    await expect(store.read(token, { now: clock.now(), ...READ })).resolves.toMatchObject({
      status: 'active',
      record: { data: { theme: 'dark' } },
    });
  });

  it('answers listing and counting with an error saying why, and refuses a concurrent-session limit', async () => {
    const { store, login } = setup();
    const token = await login();
    await expect(store.listByUser()).rejects.toThrow(SealedSessionsUnlistedError);
    await expect(store.countByUser()).rejects.toThrow(/cannot be listed \(countByUser\)/);
    const { record } = (await store.read(token, { now: T0, ...READ })) as { record: Parameters<SealedSessionStore['create']>[1] };
    await expect(store.create('x', record, { now: T0, maxConcurrent: 3 })).rejects.toThrow(/cannot hold a concurrent-session limit \(3\)/);
  });

  it('binds an admin revocation to the user: the handle of another user ends nothing', async () => {
    const { store, login, clock } = setup();
    const token = await login('alice');
    const { record } = (await store.read(token, { now: T0, ...READ })) as { record: { handle: string } };
    await store.destroyByHandle('mallory', record.handle);
    await expect(store.read(token, { now: clock.now(), ...READ })).resolves.toMatchObject({ status: 'active' });
    await store.destroyByHandle('alice', record.handle);
    await expect(store.read(token, { now: clock.now(), ...READ })).resolves.toEqual({ status: 'missing' });
  });
});

describe('the sealed option at start-up', () => {
  const problemsOf = (options: SessionModuleOptions): string[] => {
    try {
      resolveSessionOptions(options);
    } catch (error) {
      if (error instanceof SessionOptionsError) return error.problems;
      throw error;
    }
    return [];
  };

  it('accepts a ring of 32-byte keys as bytes or base64url text, and defaults the session limit to 0', () => {
    const options = resolveSessionOptions({
      sealed: {
        keys: [
          { kid: 'k2', key: K2.toString('base64url') },
          { kid: 'k1', key: K1 },
        ],
        revocations: 'memory',
      },
    });
    expect(options.store.keepsSessionInToken).toBe(true);
    expect(options.maxConcurrentSessions).toBe(0);
  });

  it('lists every problem at once, each saying what to fix', () => {
    const problems = problemsOf({
      store: 'memory',
      maxConcurrentSessions: 3,
      cookie: { httpOnly: false },
      sealed: {
        keys: [
          { kid: 'k1', key: randomBytes(31) },
          { kid: 'k1', key: randomBytes(33).toString('base64url') },
          { kid: 'bad kid!', key: 'too short' },
        ],
        revocations: {} as never,
      },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/sealed\.keys\[0\]\.key must be exactly 32 bytes .*got 31 bytes.*openssl rand -base64 32/),
        expect.stringMatching(/sealed\.keys\[1\]\.kid "k1" appears twice/),
        expect.stringMatching(/sealed\.keys\[1\]\.key must be exactly 32 bytes .*got text of 33 bytes/),
        expect.stringMatching(/sealed\.keys\[2\]\.kid must be 1 to 32 characters/),
        expect.stringMatching(/sealed\.keys\[2\]\.key must be exactly 32 bytes .*not base64/),
        expect.stringMatching(/sealed\.revocations must be a TokenStore/),
        expect.stringMatching(/store and sealed cannot both be given/),
        expect.stringMatching(/maxConcurrentSessions cannot be held with sealed sessions/),
        expect.stringMatching(/cookie\.httpOnly must stay true with sealed sessions/),
      ]),
    );
    expect(problemsOf({ sealed: { keys: [], revocations: 'memory' } })).toEqual([
      expect.stringMatching(/sealed\.keys must be a non-empty array/),
    ]);
    expect(problemsOf({ sealed: { keys: [{ kid: 'k', key: K1 }], revocations: 'memory' }, maxConcurrentSessions: () => 2 })).toEqual([
      expect.stringMatching(/maxConcurrentSessions cannot be held/),
    ]);
  });

  it('never shows a key in a message', () => {
    const secret = randomBytes(20).toString('base64url');
    const problems = problemsOf({ sealed: { keys: [{ kid: 'k', key: secret }], revocations: 'memory' } });
    expect(problems).toHaveLength(1);
    expect(problems[0]).not.toContain(secret);
  });
});
