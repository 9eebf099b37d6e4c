/**
 * Cookie tossing from a sibling host cannot fix or shadow the session (CR-03), in chromium.
 *
 * The app is served over HTTPS as `https://app.nsk.test:PORT` and the attacker controls a sibling,
 * `https://evil.nsk.test:PORT2` (see support/tls.ts for why these names and TLS). The attacker holds a valid
 * session of their own and tries to plant it in the victim's browser for the app, from script (`document.cookie`)
 * and from its server (`Set-Cookie`), in every shape a sibling could: for the parent domain, for the app's host,
 * for a deeper path that would be sent first, with the name's prefix in another case. The session cookie is
 * `__Host-sid`, and the browser refuses every one of them: a `__Host-` cookie must be set by the host itself,
 * without `Domain`, with `Path=/` and `Secure`. So the app never receives the attacker's token: not before the
 * victim signs in (fixation), not after (shadowing).
 *
 * The control shows the setup can toss: cookies without the `__Host-` prefix, set by the sibling for the parent
 * domain, do reach the app. (That is why the sample's plain-HTTP mode, `COOKIE_SECURE=false`, whose cookie is the
 * unprefixed `sid`, loses this protection, as its configuration says; the library then trusts neither of two
 * same-name cookies, which test/e2e/sample-auth.spec.ts checks.)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Page } from 'playwright-core';
import { SampleHarness, startSample } from '../e2e/sample-helpers';
import { BrowserSession, launchChromium } from './support/chromium';
import { signIn } from './support/sample-pages';
import type { BrowserSample } from './support/sample-server';
import { serveTls, testCertificate, TEST_DOMAIN, TEST_HOSTS_CHROMIUM_ARG, TlsServer } from './support/tls';

const SESSION_COOKIE = '__Host-sid';

let harness: SampleHarness;
let app: TlsServer;
let evil: TlsServer;
let browser: BrowserSession;
let sample: BrowserSample;
let page: Page;
/** The `Cookie` header of every request the app received, in order. */
let cookiesAtApp: string[];

let harnessStart: Promise<SampleHarness> | undefined;
let browserStart: Promise<BrowserSession> | undefined;

/**
 * The sibling's server: `/toss?line=...&line=...` answers with one `Set-Cookie` per `line` (the attacker's
 * server-side attempt), any other path a page whose script the test drives (the attacker's script).
 */
function evilSite(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'https://evil');
  if (url.pathname === '/toss') res.setHeader('Set-Cookie', url.searchParams.getAll('line'));
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end('<!doctype html><title>evil sibling</title><p>nothing to see</p>');
}

beforeAll(async () => {
  harnessStart = startSample();
  browserStart = launchChromium({ ignoreHTTPSErrors: true }, [TEST_HOSTS_CHROMIUM_ARG]);
  const credentials = await testCertificate();
  [harness, browser] = await Promise.all([harnessStart, browserStart]);
  // The same app the e2e suites boot, reached over TLS: its Express instance serves the HTTPS server too.
  const express = harness.app.getHttpAdapter().getInstance() as (req: IncomingMessage, res: ServerResponse) => void;
  app = await serveTls(credentials, (req, res) => {
    cookiesAtApp.push(req.headers.cookie ?? '');
    express(req, res);
  });
  evil = await serveTls(credentials, evilSite);
  const origin = app.origin('app');
  sample = { harness, origin, url: (path) => origin + path, close: () => harness.close() };
});

afterAll(async () => {
  await Promise.allSettled([browserStart?.then((b) => b.close()), app?.close(), evil?.close()]);
  await harnessStart?.then((h) => h.close());
});

beforeEach(async () => {
  await browser.context.clearCookies();
  cookiesAtApp = [];
  page = await browser.newPage();
});

afterEach(async () => {
  await page?.close();
});

/** Every way a sibling host could try to plant `name=value` for the app. */
function tossAttempts(name: string, value: string): string[] {
  const appHost = `app.${TEST_DOMAIN}`;
  return [
    `${name}=${value}; Domain=${TEST_DOMAIN}; Path=/; Secure; SameSite=Lax`,
    `${name}=${value}; Domain=${appHost}; Path=/; Secure`,
    // A longer path is sent before the app's own Path=/ cookie: the classic way to shadow it.
    `${name}=${value}; Domain=${TEST_DOMAIN}; Path=/account; Secure`,
    `${name}=${value}; Domain=${TEST_DOMAIN}; Path=/me; Secure`,
    // Host-only for the sibling: a __Host- cookie it may set, but for itself alone.
    `${name}=${value}; Path=/; Secure`,
    // The prefix in other cases (browsers match it case-insensitively since RFC 6265bis).
    `${name.toLowerCase()}=${value}; Domain=${TEST_DOMAIN}; Path=/; Secure`,
    `${name.toUpperCase()}=${value}; Domain=${TEST_DOMAIN}; Path=/; Secure`,
  ];
}

/** The attacker's sibling tries every line, from its server and from its page's script. */
async function toss(lines: string[]): Promise<void> {
  const query = lines.map((line) => `line=${encodeURIComponent(line)}`).join('&');
  await page.goto(`${evil.origin('evil')}/toss?${query}`);
  await page.evaluate((all) => {
    const doc = (globalThis as unknown as { document: { cookie: string } }).document;
    for (const line of all) doc.cookie = line;
  }, lines);
}

/** The values the app received for cookies named `name` (exactly, as the server reads names). */
function receivedValues(name: string): string[] {
  return cookiesAtApp.flatMap((header) =>
    header
      .split(';')
      .map((pair) => pair.trim())
      .filter((pair) => pair.startsWith(`${name}=`))
      .map((pair) => pair.slice(name.length + 1)),
  );
}

/** A valid session of the attacker's own (bob), as a token to plant. */
async function attackerToken(): Promise<string> {
  const attacker = harness.client();
  await attacker.login('bob');
  return attacker.token!;
}

describe('cookie tossing from a sibling host (CR-03)', () => {
  it("cannot fix the session: the attacker's token never reaches the app, and the victim signs in as themselves", async () => {
    const token = await attackerToken();
    await toss(tossAttempts(SESSION_COOKIE, token));

    // Before sign-in: the app sees no session at all (it would show bob's account if the token had arrived).
    await page.goto(sample.url('/account'));
    expect(page.url()).toBe(sample.url('/login'));
    await signIn(page, sample, 'alice');
    await expect(page.getByTestId('account-username').textContent()).resolves.toBe('alice');

    expect(receivedValues(SESSION_COOKIE)).not.toContain(token);
    expect(cookiesAtApp.join('\n')).not.toContain(token);
    const appCookies = (await browser.context.cookies(sample.origin)).filter((c) => c.name.toLowerCase() === SESSION_COOKIE.toLowerCase());
    expect(appCookies).toHaveLength(1);
    expect(appCookies[0]).toMatchObject({ domain: `app.${TEST_DOMAIN}`, path: '/', secure: true, httpOnly: true });
  });

  it('cannot shadow a signed-in session: after the tossing, every request still carries the one session cookie', async () => {
    await signIn(page, sample, 'alice');
    const token = await attackerToken();
    await toss(tossAttempts(SESSION_COOKIE, token));
    cookiesAtApp = [];

    for (const path of ['/account', '/sessions', '/me']) await page.goto(sample.url(path));
    await page.goto(sample.url('/account'));
    await expect(page.getByTestId('account-username').textContent()).resolves.toBe('alice');

    // Every request of the walk carried exactly one session cookie, and it was alice's.
    expect(cookiesAtApp.length).toBeGreaterThanOrEqual(4);
    const mine = (await browser.context.cookies(sample.origin)).find((c) => c.name === SESSION_COOKIE)!.value;
    for (const header of cookiesAtApp) {
      const sessionPairs = header
        .split(';')
        .map((p) => p.trim())
        .filter((p) => p.toLowerCase().startsWith(`${SESSION_COOKIE.toLowerCase()}=`));
      expect(sessionPairs).toEqual([`${SESSION_COOKIE}=${mine}`]);
    }
  });

  it('the control: without the __Host- prefix, the same tossing does reach the app', async () => {
    const token = await attackerToken();
    await toss([...tossAttempts('sid', token), ...tossAttempts('__Secure-sid', token)]);
    await page.goto(sample.url('/login'));

    // The parent-domain cookies arrive (Path=/ and, on /account, the deeper ones): a sibling can toss these.
    expect(receivedValues('sid')).toContain(token);
    expect(receivedValues('__Secure-sid')).toContain(token);
  });
});
