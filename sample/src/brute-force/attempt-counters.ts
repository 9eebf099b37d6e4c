import { DynamicModule, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { createClient } from 'redis';
import type { DataSource } from 'typeorm';
import { AttemptCounterStore, BruteForceModule } from '../../../lib';
import { RedisAttemptCounterStore } from '../../../lib/stores/redis';
import { TypeOrmAttemptCounterStore } from '../../../lib/stores/typeorm';
import type { SampleConfig } from '../config';

/** Failures of a client on a route behind a session before it waits `LOCKOUT_DURATION` (re-auth, codes, revocations). */
const SESSION_ROUTE_LOCKOUT = 10;

/**
 * Where the sample keeps its attempt counters: in Redis when sessions are there (`SESSION_STORE=redis`), otherwise
 * in the users database (`DATABASE_URL`: SQLite by default), which every instance of the app shares as it shares
 * the users. Never in the process's memory: a restart must not forget a lock.
 */
export class AttemptCounters implements OnApplicationShutdown {
  private constructor(
    readonly store: AttemptCounterStore,
    private readonly close: () => Promise<void>,
  ) {}

  static async open(config: SampleConfig, usersDatabase: DataSource): Promise<AttemptCounters> {
    if (config.sessionStore.kind === 'redis') {
      const url = config.sessionStore.url;
      // Its own client: commands fail at once during an outage (no offline queue), so sign-in answers 503 at once.
      const client = createClient({ url, disableOfflineQueue: true });
      const logger = new Logger('AttemptCounters');
      let lastLog = 0;
      client.on('error', (error: Error) => {
        // node-redis reports every failed reconnection; one line a minute is enough.
        if (Date.now() - lastLog > 60_000) logger.warn(`Redis for attempt counters: ${error.message}`);
        lastLog = Date.now();
      });
      await client.connect().catch((error: unknown) => {
        throw new Error(
          `SESSION_STORE=redis: cannot reach Redis for attempt counters (check REDIS_URL): ${String((error as Error)?.message ?? error)}`,
        );
      });
      return new AttemptCounters(new RedisAttemptCounterStore({ client, prefix: config.bruteForce.redisPrefix }), async () => {
        await client.close().catch(() => undefined);
      });
    }
    const store = await TypeOrmAttemptCounterStore.open({ dataSource: usersDatabase });
    return new AttemptCounters(store, () => Promise.resolve());
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}

/** The brute-force defence of the sample: counters as above, the policy from the environment. */
@Module({})
export class SampleBruteForceModule {
  static register(config: SampleConfig): DynamicModule {
    const counters = {
      provide: AttemptCounters,
      inject: [getDataSourceToken()],
      useFactory: (db: DataSource) => AttemptCounters.open(config, db),
    };
    @Module({ providers: [counters], exports: [AttemptCounters] })
    class AttemptCountersModule {}
    const { lockoutThreshold, lockoutDurationMs, captchaAfterFailures, baseDelayMs } = config.bruteForce;
    // Routes behind a session: no CAPTCHA step (the session already passed sign-in, and the sample ends it after a few
    // wrong secrets) and no progressive delay, only the lock, counted per user and per (user, IP).
    const sessionRoute = { captchaAfterFailures: 0, baseDelayMs: 0, lockoutThreshold: Math.min(lockoutThreshold, SESSION_ROUTE_LOCKOUT) };
    return {
      module: SampleBruteForceModule,
      imports: [
        BruteForceModule.forRootAsync({
          isGlobal: true,
          imports: [AttemptCountersModule],
          inject: [AttemptCounters],
          useFactory: (c: AttemptCounters) => ({
            store: c.store,
            policy: { lockoutThreshold, lockoutDurationMs, captchaAfterFailures, baseDelayMs },
            // Second factors at sign-in keep the sample's own counters (five per pending session, a pause per account after ten
            // in a row, in the users table), which already are what BF-05 asks.
            scopes: { reauth: sessionRoute, 'mfa-enrol': sessionRoute, revoke: sessionRoute },
          }),
        }),
      ],
    };
  }
}
