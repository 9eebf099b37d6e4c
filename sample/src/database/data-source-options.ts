import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { DatabaseTarget } from '../config';

/**
 * TypeORM connection options for a database target. Entities, migrations and the rest come from the caller;
 * this only knows how to reach each kind of server.
 *
 * For SQLite it creates the file's folder first: the sample must start on a fresh checkout with no set-up.
 */
export function connectionOptionsFor(target: DatabaseTarget): DataSourceOptions {
  switch (target.kind) {
    case 'sqlite':
      if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
      // WAL lets readers proceed while a writer holds the lock; `timeout` waits for a busy lock instead of
      // failing at once (the users and the session store may share one file).
      return { type: 'better-sqlite3', database: target.path, enableWAL: target.path !== ':memory:', timeout: 5000 };
    case 'postgres':
      return { type: 'postgres', url: target.url };
    case 'mysql':
      // `mariadb://` is accepted in DATABASE_URL for readability; the mysql2 driver only parses `mysql://`.
      return { type: 'mysql', url: target.url.replace(/^mariadb:/, 'mysql:'), charset: 'utf8mb4' };
  }
}

/** Where a database target points, without credentials, for log and error messages. */
export function describeTarget(target: DatabaseTarget): string {
  if (target.kind === 'sqlite') return `sqlite:${target.path}`;
  const url = new URL(target.url);
  url.username = '';
  url.password = '';
  return url.toString();
}
