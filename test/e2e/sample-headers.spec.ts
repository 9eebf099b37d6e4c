/**
 * Security headers and caching on EVERY response of the sample, errors included (HD-01, HD-02, HD-03, SID-05).
 *
 * The suite walks every route of the app's router (not a hand list, so a route added later is walked too) as an
 * anonymous client and as a signed-in user and admin, as JSON and as a browser navigation (Accept: text/html), with
 * GET, HEAD and OPTIONS, plus the error paths that are easy to forget because they never reach a controller:
 * unknown routes, malformed JSON, an oversized body, a malformed URL, a store outage. Every response must carry:
 * - `X-Content-Type-Options: nosniff`, a `Referrer-Policy`, a `Content-Type` with a charset when there is a body,
 *   and `Cross-Origin-Opener-Policy: same-origin` (HD-03);
 * - CSP `frame-ancestors 'none'` and `X-Frame-Options: DENY` (HD-01);
 * - the restrictive CSP: nonce-only `script-src`, no `unsafe-inline`/`unsafe-eval`, `object-src 'none'`,
 *   `base-uri 'none'`, `form-action 'self'` (HD-02);
 * - `Cache-Control: no-store` (SID-05), except the two public static assets, which never set a cookie and never
 *   depend on the session.
 * The problems are collected over the whole walk and reported together, so one run shows every gap.
 */
import type { Response } from 'supertest';
import request from 'supertest';
import { SessionStore } from '../../lib';
import { SessionStoreUnavailableError } from '../../lib/core/errors';
import { CartService } from '../../sample/src/cart/cart.service';
import { SampleClient, SampleHarness, setCookies, startSample } from './sample-helpers';
import { concretePath, SampleRoute, sampleRoutes } from './sample-routes';

const HTML = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
/**
 * The only responses a shared cache may keep: public, identical for everyone, never setting a cookie. The JWKS is one:
 * verifiers cache the public keys for a short while (a rotation publishes the next key well before it signs).
 */
const PUBLIC_ASSETS = new Set(['/assets/app.js', '/assets/app.css', '/.well-known/jwks.json']);

/** One response seen on the walk, with what produced it. */
interface Seen {
  label: string;
  path: string;
  res: Response;
}

/** What is wrong with one response's headers; `[]` when nothing. */
function headerProblems({ label, path, res }: Seen): string[] {
  const h = res.headers;
  const problems: string[] = [];
  const fail = (what: string): number => problems.push(`${label} → ${res.status}: ${what}`);
  if (h['x-content-type-options'] !== 'nosniff') fail(`X-Content-Type-Options is ${h['x-content-type-options']}`);
  if (!['no-referrer', 'strict-origin-when-cross-origin'].includes(h['referrer-policy']))
    fail(`Referrer-Policy is ${h['referrer-policy']}`);
  if (h['cross-origin-opener-policy'] !== 'same-origin') fail(`Cross-Origin-Opener-Policy is ${h['cross-origin-opener-policy']}`);
  const hasBody = res.status !== 204 && res.status !== 304 && h['content-length'] !== '0';
  if (hasBody && !/;\s*charset=utf-8$/i.test(h['content-type'] ?? '')) fail(`Content-Type is ${h['content-type']}`);
  if (h['x-frame-options'] !== 'DENY') fail(`X-Frame-Options is ${h['x-frame-options']}`);
  const csp = String(h['content-security-policy'] ?? '');
  const directives = new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name, values.join(' ')]),
  );
  const expectDirective = (name: string, value: RegExp): void => {
    if (!value.test(directives.get(name) ?? '')) fail(`CSP ${name} is ${JSON.stringify(directives.get(name))}`);
  };
  expectDirective('frame-ancestors', /^'none'$/);
  expectDirective('script-src', /^'nonce-[A-Za-z0-9+/=]{22,}'$/);
  expectDirective('script-src-attr', /^'none'$/);
  expectDirective('object-src', /^'none'$/);
  expectDirective('base-uri', /^'none'$/);
  expectDirective('form-action', /^'self'$/);
  expectDirective('default-src', /^'none'$/);
  if (/unsafe-(inline|eval|hashes)|strict-dynamic|\*/.test(csp)) fail(`CSP allows more than nonce scripts: ${csp}`);
  const cacheControl = h['cache-control'];
  if (PUBLIC_ASSETS.has(path) && res.status === 200) {
    if (setCookies(res).length > 0) fail(`a cacheable asset sets a cookie: ${setCookies(res).join(' | ')}`);
  } else if (cacheControl !== 'no-store') fail(`Cache-Control is ${cacheControl}`);
  return problems;
}

describe('sample app: security headers and caching on every response (HD-01..03, SID-05)', () => {
  let sample: SampleHarness;
  let routes: SampleRoute[];

  beforeAll(async () => {
    // Quiet: the outage and the failing handler below are logged as errors on purpose.
    sample = await startSample({}, { logger: false });
    routes = sampleRoutes(sample.app);
  });
  afterAll(() => sample.close());

  /** Sends `method path` as `client` (a raw supertest request for HEAD and OPTIONS, which SampleClient lacks). */
  async function send(client: SampleClient, method: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
    if (method === 'HEAD' || method === 'OPTIONS') {
      let req = request(sample.url)[method === 'HEAD' ? 'head' : 'options'](path).set('User-Agent', client.userAgent);
      const cookies = [...client.otherCookies.values(), ...(client.sessionCookie ? [client.sessionCookie] : [])];
      if (cookies.length > 0) req = req.set('Cookie', cookies.join('; '));
      for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
      return req;
    }
    const body = method === 'GET' ? undefined : {};
    return client.send(method.toLowerCase() as 'get' | 'post' | 'put' | 'delete', path, body, headers);
  }

  async function signedIn(username: 'alice' | 'bob'): Promise<SampleClient> {
    const client = sample.client();
    await client.login(username);
    return client;
  }

  it('walks a router that knows the contract routes (the enumeration itself works)', () => {
    const listed = routes.map((r) => `${r.method} ${r.path}`);
    for (const route of [
      'GET /me',
      'GET /login',
      'POST /auth/login',
      'DELETE /sessions/:handle',
      'PUT /wizard/steps/:n',
      'GET /assets/app.js',
    ])
      expect(listed).toContain(route);
  });

  it('every route, as anonymous, user and admin, JSON and page, GET/HEAD/OPTIONS and unsafe methods', async () => {
    const seen: Seen[] = [];
    const anonymous = sample.client();
    const alice = await signedIn('alice');
    const bob = await signedIn('bob');
    const label = (path: string, who: string, method: string, accept = 'json'): string => `${method} ${path} (${who}, ${accept})`;
    for (const route of routes.filter((r) => SAFE.has(r.method))) {
      const path = concretePath(route.path);
      for (const [who, client] of [
        ['anonymous', anonymous],
        ['alice', alice],
        ['bob', bob],
      ] as const) {
        seen.push({ label: label(path, who, route.method), path, res: await send(client, route.method, path) });
        seen.push({ label: label(path, who, route.method, 'html'), path, res: await send(client, route.method, path, HTML) });
        if (route.method === 'GET')
          seen.push({ label: label(path, who, 'HEAD', 'html'), path, res: await send(client, 'HEAD', path, HTML) });
      }
      seen.push({ label: label(path, 'anonymous', 'OPTIONS'), path, res: await send(anonymous, 'OPTIONS', path) });
    }
    // After the safe walk: an unsafe request may end the session (logout, logout everywhere, the concurrent-session
    // limit) or change the user, so each gets a sign-in of its own.
    for (const route of routes.filter((r) => !SAFE.has(r.method))) {
      const path = concretePath(route.path);
      seen.push({ label: label(path, 'anonymous', route.method), path, res: await send(sample.client(), route.method, path) });
      seen.push({ label: label(path, 'alice', route.method), path, res: await send(await signedIn('alice'), route.method, path) });
    }
    // The walk met the outcomes it is meant to cover; a change that made them unreachable would hollow it out.
    const statuses = new Set(seen.map((s) => s.res.status));
    for (const status of [200, 204, 303, 400, 401, 403, 404]) expect(statuses).toContain(status);
    expect(seen.some((s) => /^text\/html/.test(s.res.headers['content-type'] ?? '') && s.res.status === 403)).toBe(true);
    expect(seen.flatMap(headerProblems)).toEqual([]);
  });

  it('the errors no controller answers: unknown routes, malformed JSON, an oversized body, a bad URL, wrong types', async () => {
    const alice = await signedIn('alice');
    const raw = (method: 'post' | 'put', path: string, type: string, body: string): Promise<Response> =>
      request(sample.url)[method](path).set('Cookie', alice.sessionCookie!).set('Content-Type', type).send(body);
    const seen: Seen[] = [
      { label: 'GET unknown route', path: '/no/such', res: await alice.get('/no/such/route') },
      { label: 'GET unknown route (html)', path: '/no/such', res: await alice.get('/no/such/route', HTML) },
      { label: 'POST unknown route', path: '/no/such', res: await sample.client().post('/no/such/route', {}) },
      { label: 'malformed JSON', path: '/cart/items', res: await raw('post', '/cart/items', 'application/json', '{"sku":') },
      {
        label: 'body over the limit',
        path: '/cart/items',
        res: await raw('post', '/cart/items', 'application/json', JSON.stringify({ sku: 'x'.repeat(64 * 1024) })),
      },
      { label: 'text/plain body', path: '/preferences', res: await raw('put', '/preferences', 'text/plain', 'theme=dark') },
      {
        label: 'form body',
        path: '/preferences',
        res: await raw('put', '/preferences', 'application/x-www-form-urlencoded', 'theme=dark'),
      },
      {
        label: 'unsupported charset',
        path: '/cart/items',
        res: await raw('post', '/cart/items', 'application/json; charset=koi8-r', '{}'),
      },
      { label: 'malformed percent-encoding', path: '/sessions/%E0%A4%A', res: await alice.delete('/sessions/%E0%A4%A') },
      {
        label: 'a forged session cookie',
        path: '/me',
        res: await sample.client().get('/me', { Cookie: `${sample.config.cookie.name}=forged` }),
      },
    ];
    // The router and the body parser answer before any guard. The two bodies the parser leaves alone (text/plain, a
    // form) reach the guards and the validation, whose answer (400 today; a CSRF or content-type refusal later) may
    // change: any client error will do for them.
    const statuses = seen.map((s) => (/ body$/.test(s.label) && s.res.status >= 400 && s.res.status < 500 ? 'client error' : s.res.status));
    expect(statuses).toEqual([404, 404, 404, 400, 413, 'client error', 'client error', 415, 400, 401]);
    expect(seen.flatMap(headerProblems)).toEqual([]);
  });

  it('the cacheable assets never carry a session cookie: not with a forged one, a rotation due or an expired session', async () => {
    const alice = await signedIn('alice');
    const cookieName = sample.config.cookie.name;
    const seen: Seen[] = [];
    const fetchAssets = async (label: string, headers: Record<string, string> = {}): Promise<void> => {
      for (const path of PUBLIC_ASSETS) seen.push({ label: `${label} ${path}`, path, res: await alice.get(path, headers) });
    };
    await fetchAssets('forged cookie', { Cookie: `${cookieName}=forged` });
    // Past the rotation interval: a route that read the session would issue a new id here.
    sample.clock.advance(sample.config.session.rotationIntervalMs + 1);
    await fetchAssets('rotation due');
    // Past the idle timeout: a route that read the session would clear the cookie here.
    sample.clock.advance(sample.config.session.idleTimeoutMs + 1);
    await fetchAssets('session expired');
    expect(seen.map((s) => [s.res.status, s.res.headers['cache-control']])).toEqual(seen.map(() => [200, 'public, max-age=300']));
    expect(seen.flatMap(headerProblems)).toEqual([]);
    // The same requests on a session route do answer with a cookie: the checks above look at the right thing.
    const me = await sample.client().get('/me', { Cookie: `${cookieName}=forged` });
    expect(setCookies(me).some((line) => line.startsWith(`${cookieName}=;`))).toBe(true);
  });

  it('a session store outage (503) on a JSON route and a page', async () => {
    const alice = await signedIn('alice');
    const store = sample.app.get(SessionStore);
    const read = jest.spyOn(store, 'read').mockRejectedValue(new SessionStoreUnavailableError('read', new Error('connection refused')));
    let seen: Seen[];
    try {
      seen = [
        { label: 'GET /me during an outage', path: '/me', res: await alice.get('/me') },
        { label: 'GET /account (html) during an outage', path: '/account', res: await alice.get('/account', HTML) },
      ];
    } finally {
      read.mockRestore();
    }
    expect(seen.map((s) => s.res.status)).toEqual([503, 503]);
    expect(seen.flatMap(headerProblems)).toEqual([]);
  });

  it('an unexpected failure (500) on a JSON route and a page', async () => {
    const alice = await signedIn('alice');
    // A bug in a handler, as the filter sees one: a plain Error, not an HttpException.
    const view = jest.spyOn(sample.app.get(CartService), 'view').mockImplementation(() => {
      throw new Error('a bug in the cart');
    });
    let seen: Seen[];
    try {
      seen = [
        { label: 'GET /cart failing', path: '/cart', res: await alice.get('/cart') },
        { label: 'GET /cart (html) failing', path: '/cart', res: await alice.get('/cart', HTML) },
      ];
    } finally {
      view.mockRestore();
    }
    expect(seen.map((s) => [s.res.status, s.res.headers['content-type']])).toEqual([
      [500, 'application/json; charset=utf-8'],
      [500, 'text/html; charset=utf-8'],
    ]);
    expect(seen.flatMap(headerProblems)).toEqual([]);
  });

  it('the checks can fail: a response without the headers is reported', async () => {
    // A plain server answering without any of them, through the same check.
    const bare = await request((_req: unknown, res: { setHeader(n: string, v: string): void; end(body: string): void }) => {
      res.setHeader('Content-Type', 'text/html');
      res.end('<p>hi</p>');
    }).get('/');
    const problems = headerProblems({ label: 'bare', path: '/', res: bare });
    for (const header of [
      'X-Content-Type-Options',
      'Referrer-Policy',
      'Cross-Origin-Opener-Policy',
      'Content-Type',
      'X-Frame-Options',
      'frame-ancestors',
      'Cache-Control',
    ])
      expect(problems.join('\n')).toContain(header);
  });
});
