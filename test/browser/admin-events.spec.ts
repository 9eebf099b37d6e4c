/**
 * The `/admin` page's security events in a real browser (Debian's chromium through playwright-core): a hostile user
 * agent from the audit table shows as text and never runs, and the filter form (a plain GET, no script) narrows the
 * list by user and event type under the nonce-only CSP.
 */
import { useBrowserSample } from './support/browser-suite';
import { signIn } from './support/sample-pages';

const HOSTILE_AGENT = 'Mozilla/5.0 (X11) <script>alert(1)</script><img src=x onerror=alert(2)> Evil/1.0';

const suite = useBrowserSample();

beforeAll(async () => {
  // A failed sign-in for alice from a client whose user agent is an XSS probe.
  const attacker = suite.sample.harness.client(HOSTILE_AGENT);
  expect((await attacker.post('/auth/login', { username: 'alice', password: 'wrong-password-browser' })).status).toBe(401);
});

describe('the /admin events section', () => {
  it('shows a hostile user agent from the audit table as text without running it', async () => {
    await signIn(suite.page, suite.sample, 'bob');
    await suite.page.goto(suite.sample.url('/admin'));

    const hostile = suite.page.getByTestId('admin-event-row').filter({ hasText: '<script>alert(1)</script>' });
    await expect(hostile.count()).resolves.toBe(1);
    await expect(hostile.getByTestId('admin-event-agent').textContent()).resolves.toBe(HOSTILE_AGENT);
    await expect(hostile.getByTestId('admin-event-type').textContent()).resolves.toBe('authn_login_fail');
    // Nothing from the user agent became markup: every script is one of the page's own assets, no image was added.
    await expect(suite.page.locator('script:not([src^="/assets/"])').count()).resolves.toBe(0);
    await expect(suite.page.locator('main img').count()).resolves.toBe(0);
    expect(suite.watch.dialogs).toEqual([]);
    expect(suite.watch.problems()).toEqual([]);
  });

  it('filters by user and event type through its form', async () => {
    await signIn(suite.page, suite.sample, 'bob');
    await suite.page.goto(suite.sample.url('/admin'));
    const form = suite.page.getByTestId('admin-events-filter');
    await form.locator('select[name="userId"]').selectOption({ label: 'alice' });
    await form.locator('select[name="type"]').selectOption('authn_login_fail');
    await Promise.all([
      suite.page.waitForURL(/\/admin\?userId=[0-9a-f-]{36}&type=authn_login_fail$/),
      form.getByRole('button', { name: 'Filter' }).click(),
    ]);

    await expect(suite.page.getByTestId('admin-event-type').allTextContents()).resolves.toEqual(['authn_login_fail']);
    await expect(suite.page.getByTestId('admin-event-user').allTextContents()).resolves.toEqual(['alice']);
    // The form keeps the filter it shows.
    await expect(form.locator('select[name="type"]').inputValue()).resolves.toBe('authn_login_fail');

    await form.locator('select[name="type"]').selectOption('session_created');
    await Promise.all([suite.page.waitForURL(/type=session_created$/), form.getByRole('button', { name: 'Filter' }).click()]);
    await expect(suite.page.getByTestId('admin-event-row').count()).resolves.toBe(0);
    await expect(suite.page.getByTestId('admin-events-empty').isVisible()).resolves.toBe(true);
    expect(suite.watch.problems()).toEqual([]);
  });
});
