import { DynamicModule, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { SessionStore } from '../../../lib';
import { RedisSessionStore } from '../../../lib/stores/redis';
import { SESSION_MIGRATIONS, TypeOrmSessionStore } from '../../../lib/stores/typeorm';
import type { SessionStoreConfig } from '../config';
import { connectionOptionsFor, describeTarget } from '../database/data-source-options';

/**
 * The session store the app runs on, opened from `SESSION_STORE`, and everything opened for it.
 *
 * The store must close before the DataSource it runs on, so this class closes both, in that order, and the
 * app tells the session module not to (`closeStoreOnShutdown: false`).
 */
export class SessionBackend implements OnApplicationShutdown {
  private constructor(
    /** What to give `SessionModule` as `store`: `'memory'` lets the module create (and close) its own. */
    readonly store: SessionStore | 'memory',
    /** A readable name for logs: `memory`, `redis://127.0.0.1:6379`, `postgres://127.0.0.1:5432/test`... */
    readonly description: string,
    private readonly dataSource?: DataSource,
  ) {}

  /**
   * Connects to the configured backend and makes it ready: Redis must answer, SQL tables are created by the
   * store's migration.
   *
   * @throws Error naming the backend and the variable to check when it cannot be reached.
   */
  static async open(config: SessionStoreConfig): Promise<SessionBackend> {
    switch (config.kind) {
      case 'memory':
        return new SessionBackend('memory', 'memory');
      case 'redis': {
        const store = await RedisSessionStore.connect({ url: config.url }).catch((error: unknown) => {
          throw new Error(`SESSION_STORE=redis: cannot reach Redis (check REDIS_URL): ${messageOf(error)}`);
        });
        return new SessionBackend(store, redact(config.url));
      }
      default: {
        const where = describeTarget(config.database);
        const dataSource = new DataSource({
          ...connectionOptionsFor(config.database),
          // The store's own migration creates its tables; TypeORM records it in its usual `migrations` table.
          migrations: SESSION_MIGRATIONS,
        });
        try {
          await dataSource.initialize();
          await dataSource.runMigrations({ transaction: 'each' });
        } catch (error) {
          if (dataSource.isInitialized) await dataSource.destroy();
          throw new Error(
            `SESSION_STORE=${config.kind}: cannot prepare the session database ${where} (check SESSION_DATABASE_URL or DATABASE_URL): ${messageOf(error)}`,
          );
        }
        return new SessionBackend(new TypeOrmSessionStore({ dataSource }), where, dataSource);
      }
    }
  }

  /** Closes the store, then the DataSource under it. The in-memory store is closed by the session module. */
  async onApplicationShutdown(): Promise<void> {
    if (this.store !== 'memory') await this.store.close();
    if (this.dataSource?.isInitialized) await this.dataSource.destroy();
  }
}

/** Provides {@link SessionBackend} for `SessionModule.forRootAsync` to inject. */
@Module({})
export class SessionBackendModule {
  /** Opens the backend described by `config` while the app starts. */
  static register(config: SessionStoreConfig): DynamicModule {
    return {
      module: SessionBackendModule,
      providers: [
        {
          provide: SessionBackend,
          useFactory: async () => {
            const backend = await SessionBackend.open(config);
            new Logger('SessionBackend').log(`Sessions are kept in ${backend.description}`);
            return backend;
          },
        },
      ],
      exports: [SessionBackend],
    };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function redact(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  parsed.username = '';
  return parsed.toString();
}
