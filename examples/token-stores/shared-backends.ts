// examples/token-stores/shared-backends.ts
import { createClient } from 'redis';
import { DataSource } from 'typeorm';
import { RedisSessionStore, RedisTokenStore } from 'nest-session-kit/redis';
import { SESSION_MIGRATIONS, TOKEN_MIGRATIONS, TypeOrmSessionStore, TypeOrmTokenStore } from 'nest-session-kit/typeorm';

/** Sessions and API tokens on one Redis client, which the application owns: the stores never close it. */
export async function onRedis(url: string, prefix = '{nsk}:tok:') {
  const client = createClient({ url, disableOfflineQueue: true });
  client.on('error', (error: Error) => console.warn(`Redis: ${error.message}`));
  await client.connect();
  const sessions = new RedisSessionStore({ client });
  const tokens = new RedisTokenStore({ client, prefix });
  await tokens.connect(); // checks that Redis answers
  return { client, sessions, tokens, close: async () => void (await client.close()) };
}

/** Sessions and API tokens in one database: one DataSource, both sets of migrations. */
export async function onPostgres(url: string) {
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    migrations: [...SESSION_MIGRATIONS, ...TOKEN_MIGRATIONS],
    migrationsRun: true,
  });
  await dataSource.initialize();
  const sessions = new TypeOrmSessionStore({ dataSource });
  const tokens = new TypeOrmTokenStore({ dataSource });
  await tokens.connect(); // names TOKEN_MIGRATIONS if the tables are missing
  return { sessions, tokens, close: async () => (await tokens.close(), await sessions.close(), await dataSource.destroy()) };
}
