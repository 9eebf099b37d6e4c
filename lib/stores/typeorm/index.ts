/**
 * `nest-session-kit/typeorm`: the session store on PostgreSQL, MariaDB/MySQL or SQLite through TypeORM.
 *
 * A sub-path entry so that the main entry never imports TypeORM (an optional peer dependency).
 *
 * @example
 * import { CreateSessionTables1795676727574, SESSION_ENTITIES, TypeOrmSessionStore } from 'nest-session-kit/typeorm';
 */
import { SessionCounterEntity } from './session-counter.entity';
import { SessionPointerEntity } from './session-pointer.entity';
import { SessionEntity } from './session.entity';

export { CreateSessionTables1795676727574 } from './migrations/1795676727574-create-session-tables';
export { SessionCounterEntity } from './session-counter.entity';
export { SessionPointerEntity } from './session-pointer.entity';
export { SessionEntity } from './session.entity';
export { TypeOrmSessionStore } from './typeorm-session.store';
export type { TypeOrmSessionStoreOptions } from './typeorm-session.store';

/**
 * Every entity of the store, for a DataSource's `entities` (needed for `synchronize` and
 * `migration:generate`; the store itself works from the tables alone).
 *
 * @example
 * new DataSource({ ..., entities: [...appEntities, ...SESSION_ENTITIES] });
 */
export const SESSION_ENTITIES = [SessionEntity, SessionPointerEntity, SessionCounterEntity];
