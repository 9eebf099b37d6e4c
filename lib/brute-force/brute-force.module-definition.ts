import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { CaptchaVerifier } from '../captcha/captcha-verifier';
import type { AttemptCounterStore } from './attempt-counter.store';
import type { AttemptLimiterOptions } from './attempt-limiter';

/** The policy part of {@link AttemptLimiterOptions}: thresholds, durations (ms) and windows. */
export type AttemptPolicy = Omit<AttemptLimiterOptions, 'store' | 'clock' | 'scope'>;

/** Options of `BruteForceModule`. */
export interface BruteForceModuleOptions {
  /**
   * Where counters live: an {@link AttemptCounterStore} (Redis, SQL: shared by every instance) or `'memory'` (this
   * process only). Default `'memory'`.
   */
  store?: AttemptCounterStore | 'memory';
  /** Close `store` when the app shuts down. Default `false` for a store you pass, `true` for `'memory'`. */
  closeStoreOnShutdown?: boolean;
  /**
   * The CAPTCHA step: a {@link CaptchaVerifier}, or `false` to turn it off (then the lock is the only stop).
   * Default: `AltchaCaptchaVerifier` (self-hosted proof of work) on `store`, with a random key per process.
   */
  captcha?: CaptchaVerifier | false;
  /** The policy of every scope (login, reauth, mfa, revoke...). Defaults: `ATTEMPT_LIMITER_DEFAULTS`. */
  policy?: AttemptPolicy;
  /** Per-scope changes on top of `policy`, e.g. `{ mfa: { lockoutThreshold: 5 } }`. */
  scopes?: Record<string, AttemptPolicy>;
  /**
   * Session id guessing detection (`SessionGuessingDetector`): requests with unknown or malformed session ids per
   * client IP (`threshold`, default 50) within `windowMs` (ms, default 10 minutes) before 429. `false` turns it off.
   */
  sessionGuessing?: { threshold?: number; windowMs?: number } | false;
}

/**
 * The builder output of `BruteForceModule`: `forRoot(options)` and `forRootAsync({ useFactory, useClass, useExisting,
 * imports, inject, isGlobal })` (factory method `createBruteForceOptions`). `BRUTE_FORCE_MODULE_OPTIONS` is the
 * injection token of the {@link BruteForceModuleOptions} as given.
 */
export const { ConfigurableModuleClass: ConfigurableBruteForceModule, MODULE_OPTIONS_TOKEN: BRUTE_FORCE_MODULE_OPTIONS } =
  new ConfigurableModuleBuilder<BruteForceModuleOptions>({ moduleName: 'BruteForce' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createBruteForceOptions')
    .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
    .build();
