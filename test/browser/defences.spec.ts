/**
 * The defences around the session, as a real browser (Debian's chromium) applies them to the sample:
 * - HD-01: a page of another site cannot frame the app (the frames never render it);
 * - HD-02: user-controlled values shown in pages (wizard fields; the user agent is in sample-pages.spec.ts) stay
 *   text, and markup injected into a page anyway cannot run script (nonce-only CSP, no inline handlers);
 * - HD-04: the session token never reaches script: not in `document.cookie`, web storage, the HTML of a page, a
 *   response body the page's script reads, or a URL;
 * - the back button after sign-out shows no account data (no-store pages are fetched again, not restored), and
 *   sign-out's `Clear-Site-Data` empties the site's web storage, on http://localhost and http://127.0.0.1 alike.
 *
 * One sample app, one "other site" server and one browser for the file; each test starts with no cookies and its
 * own tab.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response } from 'playwright-core';
import { useBrowserSample } from './support/browser-suite';
import { until } from './support/page-watch';
import { scriptVisibleCookies, signIn } from './support/sample-pages';

const SESSION_COOKIE = '__Host-sid';

const suite = useBrowserSample();
let otherSite: { origin: string; server: Server };
let otherSiteCacheableHits = 0;
/** While true, the sample's answers go out without `Clear-Site-Data` (reset before each test). */
let dropClearSiteData = false;
let otherStart: Promise<{ origin: string; server: Server }> | undefined;

/**
 * Another site on loopback (`http://127.0.0.1:PORT`, while the sample is `http://localhost:PORT`: another host,
 * another site). `/frame?src=URL&src=URL` is a page that frames each URL and counts the frames' load events in
 * `window.framesLoaded` (a blocked frame loads Chromium's error page, which fires `load` too); `/plain` is a page
 * with no framing protection, the control that shows a frame that does render is seen as rendered.
 * `/cacheable` is a page kept by the browser (`private, max-age=600`, what a page without `no-store` would be), the
 * control of the back-button test; `cacheableHits` counts its requests.
 */
function startOtherSite(): Promise<{ origin: string; server: Server }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    if (url.pathname === '/frame') {
      const frames = url.searchParams
        .getAll('src')
        .map((src, i) => `<iframe name="f${i}" src="${src.replace(/"/g, '&quot;')}" onload="window.framesLoaded++"></iframe>`)
        .join('\n');
      res.end(`<!doctype html><title>other site</title><script>window.framesLoaded = 0;</script>\n${frames}`);
      return;
    }
    if (url.pathname === '/cacheable') {
      otherSiteCacheableHits++;
      res.setHeader('Cache-Control', 'private, max-age=600');
      res.end('<!doctype html><title>cacheable</title><p data-testid="account-username">alice</p><a href="/plain">sign out</a>');
      return;
    }
    res.end('<!doctype html><title>plain</title><p data-testid="plain">a page anyone may frame</p>');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }));
  });
}

beforeAll(async () => {
  otherStart = startOtherSite();
  otherSite = await otherStart;
  // Runs before Express for every request: drops the header when a test asks for it.
  (suite.sample.harness.app.getHttpServer() as Server).prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    const setHeader = res.setHeader.bind(res);
    res.setHeader = (name, value) => (dropClearSiteData && name.toLowerCase() === 'clear-site-data' ? res : setHeader(name, value));
  });
});

afterAll(async () => {
  await otherStart?.then(({ server }) => new Promise((resolve) => server.close(resolve)));
});

beforeEach(() => {
  dropClearSiteData = false;
});

/** The browser's `window`, as far as these tests use it (the project type-checks without the DOM library). */
type TestWindow = {
  framesLoaded: number;
  localStorage: { setItem(k: string, v: string): void; getItem(k: string): string | null; length: number; key(i: number): string | null };
  sessionStorage: TestWindow['localStorage'];
  document: { body: { insertAdjacentHTML(where: string, html: string): void } };
  __injected?: boolean;
};

describe('framing (HD-01)', () => {
  it('a page of another site cannot frame /login or /account, signed in or not; a framable page does render', async () => {
    await signIn(suite.page, suite.sample, 'alice');
    const framed = [
      suite.sample.url('/login'),
      suite.sample.url('/account'),
      `${otherSite.origin.replace('127.0.0.1', 'localhost')}/plain`,
    ];
    const parent = `${otherSite.origin}/frame?${framed.map((src) => `src=${encodeURIComponent(src)}`).join('&')}`;

    await suite.page.goto(parent);
    await suite.page.waitForFunction(`window.framesLoaded === ${framed.length}`);

    const children = suite.page.mainFrame().childFrames();
    expect(children).toHaveLength(framed.length);
    const byName = new Map(children.map((frame) => [frame.name(), frame]));
    for (const name of ['f0', 'f1']) {
      const frame = byName.get(name)!;
      // Chromium replaced the refused document with its error page: nothing of the app is in the frame.
      expect(frame.url()).not.toContain(suite.sample.origin);
      const content = await frame.content();
      expect(content).not.toContain('data-testid');
      expect(content).not.toContain('alice');
    }
    // The control: a page without the protection, framed the same way, is there.
    await expect(byName.get('f2')!.getByTestId('plain').textContent()).resolves.toBe('a page anyone may frame');
    // Chromium names the reason, for both frames.
    await until(() => suite.watch.consoleErrors.filter((m) => m.includes("frame-ancestors 'none'")).length === 2);
  });
});

describe('user-controlled values in pages (HD-02)', () => {
  const PROBES = {
    name: `"><script>alert('name')</script><img src=x onerror=alert('img')>`,
    street: `' onfocus=alert('street') autofocus x='`,
    city: `</label><svg onload=alert('city')>`,
  };

  it('wizard fields holding markup come back as the same text, and nothing in them runs', async () => {
    await signIn(suite.page, suite.sample, 'alice');
    await suite.page.goto(suite.sample.url('/wizard'));
    const step1 = suite.page.getByTestId('wizard-step-1');
    await step1.locator('input[name="name"]').fill(PROBES.name);
    await step1.locator('input[name="email"]').fill('alice@example.com');
    await step1.getByRole('button', { name: 'Save step 1' }).click();
    await suite.page.getByTestId('wizard-status').filter({ hasText: 'Step 2 of 3' }).waitFor();
    const step2 = suite.page.getByTestId('wizard-step-2');
    await step2.locator('input[name="street"]').fill(PROBES.street);
    await step2.locator('input[name="city"]').fill(PROBES.city);
    await step2.locator('input[name="postalCode"]').fill('75001');
    await step2.locator('input[name="country"]').fill('FR');
    await step2.getByRole('button', { name: 'Save step 2' }).click();
    await suite.page.getByTestId('wizard-status').filter({ hasText: 'Step 3 of 3' }).waitFor();

    // A fresh load of the page the server rendered with the saved values.
    await suite.page.reload();
    await expect(suite.page.locator('input[name="name"]').inputValue()).resolves.toBe(PROBES.name);
    await expect(suite.page.locator('input[name="street"]').inputValue()).resolves.toBe(PROBES.street);
    await expect(suite.page.locator('input[name="city"]').inputValue()).resolves.toBe(PROBES.city);
    // No element came out of the values: the page's own scripts only, no image, no svg; nothing ran or was refused.
    await expect(suite.page.locator('script:not([src^="/assets/"])').count()).resolves.toBe(0);
    await expect(suite.page.locator('main img, main svg').count()).resolves.toBe(0);
    expect(suite.watch.problems()).toEqual([]);
  });

  it('markup that does get into a page cannot run: an inline handler and an inline script are refused by the CSP', async () => {
    await signIn(suite.page, suite.sample, 'alice');
    await suite.page.goto(suite.sample.url('/account'));
    // As an escaping bug would: markup straight into the document.
    await suite.page.evaluate(() => {
      const w = globalThis as unknown as TestWindow;
      w.document.body.insertAdjacentHTML('beforeend', '<img src="/assets/none.png" onerror="window.__injected = true">');
      w.document.body.insertAdjacentHTML('beforeend', '<svg onload="window.__injected = true"></svg>');
    });
    await until(() => suite.watch.cspViolations.filter((v) => v.startsWith('script-src-attr')).length >= 2);
    await suite.page.addScriptTag({ content: 'window.__injected = true;' }).catch(() => undefined);
    await until(() => suite.watch.cspViolations.some((v) => /^script-src(-elem)? inline/.test(v)));
    expect(await suite.page.evaluate(() => (globalThis as unknown as TestWindow).__injected === true)).toBe(false);
    expect(suite.watch.dialogs).toEqual([]);
  });
});

describe('the session token never reaches script (HD-04)', () => {
  it('after sign-in and a tour of the pages: not in document.cookie, web storage, page HTML, bodies read by script, or URLs', async () => {
    const tokens = new Set<string>();
    const bodies: Array<{ url: string; body: string }> = [];
    const urls: string[] = [];
    suite.page.on('request', (request) => urls.push(request.url()));
    suite.page.on('response', (response: Response) => {
      void response.headerValues('set-cookie').then((lines) => {
        for (const line of lines) {
          const match = new RegExp(`^${SESSION_COOKIE}=([^;]+)`).exec(line);
          if (match) tokens.add(match[1]);
        }
      });
    });
    // The bodies the page's script reads (fetch), taken on the way: Chromium drops a body once the page moves on
    // (sign-in navigates as soon as its answer is in), so reading them afterwards from the response is unreliable.
    await suite.page.route(
      (url) => url.origin === suite.sample.origin,
      async (route) => {
        if (route.request().resourceType() !== 'fetch') return route.continue();
        const response = await route.fetch();
        bodies.push({ url: route.request().url(), body: await response.text() });
        return route.fulfill({ response });
      },
    );

    await signIn(suite.page, suite.sample, 'alice');
    for (const path of ['/account', '/sessions', '/cart', '/wizard']) {
      await suite.page.goto(suite.sample.url(path));
      const html = await suite.page.content();
      const cookies = await scriptVisibleCookies(suite.page);
      const storage = await suite.page.evaluate(() => {
        const w = globalThis as unknown as TestWindow;
        const dump = (s: TestWindow['localStorage']): string[] =>
          Array.from({ length: s.length }, (_, i) => `${s.key(i)}=${s.getItem(s.key(i) ?? '')}`);
        return [...dump(w.localStorage), ...dump(w.sessionStorage)].join('\n');
      });
      for (const token of tokens) {
        expect(html).not.toContain(token);
        expect(cookies).not.toContain(token);
        expect(storage).not.toContain(token);
      }
      expect(cookies).not.toContain(SESSION_COOKIE);
    }

    const current = (await suite.browser.context.cookies(suite.sample.origin)).find((c) => c.name === SESSION_COOKIE);
    expect(current?.httpOnly).toBe(true);
    tokens.add(current!.value);
    // The tokens were seen (the sign-in set one), so the checks above compared against something.
    expect(tokens.size).toBeGreaterThan(0);
    expect(bodies.map((b) => new URL(b.url).pathname)).toEqual(expect.arrayContaining(['/auth/csrf', '/auth/login']));
    for (const token of tokens) {
      for (const { url, body } of bodies) expect(`${url}: ${body.includes(token) ? 'contains the token' : 'clean'}`).toBe(`${url}: clean`);
      for (const url of urls) expect(url).not.toContain(token);
    }
  });
});

describe('after sign-out', () => {
  /**
   * Signs in, opens /account, signs out with the page's button, presses back; checks the browser asked the server
   * for /account again and shows the sign-in page. With `withoutClearSiteData`, the logout answer reaches the page
   * without its `Clear-Site-Data` header (dropped at the server, see beforeAll; not with `page.route`, since
   * intercepting requests turns Chromium's HTTP cache off and would hide the very thing tested), so `no-store` alone
   * has to keep the page away.
   */
  async function backAfterSignOut(withoutClearSiteData: boolean): Promise<void> {
    dropClearSiteData = withoutClearSiteData;
    await signIn(suite.page, suite.sample, 'alice');
    await expect(suite.page.getByTestId('account-username').textContent()).resolves.toBe('alice');
    const logout = suite.page.waitForResponse(suite.sample.url('/auth/logout'));
    await Promise.all([suite.page.waitForURL(suite.sample.url('/login')), suite.page.getByTestId('logout').click()]);
    expect((await (await logout).allHeaders())['clear-site-data']).toBe(withoutClearSiteData ? undefined : '"cache", "storage"');

    const accountRequests: string[] = [];
    suite.page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/account') accountRequests.push(request.method());
    });
    // goBack() settles once the history entry has loaded, after the server's redirect if it sent one.
    await suite.page.goBack();

    // Not restored from the back/forward cache nor the HTTP cache: the browser asked the server again, which
    // answered the signed-out visitor with the sign-in page.
    expect(accountRequests).toEqual(['GET']);
    expect(suite.page.url()).toBe(suite.sample.url('/login'));
    await expect(suite.page.getByTestId('login-form').isVisible()).resolves.toBe(true);
    await expect(suite.page.getByTestId('account-username').count()).resolves.toBe(0);
    await expect(suite.page.getByTestId('username').count()).resolves.toBe(0);
  }

  it('the back button shows no account data: /account is fetched again and sends the visitor to /login', async () => {
    await backAfterSignOut(false);
  });

  it('no-store alone keeps it so: the same with Clear-Site-Data left off the logout answer', async () => {
    await backAfterSignOut(true);
  });

  it('the check can fail: a page the browser may keep is shown again by the back button without asking the server', async () => {
    const origin = otherSite.origin.replace('127.0.0.1', 'localhost');
    const hitsBefore = otherSiteCacheableHits;
    await suite.page.goto(`${origin}/cacheable`);
    await Promise.all([suite.page.waitForURL(`${origin}/plain`), suite.page.getByRole('link', { name: 'sign out' }).click()]);
    await suite.page.goBack();
    await suite.page.waitForURL(`${origin}/cacheable`);
    expect(otherSiteCacheableHits - hitsBefore).toBe(1);
    await expect(suite.page.getByTestId('account-username').textContent()).resolves.toBe('alice');
  });

  for (const host of ['localhost', '127.0.0.1']) {
    it(`Clear-Site-Data empties the site's web storage (http://${host}, a secure context)`, async () => {
      const origin = suite.sample.origin.replace('localhost', host);
      await suite.page.goto(`${origin}/login`);
      const form = suite.page.getByTestId('login-form');
      await form.locator('input[name="username"]').fill('alice');
      await form.locator('input[name="password"]').fill('alice-correct-horse-1');
      await Promise.all([suite.page.waitForURL(`${origin}/account`), form.getByRole('button', { name: 'Sign in' }).click()]);
      // What a page might have left behind: a draft in localStorage, a step in sessionStorage.
      await suite.page.evaluate(() => {
        const w = globalThis as unknown as TestWindow;
        w.localStorage.setItem('draft', 'account data');
        w.sessionStorage.setItem('step', 'account data');
      });

      await Promise.all([suite.page.waitForURL(`${origin}/login`), suite.page.getByTestId('logout').click()]);

      const left = await suite.page.evaluate(() => {
        const w = globalThis as unknown as TestWindow;
        return [w.localStorage.getItem('draft'), w.sessionStorage.getItem('step')];
      });
      expect(left).toEqual([null, null]);
      expect(suite.watch.problems()).toEqual([]);
    });
  }
});
