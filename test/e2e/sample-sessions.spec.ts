/** The sample app's "active devices": listing a user's sessions and revoking one. */
import { SampleHarness, setCookieFor, startSample } from './sample-helpers';

describe('sample app: GET /sessions, DELETE /sessions/:handle', () => {
  let sample: SampleHarness;

  beforeAll(async () => {
    sample = await startSample();
  });
  afterAll(() => sample.close());

  it("lists the user's sessions, oldest first, marking the current one, and nobody else's", async () => {
    const laptop = sample.client('Laptop browser');
    const phone = sample.client('Phone browser');
    await laptop.login('alice');
    sample.clock.advance(1000);
    await phone.login('alice');
    await sample.client('Bob browser').login('bob');

    const res = await phone.get('/sessions');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual([
      {
        handle: expect.any(String),
        current: false,
        createdAt: expect.any(Number),
        lastSeenAt: expect.any(Number),
        ip: '127.0.0.1',
        userAgent: 'Laptop browser',
        tier: 'standard',
        impersonatedBy: null,
        // How a person reads it: no browser or OS in this user agent, so its product name; loopback has no place.
        device: 'Laptop',
        place: null,
        lastActive: 'just now',
      },
      {
        handle: expect.any(String),
        current: true,
        createdAt: expect.any(Number),
        lastSeenAt: expect.any(Number),
        ip: '127.0.0.1',
        userAgent: 'Phone browser',
        tier: 'standard',
        impersonatedBy: null,
        // How a person reads it: no browser or OS in this user agent, so its product name; loopback has no place.
        device: 'Phone',
        place: null,
        lastActive: 'just now',
      },
    ]);
    expect(res.body[1].handle).toBe((await phone.get('/me')).body.session.handle);
  });

  it("revokes another of the same user's sessions: 204, and that session is gone", async () => {
    const laptop = sample.client('Laptop');
    const phone = sample.client('Phone');
    await laptop.login('alice');
    await phone.login('alice');
    const phoneHandle = (await phone.get('/me')).body.session.handle;

    const res = await laptop.delete(`/sessions/${phoneHandle}`);
    expect(res.status).toBe(204);
    expect(setCookieFor(res, '__Host-sid')).toBeUndefined();
    expect((await phone.get('/me')).status).toBe(401);
    expect((await laptop.get('/me')).status).toBe(200);
    const handles = ((await laptop.get('/sessions')).body as { handle: string }[]).map((s) => s.handle);
    expect(handles).not.toContain(phoneHandle);
  });

  it("is 404 SESSION_NOT_FOUND for another user's handle, which stays alive", async () => {
    const alice = sample.client();
    const bob = sample.client();
    await alice.login('alice');
    await bob.login('bob');
    const bobHandle = (await bob.get('/me')).body.session.handle;

    const res = await alice.delete(`/sessions/${bobHandle}`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, code: 'SESSION_NOT_FOUND', message: expect.any(String) });
    expect((await bob.get('/me')).status).toBe(200);
  });

  it.each(['A'.repeat(22), 'not-a-handle', '%2E%2E'])('is 404 SESSION_NOT_FOUND for an unknown or malformed handle: %s', async (handle) => {
    const alice = sample.client();
    await alice.login('alice');
    const res = await alice.delete(`/sessions/${handle}`);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('SESSION_NOT_FOUND');
  });

  it('treats revoking the current session as a logout (cookie cleared)', async () => {
    const client = sample.client();
    await client.login('alice');
    const cookie = client.sessionCookie!;
    const handle = (await client.get('/me')).body.session.handle;
    const res = await client.delete(`/sessions/${handle}`);
    expect(res.status).toBe(204);
    expect(setCookieFor(res, '__Host-sid')).toMatch(/Max-Age=0/);
    expect((await sample.client().get('/me', { Cookie: cookie })).status).toBe(401);
  });

  it('needs a session', async () => {
    expect((await sample.client().get('/sessions')).status).toBe(401);
    expect((await sample.client().delete(`/sessions/${'A'.repeat(22)}`)).status).toBe(401);
  });
});
