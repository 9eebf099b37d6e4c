/**
 * The login page against the brute-force defence in a real browser (chromium): after a few failures the page
 * solves the proof-of-work CAPTCHA by itself (WebCrypto, under the nonce-only CSP) and signs in; once the account is
 * locked it shows the lock message with the wait.
 */
import { useBrowserSample } from './support/browser-suite';
import { arriveAt } from './support/sample-pages';
import { PASSWORDS } from './support/sample-server';
import { BRUTE_FORCE_DEFAULTS } from '../e2e/sample-helpers';

const suite = useBrowserSample({ ...BRUTE_FORCE_DEFAULTS, LOCKOUT_THRESHOLD: '5' });

/** What went wrong in the page, apart from the refusals these tests cause on purpose (Chromium logs each 4xx fetch). */
function unexpectedProblems(): string[] {
  return suite.watch.problems().filter((p) => !/Failed to load resource: the server responded with a status of (401|429)/.test(p));
}

async function submit(username: string, password: string): Promise<void> {
  const form = suite.page.getByTestId('login-form');
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="password"]').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
}

/** Submits a wrong password and waits for the page's error message. */
async function fail(username: string, password: string): Promise<string> {
  const error = suite.page.getByTestId('login-error');
  await error.evaluate((el) => {
    el.textContent = '';
    el.setAttribute('hidden', '');
  });
  await submit(username, password);
  await error.waitFor({ state: 'visible' });
  return (await error.textContent()) ?? '';
}

describe('/login and the brute-force defence', () => {
  it('solves the CAPTCHA in the page after three failures and signs in', async () => {
    await suite.page.goto(suite.sample.url('/login'));
    for (let n = 1; n <= 3; n++) {
      expect(await fail('alice', `wrong-${n}`)).toContain('Wrong username or password');
      suite.sample.harness.clock.advance(60_000);
    }
    // The server now answers 401 CAPTCHA_REQUIRED first; the page solves the challenge and sends the form again.
    await submit('alice', PASSWORDS.alice);
    await arriveAt(suite.page, suite.sample.url('/account'), suite.page.getByTestId('login-form'), suite.watch);
    await expect(suite.page.getByTestId('username').textContent()).resolves.toBe('alice');
    expect(suite.watch.apiErrors.some((e) => e.startsWith('POST /auth/login 401') && e.includes('CAPTCHA_REQUIRED'))).toBe(true);
    expect(unexpectedProblems()).toEqual([]);
  });

  it('shows the lock message with the wait once the account is locked', async () => {
    await suite.page.goto(suite.sample.url('/login'));
    let last = '';
    for (let n = 1; n <= 6; n++) {
      last = await fail('bob', `wrong-${n}`);
      suite.sample.harness.clock.advance(60_000);
    }
    // Five failures lock bob for LOCKOUT_DURATION (15 minutes, minus the minute just advanced).
    expect(last).toMatch(/Too many failed attempts\. Try again in 14 minutes\./);
    expect(suite.watch.apiErrors.some((e) => e.startsWith('POST /auth/login 429'))).toBe(true);
    expect(unexpectedProblems()).toEqual([]);
  });
});
