/** Steps through the sample's pages the way a person does: forms and buttons, no JSON calls. */
import type { Page } from 'playwright-core';
import { BrowserSample, PASSWORDS } from './sample-server';

/** Fills in and submits the /login form, and waits for the account page it leads to. */
export async function signIn(page: Page, sample: BrowserSample, username: keyof typeof PASSWORDS): Promise<void> {
  await page.goto(sample.url('/login'));
  const form = page.getByTestId('login-form');
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="password"]').fill(PASSWORDS[username]);
  await Promise.all([page.waitForURL(sample.url('/account')), form.getByRole('button', { name: 'Sign in' }).click()]);
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
