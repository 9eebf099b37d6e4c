/**
 * CS-06: cross-site request forgery against the sample app, in a real browser (Debian's chromium). The victim is
 * signed in at `http://localhost:PORT`; an attacker's page, served by a server of the test, tries to change the
 * victim's state by form auto-submit (form-encoded, and `text/plain` JSON) and by `fetch` with credentials:
 *
 * - from `http://localhost:OTHER` (another origin of the SAME site: the browser sends the `SameSite=Lax` session
 *   cookie along, so only the app's CSRF checks stand in the way; the security log must show them refusing
 *   alice's own session), and
 * - from `http://127.0.0.1:OTHER` (another site: the cookie stays home as well).
 *
 * Each test asserts on the server's state afterwards (the session is alive, the cart and preferences unchanged),
 * not on status codes the attacker cannot read anyway.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useBrowserSample } from './support/browser-suite';
import { until } from './support/page-watch';
import { signIn } from './support/sample-pages';

const suite = useBrowserSample();
let attacker: Server;
let attackerPort: number;

/** The attack pages, by path; `APP` is replaced by the app's origin. Inline script is fine: this site has no CSP. */
const ATTACKS: Record<string, string> = {
  // Sign the victim out (a state change that needs no body at all), by a self-submitting form.
  '/form-logout': `<form id="f" method="POST" action="APP/auth/logout"></form>
<script>document.getElementById('f').submit()</script>`,
  // Add to the cart with a form-encoded body.
  '/form-cart': `<form id="f" method="POST" action="APP/cart/items"><input name="sku" value="EVIL-FORM"><input name="qty" value="1"></form>
<script>document.getElementById('f').submit()</script>`,
  // The classic JSON-by-text/plain form: the body reads {"sku":"EVIL-TEXT","qty":1,"x":"="}.
  '/form-json': `<form id="f" method="POST" action="APP/cart/items" enctype="text/plain"><input name='{"sku":"EVIL-TEXT","qty":1,"x":"' value='"}'></form>
<script>document.getElementById('f').submit()</script>`,
  // fetch with the victim's cookies: simple POSTs need no preflight (their answers are opaque, their effects would
  // not be); the PUT needs one, which the app answers with no CORS headers, so the browser never sends it.
  '/fetch': `<script>
Promise.allSettled([
  fetch('APP/preferences', { method: 'PUT', credentials: 'include', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ theme: 'dark', language: 'de' }) }),
  fetch('APP/cart/items', { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ sku: 'EVIL-FETCH', qty: 1 }) }),
  fetch('APP/auth/logout-all', { method: 'POST', credentials: 'include', mode: 'no-cors' }),
  fetch('APP/auth/logout', { method: 'POST', credentials: 'include', mode: 'no-cors' }),
]).then(() => { document.title = 'done'; });
</script>`,
};

beforeAll(async () => {
  attacker = createServer((req, res) => {
    const body = ATTACKS[req.url ?? ''];
    res.writeHead(body ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(body ? `<!doctype html><title>win a prize</title>${body.replaceAll('APP', suite.sample.origin)}` : 'not found');
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerPort = (attacker.address() as AddressInfo).port;
});

afterAll(async () => {
  attacker?.closeAllConnections();
  await new Promise((resolve) => (attacker ? attacker.close(resolve) : resolve(undefined)));
});

/** The victim's state as the app sees it, asked with the victim's own cookies. */
async function victimState(): Promise<{ me: number; userId: unknown; cart: unknown; preferences: unknown }> {
  const me = await suite.page.request.get(suite.sample.url('/me'), { headers: { Accept: 'application/json' } });
  const userId = me.status() === 200 ? (await me.json()).user.id : undefined;
  const cart = await suite.page.request.get(suite.sample.url('/cart'), { headers: { Accept: 'application/json' } });
  const preferences = await suite.page.request.get(suite.sample.url('/preferences'), { headers: { Accept: 'application/json' } });
  return { me: me.status(), userId, cart: await cart.json(), preferences: await preferences.json() };
}

/** Opens an attack page and waits until its requests reached the app (form posts) or settled (fetch). */
async function runAttack(attackerOrigin: string, path: string): Promise<void> {
  if (path === '/fetch') {
    await suite.page.goto(attackerOrigin + path);
    await suite.page.waitForFunction(() => (globalThis as unknown as { document: { title: string } }).document.title === 'done');
    return;
  }
  const answered = suite.page.waitForResponse((r) => r.url().startsWith(suite.sample.origin) && r.request().method() === 'POST');
  await suite.page.goto(attackerOrigin + path);
  await answered;
}

/** `malicious_csrf` events of the security log that name this user (their session cookie reached the app). */
function refusalsOf(userId: unknown): { reason: string }[] {
  return suite.sample.harness
    .securityLog()
    .split('\n')
    .filter((line) => line.includes('"malicious_csrf"'))
    .map((line) => JSON.parse(line))
    .filter((event) => event.userId === userId);
}

describe.each([
  ['another origin of the same site (the session cookie goes along)', 'localhost'],
  ['another site', '127.0.0.1'],
])('an attacker page on %s', (_label, host) => {
  it.each(Object.keys(ATTACKS))('cannot change state with %s', async (path) => {
    await signIn(suite.page, suite.sample, 'alice');
    const before = await victimState();
    expect(before.me).toBe(200);
    const refusedBefore = refusalsOf(before.userId).length;

    await runAttack(`http://${host}:${attackerPort}`, path);

    const after = await victimState();
    expect(after).toEqual(before); // still signed in, same cart, same preferences
    if (host === 'localhost') {
      // The cookie did reach the app (same site), so it was the CSRF check that refused the forged request(s).
      // (The log file is written asynchronously: wait for the line.)
      await until(() => refusalsOf(before.userId).length > refusedBefore).catch(() => {
        throw new Error(
          `no malicious_csrf event for alice; the log has: ${suite.sample.harness
            .securityLog()
            .split('\n')
            .filter((l) => l.includes('csrf'))
            .join('\n')}`,
        );
      });
    }
  });
});

describe('the sign-out form (an HTML form post carrying _csrf)', () => {
  it('signs out without script, and the browser sends the page token in the _csrf field', async () => {
    await signIn(suite.page, suite.sample, 'alice');
    const noScript = await suite.browser.newContext({ javaScriptEnabled: false });
    await noScript.addCookies(await suite.browser.context.cookies(suite.sample.origin));
    const plain = await noScript.newPage();
    await plain.goto(suite.sample.url('/account'));
    const posted = plain.waitForRequest((r) => r.url() === suite.sample.url('/auth/logout') && r.method() === 'POST');
    const answered = plain.waitForResponse((r) => r.url() === suite.sample.url('/auth/logout'));
    await plain.getByTestId('logout').click();
    expect((await posted).postData()).toMatch(/^_csrf=[A-Za-z0-9_-]{64}$/);
    expect((await answered).status()).toBe(204);
    expect((await plain.request.get(suite.sample.url('/me'), { headers: { Accept: 'application/json' } })).status()).toBe(401);
    await noScript.close();
  });
});
