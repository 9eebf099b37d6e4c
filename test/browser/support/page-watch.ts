/**
 * What a page did that a test should see: console errors (Chromium reports a CSP refusal there), failed API
 * calls of the page script (with the server's answer), uncaught exceptions, dialogs (`alert()` from injected script; dismissed so the page never hangs) and
 * `securitypolicyviolation` events, reported through a binding so that the page's CSP cannot block the report.
 */
import type { Page } from 'playwright-core';

/** Everything collected so far; arrays grow as the page runs. */
export interface PageWatch {
  consoleErrors: string[];
  pageErrors: string[];
  /** `type: message` of each dialog opened. */
  dialogs: string[];
  /** `directive blockedURI` of each CSP violation. */
  cspViolations: string[];
  /**
   * `METHOD path status body` of each fetch() by the page script that failed (4xx, 5xx). Not in `problems()`: a
   * page may meet one on purpose (401 REAUTH_REQUIRED opens the "confirm it is you" dialog); it explains failures.
   */
  apiErrors: string[];
  /** All of the above but `apiErrors`, labelled; `[]` for a page that behaved. */
  problems(): string[];
}

const CSP_BINDING = '__nskReportCspViolation';

/** Starts watching `page` (call before its first navigation). */
export async function watchPage(page: Page): Promise<PageWatch> {
  const watch: PageWatch = {
    consoleErrors: [],
    pageErrors: [],
    dialogs: [],
    cspViolations: [],
    apiErrors: [],
    problems: () => [
      ...watch.consoleErrors.map((m) => `console: ${m}`),
      ...watch.pageErrors.map((m) => `exception: ${m}`),
      ...watch.dialogs.map((m) => `dialog: ${m}`),
      ...watch.cspViolations.map((m) => `csp: ${m}`),
    ],
  };
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const { url } = message.location();
    // Chromium asks every site for /favicon.ico; the sample has none, and that 404 is not the page's doing.
    if (new URL(url || 'about:blank').pathname === '/favicon.ico') return;
    watch.consoleErrors.push(url ? `${message.text()} (${url})` : message.text());
  });
  page.on('response', (response) => {
    const request = response.request();
    if (response.status() < 400 || !['fetch', 'xhr'].includes(request.resourceType())) return;
    // Recorded at once (order kept); the body is added when it arrives.
    const index = watch.apiErrors.push(`${request.method()} ${new URL(response.url()).pathname} ${response.status()}`) - 1;
    response.text().then(
      (body) => (watch.apiErrors[index] += ` ${body.slice(0, 300)}`),
      () => undefined,
    );
  });
  page.on('pageerror', (error) => watch.pageErrors.push(error.message));
  page.on('dialog', (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss().catch(() => undefined);
  });
  await page.exposeBinding(CSP_BINDING, (_source, report: string) => {
    watch.cspViolations.push(report);
  });
  // Runs in the page before its own scripts; a plain string, since this project type-checks without DOM types.
  await page.addInitScript(
    `document.addEventListener('securitypolicyviolation', function (e) { window.${CSP_BINDING}(e.violatedDirective + ' ' + e.blockedURI); });`,
  );
  return watch;
}

/** Resolves once `check()` is true; fails after `timeoutMs` (events from the page arrive asynchronously). */
export async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
