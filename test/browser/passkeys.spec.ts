/**
 * Passkeys on the sample's pages in chromium, with a CDP virtual authenticator (a platform passkey): alice adds a
 * passkey from /account (the page's nonce'd script runs `navigator.credentials.create()`), signs out, signs in again
 * and completes the second step with the passkey (`navigator.credentials.get()`), ending on /account at AAL2; later
 * it removes the passkey, confirming with password and passkey in the "confirm it is you" dialog. Adding a passkey on
 * a stale sign-in opens that same dialog, then goes on. The page is served from http://localhost, so the RP ID is `localhost` (PUBLIC_ORIGIN unset: derived for localhost only).
 */
import { useBrowserSample } from './support/browser-suite';
import { arriveAt, signIn } from './support/sample-pages';
import { PASSWORDS } from './support/sample-server';
import { addVirtualAuthenticator, VirtualAuthenticator } from './support/webauthn';

let authenticator: VirtualAuthenticator | undefined;

const REAUTH_MAX_AGE_MS = 5 * 60_000;

const suite = useBrowserSample();

// After the suite's own beforeEach, so the test's new tab is there.
beforeEach(async () => {
  authenticator = await addVirtualAuthenticator(suite.page);
});

afterEach(async () => {
  await authenticator?.remove().catch(() => undefined);
});

describe('a passkey as the second factor, through the pages', () => {
  it('is added on /account, completes the next sign-in at AAL2, and is removed after re-authenticating with it', async () => {
    await signIn(suite.page, suite.sample, 'alice');
    await expect(suite.page.getByTestId('account-aal').textContent()).resolves.toBe('AAL1');
    await suite.page.getByTestId('passkey-status').filter({ hasText: 'No passkey yet.' }).waitFor();

    const section = suite.page.getByTestId('passkeys');
    await section.locator('input[data-passkey-name]').fill('Virtual <laptop>');
    await Promise.all([suite.page.waitForEvent('load'), suite.page.getByTestId('passkey-add').click()]);

    const item = suite.page.getByTestId('passkey-item');
    await item.first().waitFor();
    await expect(item.count()).resolves.toBe(1);
    // The label is text, never markup.
    await expect(item.first().textContent()).resolves.toContain('Virtual <laptop>');
    await expect(suite.page.getByTestId('account-aal').textContent()).resolves.toBe('AAL2');
    const held = await authenticator!.credentials();
    expect(held).toHaveLength(1);
    expect(held[0].rpId).toBe('localhost');

    await Promise.all([suite.page.waitForURL(suite.sample.url('/login')), suite.page.getByTestId('logout').click()]);

    const form = suite.page.getByTestId('login-form');
    await form.locator('input[name="username"]').fill('alice');
    await form.locator('input[name="password"]').fill(PASSWORDS.alice);
    await form.getByRole('button', { name: 'Sign in' }).click();
    const usePasskey = suite.page.getByTestId('passkey-signin');
    await usePasskey.waitFor({ state: 'visible' });
    await usePasskey.click();
    // On failure this says what the step showed (the passkey error box) and what the page saw, not only a timeout.
    await arriveAt(suite.page, suite.sample.url('/account'), suite.page.getByTestId('mfa-form'), suite.watch);

    await expect(suite.page.getByTestId('account-username').textContent()).resolves.toBe('alice');
    await expect(suite.page.getByTestId('account-aal').textContent()).resolves.toBe('AAL2');
    expect((await authenticator!.credentials())[0].signCount).toBeGreaterThan(0);

    // Later, removing it needs a recent sign-in: the dialog takes the password and the passkey, then the removal runs.
    suite.sample.harness.clock.advance(REAUTH_MAX_AGE_MS + 1000);
    await suite.page.getByTestId('passkey-remove').click();
    const dialog = suite.page.getByTestId('reauth-dialog');
    await dialog.waitFor({ state: 'visible' });
    await dialog.locator('input[name="password"]').fill(PASSWORDS.alice);
    await Promise.all([suite.page.waitForEvent('load'), dialog.getByTestId('passkey-reauth').click()]);
    await suite.page.getByTestId('passkey-status').filter({ hasText: 'No passkey yet.' }).waitFor();
    await expect(suite.page.getByTestId('account-aal').textContent()).resolves.toBe('AAL2');
    // Chromium logs the removal's first answer (401 REAUTH_REQUIRED, which opened the dialog) as a failed load.
    const expected = /status of 401 .*\/account\/mfa\/passkeys\/[0-9a-f-]{36}\)$/;
    expect(suite.watch.problems().filter((p) => !expected.test(p))).toEqual([]);
  });

  // bob, not alice: the sample is shared by the file, and this must not depend on the test above having removed
  // alice's passkey (when that one fails, alice's next sign-in stops at the second step).
  it('on a stale sign-in, "Add a passkey" opens the "confirm it is you" dialog and then adds the passkey', async () => {
    await signIn(suite.page, suite.sample, 'bob');
    await suite.page.getByTestId('passkey-status').filter({ hasText: 'No passkey yet.' }).waitFor();
    suite.sample.harness.clock.advance(REAUTH_MAX_AGE_MS + 1000);

    await suite.page.getByTestId('passkey-add').click();
    const dialog = suite.page.getByTestId('reauth-dialog');
    await dialog.waitFor({ state: 'visible' });
    await dialog.locator('input[name="password"]').fill(PASSWORDS.bob);
    // Confirming re-authenticates, then the add goes on by itself: the ceremony runs and the page reloads.
    await Promise.all([suite.page.waitForEvent('load'), dialog.getByRole('button', { name: 'Confirm', exact: true }).click()]);

    await suite.page.getByTestId('passkey-item').first().waitFor();
    await expect(suite.page.getByTestId('passkey-item').count()).resolves.toBe(1);
    await expect(suite.page.getByTestId('account-aal').textContent()).resolves.toBe('AAL2');
    expect(await authenticator!.credentials()).toHaveLength(1);
    // Chromium logs the first answer (401 REAUTH_REQUIRED, which opened the dialog) as a failed load.
    const expected = /status of 401 .*\/account\/mfa\/passkeys\/options\)$/;
    expect(suite.watch.problems().filter((p) => !expected.test(p))).toEqual([]);
    expect(suite.watch.apiErrors).toEqual([expect.stringMatching(/^POST \/account\/mfa\/passkeys\/options 401 .*REAUTH_REQUIRED/)]);
  });
});
