/**
 * Safe methods never change state (CS-04): every GET route of the app's router (read from the router, so a route
 * added later is walked too), also as HEAD and OPTIONS, as a JSON call and as a page, by an anonymous visitor, a
 * user with a cart, preferences and a half-filled wizard, an admin, a user at AAL2 and a sign-in still waiting for
 * its second factor. Afterwards the server state is what it was: every session record of every user (data,
 * stage, roles, timeouts, ids), every user row, every passkey row, and no session cookie was set or cleared.
 *
 * Allowed and said here: the idle touch. A request on a live session moves its `lastSeenAt` and `idleExpiresAt`
 * (at most once per `touchInterval`): that is the session being used, not a change the request asked for. The
 * walk moves the clock past the touch interval first, so the touch does happen, and shows it is the only change.
 * Security events (an `authz_fail` for a user opening /admin) are a record of the request, not state, and are
 * left out of the comparison.
 */
import type { Response } from 'supertest';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { SessionStore } from '../../lib';
import { PasskeyCredential } from '../../sample/src/passkeys/passkey.entity';
import { User } from '../../sample/src/users/user.entity';
import { PASSWORDS, SampleClient, SampleHarness, setCookies, startSample } from './sample-helpers';
import { concretePath, sampleRoutes } from './sample-routes';

const HTML = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
/** Moved by the idle touch of a used session; everything else must stay. */
const TOUCHED = ['lastSeenAt', 'idleExpiresAt'] as const;

describe('sample app: safe methods never change state (CS-04)', () => {
  let sample: SampleHarness;

  beforeAll(async () => {
    sample = await startSample();
  });
  afterAll(() => sample.close());

  /** Everything a request could change, keyed so that a difference names its place. */
  async function serverState(): Promise<{ state: Record<string, unknown>; touches: Record<string, number> }> {
    const data = sample.app.get(DataSource);
    const store = sample.app.get(SessionStore);
    const users = await data.getRepository(User).find({ order: { username: 'ASC' } });
    const state: Record<string, unknown> = {};
    const touches: Record<string, number> = {};
    for (const user of users) {
      state[`user ${user.username}`] = { ...user };
      for (const { id, record } of await store.listByUser(user.id, sample.clock.now())) {
        const kept: Record<string, unknown> = { ...record };
        for (const field of TOUCHED) delete kept[field];
        state[`session ${user.username} ${id}`] = kept;
        touches[`session ${user.username} ${id}`] = record.lastSeenAt;
      }
    }
    for (const passkey of await data.getRepository(PasskeyCredential).find()) state[`passkey ${passkey.id}`] = { ...passkey };
    return { state, touches };
  }

  async function send(client: SampleClient, method: string, path: string, headers: Record<string, string>): Promise<Response> {
    if (method === 'GET') return client.get(path, headers);
    let req = request(sample.url)[method === 'HEAD' ? 'head' : 'options'](path).set('User-Agent', client.userAgent);
    const cookies = [...client.otherCookies.values(), ...(client.sessionCookie ? [client.sessionCookie] : [])];
    if (cookies.length > 0) req = req.set('Cookie', cookies.join('; '));
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    return req;
  }

  /** A visitor of every kind, each with some state of its own. */
  async function visitors(): Promise<Array<[string, SampleClient]>> {
    const alice = sample.client();
    await alice.login('alice');
    expect((await alice.post('/cart/items', { sku: 'BOOK-42', qty: 2 })).status).toBe(200);
    expect((await alice.put('/preferences', { theme: 'dark', language: 'fr' })).status).toBe(200);
    expect((await alice.put('/wizard/steps/1', { name: 'Alice', email: 'alice@example.com' })).status).toBe(200);
    const bob = sample.client();
    await bob.login('bob');
    const carol = sample.client();
    await carol.login('carol');
    const pending = sample.client();
    const step1 = await pending.post('/auth/login', { username: 'carol', password: PASSWORDS.carol });
    expect(step1.body.mfaRequired).toBe(true);
    return [
      ['anonymous', sample.client()],
      ['alice (cart, preferences, wizard)', alice],
      ['bob (admin)', bob],
      ['carol (aal 2)', carol],
      ['carol (second factor pending)', pending],
    ];
  }

  it('GET, HEAD and OPTIONS on every GET route change nothing but the idle touch', async () => {
    const routes = sampleRoutes(sample.app).filter((r) => r.method === 'GET');
    expect(routes.map((r) => r.path)).toEqual(
      expect.arrayContaining(['/me', '/sessions', '/cart', '/wizard', '/preferences', '/account', '/admin/users']),
    );
    const who = await visitors();
    const before = await serverState();
    // Past the touch interval (1 min by default), short of rotation (15 min): the touch is due, a new id is not.
    sample.clock.advance(2 * 60_000);

    const cookieChanges: string[] = [];
    const statuses = new Set<number>();
    for (const route of routes) {
      const path = concretePath(route.path);
      for (const [name, client] of who) {
        for (const method of ['GET', 'HEAD', 'OPTIONS']) {
          for (const headers of [{}, HTML]) {
            const res = await send(client, method, path, headers);
            statuses.add(res.status);
            const session = setCookies(res).filter((line) => line.startsWith(`${sample.config.cookie.name}=`));
            if (session.length > 0) cookieChanges.push(`${method} ${path} as ${name}: ${session.join(' | ')}`);
          }
        }
      }
    }

    // The visitors met both their pages and their refusals: the walk ran the handlers, not only the guards.
    for (const status of [200, 303, 401, 403]) expect(statuses).toContain(status);
    expect(cookieChanges).toEqual([]);
    const after = await serverState();
    expect(after.state).toEqual(before.state);
    // The allowed change did happen: every session was touched, i.e. the comparison above ran on used sessions.
    for (const [key, lastSeenAt] of Object.entries(before.touches)) expect(after.touches[key]).toBeGreaterThan(lastSeenAt);
  });

  it('the comparison can fail: an unsafe request on the same session is seen', async () => {
    const alice = sample.client();
    await alice.login('alice');
    const before = await serverState();
    expect((await alice.put('/preferences', { theme: 'light', language: 'de' })).status).toBe(200);
    const after = await serverState();
    expect(after.state).not.toEqual(before.state);
  });
});
