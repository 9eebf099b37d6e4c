/**
 * The sample app for browser tests: booted in-process exactly as the e2e suites do (`startSample`: the real
 * AppModule through `createApp`, in-memory users database, a free port on 127.0.0.1), and reached by the
 * browser as `http://localhost:PORT`.
 *
 * Why `localhost`: the sample's session cookie is `__Host-sid`, which must be `Secure`; browsers keep `Secure`
 * cookies for http://localhost because it counts as a secure context. WebAuthn also needs a domain as RP ID
 * (an IP address is not one), and `localhost` is accepted. Chromium resolves `localhost` to the loopback
 * addresses itself; the app listens on 127.0.0.1.
 */
import type { AddressInfo } from 'node:net';
import type { SampleEnv } from '../../../sample/src/config';
import { PASSWORDS, SampleHarness, startSample, totpCode } from '../../e2e/sample-helpers';

/** The seeded users' passwords, and carol's TOTP code at a given time (use the app's clock: `harness.clock.now()`). */
export { PASSWORDS, totpCode };

/** A running sample app as the browser sees it. */
export interface BrowserSample {
  harness: SampleHarness;
  /** `http://localhost:PORT`, the origin pages are loaded from. */
  origin: string;
  /** `origin` + `path`. */
  url(path: string): string;
  close(): Promise<void>;
}

/** Boots the sample with the e2e suites' test defaults, overridden by `env`. */
export async function startBrowserSample(env: SampleEnv = {}): Promise<BrowserSample> {
  const harness = await startSample(env);
  const { port } = harness.app.getHttpServer().address() as AddressInfo;
  const origin = `http://localhost:${port}`;
  return { harness, origin, url: (path) => origin + path, close: () => harness.close() };
}
