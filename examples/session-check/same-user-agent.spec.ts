import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import request from 'supertest';
import { CurrentUser, Public, SessionAuthGuard, SessionService } from 'nest-session-kit';
import { SessionWithBinding } from './same-user-agent';

@Controller()
class DemoController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.sessions.create(req, res, { userId: 'alice' });
  }

  @Get('me')
  me(@CurrentUser() userId: string) {
    return { userId };
  }
}

it('ends a session replayed from another browser', async () => {
  const ref = await Test.createTestingModule({
    imports: [SessionWithBinding],
    controllers: [DemoController],
    providers: [{ provide: APP_GUARD, useClass: SessionAuthGuard }],
  }).compile();
  const app = ref.createNestApplication({ logger: false });
  await app.init();
  try {
    const http = () => request(app.getHttpServer());
    const login = await http().post('/login').set('User-Agent', 'Firefox/140').expect(201);
    const cookie = ([] as string[]).concat(login.headers['set-cookie'] ?? [])[0].split(';')[0];
    await http().get('/me').set('Cookie', cookie).set('User-Agent', 'Firefox/140').expect(200, { userId: 'alice' });
    await http().get('/me').set('Cookie', cookie).set('User-Agent', 'curl/8.0').expect(401);
    // Ended server-side: the right user agent no longer helps.
    await http().get('/me').set('Cookie', cookie).set('User-Agent', 'Firefox/140').expect(401);
  } finally {
    await app.close();
  }
});
