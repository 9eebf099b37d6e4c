// examples/memcached-store/memcached-store.spec.ts
import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import request from 'supertest';
import { CurrentSession, Public, SessionService, SessionView } from 'nest-session-kit';
import { MemcachedSessionStore } from 'nest-session-kit/memcached';
import { AppModule } from './app.module';

@Controller()
class DemoController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: { userId: string }, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.create(req, res, { userId: body.userId });
  }

  @Get('me')
  me(@CurrentSession() session: SessionView) {
    return { userId: session.userId };
  }

  @Post('logout')
  @HttpCode(204)
  logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.sessions.destroy(req, res);
  }
}

it('keeps sessions in memcached, where another instance sees them, and ends them there on logout', async () => {
  const ref = await Test.createTestingModule({ imports: [AppModule], controllers: [DemoController] }).compile();
  const app = ref.createNestApplication({ logger: false });
  await app.init();
  // What another instance of the app would use: its own connection, the same server and prefix.
  const elsewhere = await MemcachedSessionStore.connect({ server: process.env.MEMCACHED_SERVER ?? '127.0.0.1:11211', prefix: 'shop:' });
  try {
    const userId = `alice-${randomUUID()}`;
    const http = () => request(app.getHttpServer());
    const login = await http().post('/login').send({ userId }).expect(200);
    const cookie = ([] as string[]).concat(login.headers['set-cookie'] ?? [])[0].split(';')[0];
    await http().get('/me').set('Cookie', cookie).expect(200, { userId });
    expect(await elsewhere.countByUser(userId, Date.now())).toBe(1);
    await http().post('/logout').set('Cookie', cookie).expect(204);
    await http().get('/me').set('Cookie', cookie).expect(401);
    expect(await elsewhere.countByUser(userId, Date.now())).toBe(0);
  } finally {
    await elsewhere.close();
    await app.close();
  }
});
