import { Controller, Get, INestApplication, Post, Req, Res } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import request from 'supertest';
import { CurrentSession, CurrentUser, ManualClock, Public, SessionAuthGuard, SessionModule, SessionService, SessionView } from '../../lib';

@Controller()
class DemoController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.sessions.create(req, res, { userId: String(req.query.user ?? 'alice') });
  }

  @Get('me')
  me(@CurrentUser() userId: string, @CurrentSession() session: SessionView) {
    return { userId, handle: session.handle };
  }
}

describe('SessionModule smoke', () => {
  let app: INestApplication;
  const clock = new ManualClock();

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ clock })],
      controllers: [DemoController],
      providers: [{ provide: APP_GUARD, useClass: SessionAuthGuard }],
    }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });
  afterAll(() => app.close());

  it('logs in and reads the session back through the cookie', async () => {
    const login = await request(app.getHttpServer()).post('/login').expect(201);
    const cookie = login.headers['set-cookie'][0];
    expect(cookie).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const me = await request(app.getHttpServer()).get('/me').set('Cookie', cookie.split(';')[0]).expect(200);
    expect(me.body.userId).toBe('alice');
    await request(app.getHttpServer()).get('/me').expect(401);
  });
});
