import { randomBytes } from 'node:crypto';
import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import { createClient } from 'redis';
import request from 'supertest';
import { CurrentUser, Public, SessionAuthGuard, SessionService } from 'nest-session-kit';
import { sealedSessions } from './sealed-sessions.module';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

@Controller()
class DemoController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return { handle: (await this.sessions.create(req, res, { userId: 'alice' })).handle };
  }

  @Get('me')
  me(@CurrentUser() userId: string) {
    return { userId };
  }

  @Post('logout')
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.destroy(req, res);
  }
}

it('keeps the session in the cookie and the logout in Redis, with the old key still opening old cookies', async () => {
  const prefix = `{nsk-example-sealed-${randomBytes(6).toString('hex')}}:`;
  const [oldKey, newKey] = [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')];
  const boot = async (keys: string) => {
    const ref = await Test.createTestingModule({
      imports: [sealedSessions({ REDIS_URL, SEAL_PREFIX: prefix, SESSION_SEAL_KEYS: keys })],
      controllers: [DemoController],
      providers: [{ provide: APP_GUARD, useClass: SessionAuthGuard }],
    }).compile();
    const app = ref.createNestApplication({ logger: false });
    await app.init();
    return app;
  };
  const admin = createClient({ url: REDIS_URL });
  admin.on('error', () => undefined);
  await admin.connect();
  const before = await boot(`2026-10:${oldKey}`);
  const after = await boot(`2026-11:${newKey},2026-10:${oldKey}`);
  const retired = await boot(`2026-11:${newKey}`);
  try {
    const login = await request(before.getHttpServer()).post('/login').expect(201);
    const cookie = ([] as string[]).concat(login.headers['set-cookie'] ?? [])[0].split(';')[0];
    // Another instance with the rotated ring opens it; one where the old key was removed does not.
    await request(after.getHttpServer()).get('/me').set('Cookie', cookie).expect(200, { userId: 'alice' });
    await request(retired.getHttpServer()).get('/me').set('Cookie', cookie).expect(401);
    // A logout on one instance is seen by the others at the next request.
    await request(before.getHttpServer()).post('/logout').set('Cookie', cookie).expect(201);
    await request(after.getHttpServer()).get('/me').set('Cookie', cookie).expect(401);
  } finally {
    await Promise.all([before.close(), after.close(), retired.close()]);
    for await (const keys of admin.scanIterator({ MATCH: `${prefix}*` })) if (keys.length > 0) await admin.del(keys);
    admin.destroy();
  }
});
