/**
 * TypeOrmSessionStore's operationTimeoutMs: an operation the database never answers fails, after the timeout, with a
 * SessionStoreConnectionError naming the option (503, not a hung request). The database is SQLite with its queries
 * made to hang (a query runner that never answers): the real stalled server, a paused PostgreSQL, is in
 * test/integration/faults-under-load.spec.ts.
 */
import { DataSource, QueryRunner } from 'typeorm';
import { isStoreConnectionError } from '../../lib/core/errors';
import { DEFAULT_SQL_OPERATION_TIMEOUT_MS, SESSION_MIGRATIONS, TypeOrmSessionStore } from '../../lib/stores/typeorm';

describe('TypeOrmSessionStore operationTimeoutMs', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    dataSource = new DataSource({ type: 'better-sqlite3', database: ':memory:', migrations: SESSION_MIGRATIONS, migrationsRun: true });
    await dataSource.initialize();
  });
  afterAll(() => dataSource.destroy());

  /** Makes every query of the next runners hang, as on a paused server; the function returned resumes it. */
  function stall(): () => void {
    const real = dataSource.createQueryRunner.bind(dataSource);
    const held: Array<() => void> = [];
    const spy = jest.spyOn(dataSource, 'createQueryRunner').mockImplementation(() => {
      const runner = real();
      const query = runner.query.bind(runner);
      // A copy: better-sqlite3 hands out one shared runner, which must keep its own query.
      return Object.assign(Object.create(runner) as QueryRunner, {
        query: (...args: Parameters<QueryRunner['query']>) => new Promise((resolve) => held.push(() => resolve(query(...args)))),
      }) as QueryRunner;
    });
    return () => {
      spy.mockRestore();
      for (const resume of held) resume();
    };
  }

  it('fails a stalled operation after operationTimeoutMs with a connectivity error naming the option, then serves again', async () => {
    const store = new TypeOrmSessionStore({ dataSource, cleanupIntervalMs: 0, operationTimeoutMs: 200 });
    await store.ping();
    const restore = stall();
    const started = performance.now();
    const error = await store.ping().catch((e: unknown) => e);
    const waited = performance.now() - started;
    restore();
    expect(isStoreConnectionError(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /TypeOrmSessionStore\.ping: better-sqlite3 in memory did not answer within 200 ms \(operationTimeoutMs\)/,
    );
    expect(waited).toBeGreaterThanOrEqual(190);
    await expect(store.ping()).resolves.toBeUndefined();
    await store.close();
  });

  it('is 5000 ms by default, and refuses a value that is not a whole number of ms', () => {
    expect(DEFAULT_SQL_OPERATION_TIMEOUT_MS).toBe(5000);
    expect(() => new TypeOrmSessionStore({ dataSource, operationTimeoutMs: -1 })).toThrow(
      /operationTimeoutMs must be an integer from 0 \(off\)/,
    );
    expect(() => new TypeOrmSessionStore({ dataSource, operationTimeoutMs: 1.5 })).toThrow(/operationTimeoutMs/);
  });

  it('0 turns it off: a stalled operation waits for the database', async () => {
    const store = new TypeOrmSessionStore({ dataSource, cleanupIntervalMs: 0, operationTimeoutMs: 0 });
    const restore = stall();
    const outcome = await Promise.race([
      store.ping().then(() => 'answered'),
      new Promise((r) => setTimeout(() => r('still waiting'), 300)),
    ]);
    restore();
    expect(outcome).toBe('still waiting');
    await store.close();
  });
});
