import { Module } from '@nestjs/common';
import { BruteForceService } from './brute-force.service';
import { ConfigurableBruteForceModule } from './brute-force.module-definition';
import { SessionGuessingDetector } from './session-guessing.detector';

/**
 * The brute-force defence: failure counters, progressive delay, CAPTCHA step and temporary lock, per account, per
 * IP and per (account, IP). Import it next to `SessionModule` (it uses the session module's `Clock` and event bus),
 * then call {@link BruteForceService} around every secret the app checks. It also provides the
 * {@link SessionGuessingDetector} that `SessionAuthGuard` uses when it is available (make the module global).
 *
 * @example
 * BruteForceModule.forRoot({ store: new RedisAttemptCounterStore({ client }), policy: { lockoutThreshold: 10 } })
 * @example
 * BruteForceModule.forRootAsync({ inject: [Counters], useFactory: (c: Counters) => ({ store: c.store }) })
 */
@Module({ providers: [BruteForceService, SessionGuessingDetector], exports: [BruteForceService, SessionGuessingDetector] })
export class BruteForceModule extends ConfigurableBruteForceModule {}
