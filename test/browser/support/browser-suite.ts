import type { Page } from 'playwright-core';
import { BrowserSession, launchChromium } from './chromium';
import { PageWatch, watchPage } from './page-watch';
import { BrowserSample, startBrowserSample } from './sample-server';
import type { SampleEnv } from '../../../sample/src/config';

/** What a browser spec works with; read the fields inside hooks and tests (they are set by the suite's hooks). */
export interface BrowserSuite {
  /** The sample app, started once for the file. */
  readonly sample: BrowserSample;
  /** Chromium, launched once for the file. */
  readonly browser: BrowserSession;
  /** The current test's tab: new for each test, with no cookies in the browser. */
  readonly page: Page;
  /** What went wrong in the current tab (console errors, failed requests, CSP reports). */
  readonly watch: PageWatch;
}

/**
 * The set-up every sample browser spec shares: one sample app (with `env`) and one chromium for the file, started
 * together; before each test the browser's cookies are cleared and a new watched tab opens; after it the tab
 * closes; after the file both stop, whichever of them started (a sample left listening keeps jest from exiting).
 * Register spec-specific hooks after calling it: jest runs `beforeAll`/`beforeEach` hooks in the order they were
 * registered, so they see the sample, the browser and the tab.
 */
export function useBrowserSample(env: SampleEnv = {}): BrowserSuite {
  let sample: BrowserSample | undefined;
  let browser: BrowserSession | undefined;
  let page: Page | undefined;
  let watch: PageWatch | undefined;
  let sampleStart: Promise<BrowserSample> | undefined;
  let browserStart: Promise<BrowserSession> | undefined;

  beforeAll(async () => {
    sampleStart = startBrowserSample(env);
    browserStart = launchChromium();
    [sample, browser] = await Promise.all([sampleStart, browserStart]);
  });

  afterAll(async () => {
    await Promise.allSettled([browserStart?.then((b) => b.close()), sampleStart?.then((s) => s.close())]);
  });

  beforeEach(async () => {
    await ready(browser, 'browser').context.clearCookies();
    page = await ready(browser, 'browser').newPage();
    watch = await watchPage(page);
  });

  afterEach(async () => {
    await page?.close();
  });

  return {
    get sample() {
      return ready(sample, 'sample');
    },
    get browser() {
      return ready(browser, 'browser');
    },
    get page() {
      return ready(page, 'page');
    },
    get watch() {
      return ready(watch, 'watch');
    },
  };
}

function ready<T>(value: T | undefined, name: string): T {
  if (value === undefined)
    throw new Error(`useBrowserSample: ${name} is not ready; read it inside a hook or a test, not at the top of the file`);
  return value;
}
