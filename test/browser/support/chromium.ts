/**
 * Debian's chromium driven by playwright-core (which downloads no browser of its own). One browser per test
 * file, on a fresh temporary profile; `close()` ends the browser and removes the profile.
 *
 * There is no skip: without /usr/bin/chromium the suite fails with what to install
 * (`scripts/ensure-services.sh`, run by `npm test` and CI, installs it).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserContext, BrowserContextOptions, chromium, Page } from 'playwright-core';

/** The browser the tests drive; `CHROMIUM_PATH` points elsewhere on a machine that keeps it elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for a headless run as root in a container: no sandbox (root cannot use it), no GPU, and none of the
 * background traffic (QUIC, component updates, sync, first-run pages) that would slow start-up or reach out.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Longest wait for chromium to start (it takes about a second here). */
const LAUNCH_TIMEOUT_MS = 30_000;

/** A running chromium: its persistent context (the fresh profile), plus any isolated contexts opened from it. */
export interface BrowserSession {
  /** The main context, on the fresh profile. */
  context: BrowserContext;
  /** A new tab in the main context. */
  newPage(): Promise<Page>;
  /**
   * Another context of the same browser with its own cookie jar (another device, e.g. with another user agent).
   * Closed by `close()`.
   */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** Closes every context and the browser, removes the profile. Idempotent. */
  close(): Promise<void>;
}

/**
 * Launches chromium headless on a fresh profile directory, with {@link CHROMIUM_ARGS} and `extraArgs` (e.g. a
 * `--host-resolver-rules` mapping test host names to loopback).
 */
export async function launchChromium(options: BrowserContextOptions = {}, extraArgs: string[] = []): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Browser tests need chromium at ${CHROMIUM_PATH}: run \`apt-get install -y chromium\` ` +
        '(scripts/ensure-services.sh does it), or set CHROMIUM_PATH.',
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'nsk-chromium-'));
  let context: BrowserContext;
  try {
    // A start that hangs fails well inside jest's 60 s hook timeout, so the file reports it and closes the rest.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS, ...extraArgs],
      timeout: LAUNCH_TIMEOUT_MS,
      ...options,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  const others: BrowserContext[] = [];
  let closed = false;
  return {
    context,
    newPage: () => context.newPage(),
    newContext: async (contextOptions = {}) => {
      const browser = context.browser();
      if (!browser) throw new Error('This playwright-core gives no Browser for a persistent context: launch a second one instead.');
      const other = await browser.newContext(contextOptions);
      others.push(other);
      return other;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        for (const other of others) await other.close();
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
