/** Steps through the sample's pages the way a person does: forms and buttons, no JSON calls. */
import type { Locator, Page } from 'playwright-core';
import type { PageWatch } from './page-watch';
import { BrowserSample, PASSWORDS } from './sample-server';

/** Fills in and submits the /login form, and waits for the account page it leads to. */
export async function signIn(page: Page, sample: BrowserSample, username: keyof typeof PASSWORDS): Promise<void> {
  await page.goto(sample.url('/login'));
  const form = page.getByTestId('login-form');
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="password"]').fill(PASSWORDS[username]);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await arriveAt(page, sample.url('/account'), form);
}

/**
 * Waits for the page a form leads to. When it does not get there, the failure says what the form showed (the
 * page script writes the server's error into the form's `[data-error]` box, the passkey script into `[data-passkey-error]`),
 * not only that the wait timed out.
 */
export async function arriveAt(page: Page, url: string, form: Locator, watch?: PageWatch): Promise<void> {
  try {
    await page.waitForURL(url, { timeout: 15_000 });
  } catch (error) {
    const shown = await form
      .locator('[data-error], [data-passkey-error]')
      .filter({ hasText: /\S/ })
      .first()
      .textContent({ timeout: 1_000 })
      .catch(() => null);
    throw new Error(
      `${(error as Error).message}
still at ${page.url()}; the form shows: ${shown?.trim() || '(nothing)'}` +
        (watch ? `\nthe page saw: ${JSON.stringify([...watch.problems(), ...watch.apiErrors.map((m) => `api: ${m}`)])}` : ''),
    );
  }
}

/** The part of the page's `document` used here (the project type-checks without the DOM library). */
type CookieDocument = { document: { cookie: string } };

/** The text `document.cookie` shows the page's scripts. */
export function scriptVisibleCookies(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as CookieDocument).document.cookie);
}

/** Sets a cookie from the page's script, as `document.cookie = line` does. */
export async function writeScriptCookie(page: Page, line: string): Promise<void> {
  await page.evaluate((value) => {
    (globalThis as unknown as CookieDocument).document.cookie = value;
  }, line);
}
