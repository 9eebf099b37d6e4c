import { DynamicModule, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { InMemoryTokenStore, SessionStore, TokenStore } from '../../../lib';
import { MemcachedSessionStore } from '../../../lib/stores/memcached';
import { RedisSessionStore, RedisTokenStore } from '../../../lib/stores/redis';
import { SESSION_MIGRATIONS, TOKEN_MIGRATIONS, TypeOrmSessionStore, TypeOrmTokenStore } from '../../../lib/stores/typeorm';
import type { SessionStoreConfig } from '../config';
import { connectionOptionsFor, describeTarget } from '../database/data-source-options';

/**
 * The session store the app runs on, opened from `SESSION_STORE`, the API-token store on the same backend (refresh
 * tokens and revocations live where the sessions do: the same Redis, the same database), and everything opened for
 * them.
 *
 * The stores must close before the DataSource they run on, so this class closes all three, in that order, and the
 * app tells the session and token modules not to (`closeStoreOnShutdown: false`).
 */
export class SessionBackend implements OnApplicationShutdown {
  private constructor(
    /** What to give `SessionModule` as `store`: `'memory'` lets the module create (and close) its own. */
    readonly store: SessionStore | 'memory',
    /** The API-token store on the same backend (`InMemoryTokenStore` with the memory session store). */
    readonly tokens: TokenStore,
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
        return new SessionBackend('memory', new InMemoryTokenStore(), 'memory');
      case 'redis': {
        const store = await RedisSessionStore.connect({ url: config.url }).catch((error: unknown) => {
          throw new Error(`SESSION_STORE=redis: cannot reach Redis (check REDIS_URL): ${messageOf(error)}`);
        });
        // Its own client (RedisSessionStore keeps its client private), on the same server.
        const tokens = new RedisTokenStore({ url: config.url });
        await tokens.connect().catch(async (error: unknown) => {
          await store.close();
          throw new Error(`SESSION_STORE=redis: cannot reach Redis for API tokens (check REDIS_URL): ${messageOf(error)}`);
        });
        return new SessionBackend(store, tokens, redact(config.url));
      }
      case 'memcached': {
        const store = await MemcachedSessionStore.connect({ server: config.server }).catch((error: unknown) => {
          throw new Error(`SESSION_STORE=memcached: cannot reach memcached (check MEMCACHED_URL): ${messageOf(error)}`);
        });
        // API tokens do not go to memcached: an evicted revocation would let a revoked token in again, and a restart
        // would forget them all. They stay in the users database (DATABASE_URL), which every instance shares, with a
        // migrations table of their own so the users' migrations are not mixed with them.
        const where = describeTarget(config.tokenDatabase);
        const dataSource = new DataSource({
          ...connectionOptionsFor(config.tokenDatabase),
          migrations: TOKEN_MIGRATIONS,
          migrationsTableName: 'nsk_token_migrations',
        });
        try {
          await dataSource.initialize();
          await dataSource.runMigrations({ transaction: 'each' });
        } catch (error) {
          await store.close();
          if (dataSource.isInitialized) await dataSource.destroy();
          throw new Error(
            `SESSION_STORE=memcached: cannot prepare the API-token tables in ${where} (check DATABASE_URL): ${messageOf(error)}`,
          );
        }
        return new SessionBackend(
          store,
          new TypeOrmTokenStore({ dataSource }),
          `memcached ${config.server} (API tokens in ${where})`,
          dataSource,
        );
      }
      default: {
        const where = describeTarget(config.database);
        const dataSource = new DataSource({
          ...connectionOptionsFor(config.database),
          // The stores' own migrations create their tables; TypeORM records them in its usual `migrations` table.
          migrations: [...SESSION_MIGRATIONS, ...TOKEN_MIGRATIONS],
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
        return new SessionBackend(new TypeOrmSessionStore({ dataSource }), new TypeOrmTokenStore({ dataSource }), where, dataSource);
      }
    }
  }

  /** Closes the token store and the session store, then the DataSource under them. The in-memory session store is closed by the session module. */
  async onApplicationShutdown(): Promise<void> {
    await this.tokens.close();
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
      // Global: the API-token module takes its store from here too.
      global: true,
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
