/**
 * `nest-session-kit/typeorm`: the session store on PostgreSQL, MariaDB/MySQL or SQLite through TypeORM.
 *
 * A sub-path entry so that the main entry never imports TypeORM (an optional peer dependency).
 *
 * @example
 * import { SESSION_ENTITIES, SESSION_MIGRATIONS, TypeOrmSessionStore } from 'nest-session-kit/typeorm';
 */
import { CreateSessionTables1795676727574 } from './migrations/1795676727574-create-session-tables';
import { SessionStageAndPointerUntil1796007977546 } from './migrations/1796007977546-session-stage-and-pointer-until';
import { SessionRolesTierImpersonation1796400000000 } from './migrations/1796400000000-session-roles-tier-impersonation';
import { SessionCounterEntity } from './session-counter.entity';
import { SessionPointerEntity } from './session-pointer.entity';
import { SessionEntity } from './session.entity';

export { CreateSessionTables1795676727574 } from './migrations/1795676727574-create-session-tables';
export { SessionStageAndPointerUntil1796007977546 } from './migrations/1796007977546-session-stage-and-pointer-until';
export { SessionRolesTierImpersonation1796400000000 } from './migrations/1796400000000-session-roles-tier-impersonation';
export { SessionCounterEntity } from './session-counter.entity';
export { SessionPointerEntity } from './session-pointer.entity';
export { SessionEntity } from './session.entity';
export { TypeOrmSessionStore, DEFAULT_SQL_OPERATION_TIMEOUT_MS } from './typeorm-session.store';
export type { TypeOrmSessionStoreOptions } from './typeorm-session.store';

/**
 * Every entity of the store, for a DataSource's `entities` (needed for `synchronize` and
 * `migration:generate`; the store itself works from the tables alone).
 *
 * @example
 * new DataSource({ ..., entities: [...appEntities, ...SESSION_ENTITIES] });
 */
export const SESSION_ENTITIES = [SessionEntity, SessionPointerEntity, SessionCounterEntity];

/**
 * Every migration of the store's tables, oldest first: what the current store needs. Add them all to your
 * DataSource's `migrations`; TypeORM runs those not yet applied, so an existing database is upgraded in place
 * (sessions survive) and a new one is created from nothing.
 *
 * @example
 * new DataSource({ ..., migrations: [...appMigrations, ...SESSION_MIGRATIONS], migrationsRun: true });
 */
export const SESSION_MIGRATIONS = [
  CreateSessionTables1795676727574,
  SessionStageAndPointerUntil1796007977546,
  SessionRolesTierImpersonation1796400000000,
];

// The brute-force defence's attempt counters in SQL (they live in lib/brute-force; exported here with the other TypeORM code).
export { TypeOrmAttemptCounterStore, DEFAULT_ATTEMPT_TABLE } from '../../brute-force/stores/typeorm-attempt-counter.store';
export type { TypeOrmAttemptCounterStoreOptions } from '../../brute-force/stores/typeorm-attempt-counter.store';

// The API-token layer's store (refresh families, access-token revocation) in SQL, beside the sessions.
import { CreateTokenTables1797000000000 } from './migrations/1797000000000-create-token-tables';
import { RefreshFamilyEntity, RefreshTokenEntity, TokenRevocationEntity } from './token.entities';
export { CreateTokenTables1797000000000 } from './migrations/1797000000000-create-token-tables';
export { TypeOrmTokenStore } from './typeorm-token.store';
export { RefreshFamilyEntity, RefreshTokenEntity, TokenRevocationEntity } from './token.entities';
export type { TypeOrmTokenStoreOptions } from './typeorm-token.store';

/**
 * Every migration of the token store's tables (`nsk_refresh_family`, `nsk_refresh_token`, `nsk_token_revocation`),
 * oldest first. Add them to your DataSource's `migrations` next to `SESSION_MIGRATIONS`.
 *
 * @example
 * new DataSource({ ..., migrations: [...SESSION_MIGRATIONS, ...TOKEN_MIGRATIONS], migrationsRun: true });
 */
export const TOKEN_MIGRATIONS = [CreateTokenTables1797000000000];

/**
 * Every entity of the token store, for a DataSource's `entities` (needed for `synchronize` and
 * `migration:generate`; the store itself works from the tables alone).
 *
 * @example
 * new DataSource({ ..., entities: [...appEntities, ...SESSION_ENTITIES, ...TOKEN_ENTITIES] });
 */
export const TOKEN_ENTITIES = [RefreshFamilyEntity, RefreshTokenEntity, TokenRevocationEntity];
