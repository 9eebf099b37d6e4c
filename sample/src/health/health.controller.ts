import { Controller, Get, Res } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Public } from '../../../lib';
import { SessionStoreHealthIndicator } from '../../../lib/terminus';

/** The state of one dependency. */
export type CheckState = 'up' | 'down';

/** Answer of `GET /health`. */
export type HealthReport = { status: 'ok' } | { status: 'degraded'; checks: { sessionStore: CheckState; database: CheckState } };

/** A check that does not answer within this long counts as down: a health probe must not hang. */
const CHECK_TIMEOUT_MS = 2000;

/** `GET /health`: 200 `{ status: 'ok' }`, or 503 `degraded` with the failing dependencies. */
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly sessionStoreHealth: SessionStoreHealthIndicator,
    @InjectDataSource() private readonly database: DataSource,
  ) {}

  @Get()
  async health(@Res({ passthrough: true }) res: Response): Promise<HealthReport> {
    // The contract's answer is the bare status: the indicator's latency and circuit state stay out of this public body.
    const [store, database] = await Promise.all([
      this.sessionStoreHealth.isHealthy('sessionStore', { timeoutMs: CHECK_TIMEOUT_MS }),
      check(() => this.database.query('SELECT 1')),
    ]);
    const sessionStore: CheckState = store.sessionStore.status;
    if (sessionStore === 'up' && database === 'up') return { status: 'ok' };
    res.status(503);
    return { status: 'degraded', checks: { sessionStore, database } };
  }
}

async function check(probe: () => Promise<unknown>): Promise<CheckState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'up';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}
