/**
 * Sealed-cookie sessions when the revocation record's Redis goes away: requests that need a session fail closed (503,
 * never a cookie taken on trust, never a 500), logout does not pretend to succeed, and everything recovers by itself
 * with the same cookie once Redis is back. A private redis-server, stopped and started by the test.
 */
import { randomBytes } from 'node:crypto';
import { Controller, Get, HttpCode, INestApplication, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import request from 'supertest';
import { CurrentUser, Public, SessionService } from '../../lib';
import { RedisTokenStore } from '../../lib/stores/redis';
import { PrivateRedis, freePort } from '../support/private-redis';
import { bootSessionApp, cookieOf } from '../support/session-app';

jest.setTimeout(60_000);

@Controller()
class OutageController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.create(req, res, { userId: 'alice' });
  }

  @Get('me')
  me(@CurrentUser() user: string) {
    return { user };
  }

  @Post('logout')
  @HttpCode(204)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.destroy(req, res);
  }
}

describe('sealed-cookie sessions, revocation store outage', () => {
  let redis: PrivateRedis;
  let app: INestApplication;

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort(), true);
    await redis.start();
    app = await bootSessionApp(
      {
        sealed: {
          keys: [{ kid: 'k1', key: randomBytes(32) }],
          revocations: new RedisTokenStore({ url: redis.url, commandTimeoutMs: 1000 }),
        },
      },
      [OutageController],
    );
  });

  afterAll(async () => {
    await app?.close();
    await redis?.dispose();
  });

  it('fails closed with 503 while Redis is down, and recovers by itself with the same cookie', async () => {
    const http = () => request(app.getHttpServer());
    const cookie = cookieOf(await http().post('/login').expect(200));
    await http().get('/me').set('Cookie', cookie).expect(200, { user: 'alice' });

    await redis.signal('SIGTERM');
    const me = await http().get('/me').set('Cookie', cookie);
    expect(me.status).toBe(503);
    expect(me.body).toMatchObject({ statusCode: 503, code: 'SESSION_STORE_UNAVAILABLE' });
    expect((await http().post('/logout').set('Cookie', cookie)).status).toBe(503);

    await redis.start();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await http().get('/me').set('Cookie', cookie)).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    // The logout that failed did not happen; this one does, and is kept.
    await http().post('/logout').set('Cookie', cookie).expect(204);
    await http().get('/me').set('Cookie', cookie).expect(401);
  });
});
