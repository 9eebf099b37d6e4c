import { Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import request from 'supertest';
import { CurrentSession, Public, ReAuth, SessionService, SessionView } from 'nest-session-kit';
import { AppModule } from './app.module';

@Controller()
class DemoController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.create(req, res, { userId: 'alice' });
  }

  @Get('me')
  me(@CurrentSession() session: SessionView) {
    return { userId: session.userId };
  }

  @ReAuth()
  @Post('account/delete')
  @HttpCode(204)
  deleteAccount() {}
}

it('challenges a session used from another network: @ReAuth routes need the password again', async () => {
  const ref = await Test.createTestingModule({ imports: [AppModule], controllers: [DemoController] }).compile();
  const app = ref.createNestApplication<NestExpressApplication>({ logger: false });
  // Behind a reverse proxy on this machine: X-Forwarded-For names the client.
  app.set('trust proxy', 'loopback');
  await app.init();
  try {
    const http = () => request(app.getHttpServer());
    const paris = { 'X-Forwarded-For': '192.0.2.10', 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/121.0 Safari/537.36' };
    const login = await http().post('/login').set(paris).expect(200);
    const cookie = ([] as string[]).concat(login.headers['set-cookie'] ?? [])[0].split(';')[0];
    await http().post('/account/delete').set(paris).set('Cookie', cookie).expect(204);
    // The same cookie from Sydney a moment later: impossible travel. Reading still works...
    const sydney = { ...paris, 'X-Forwarded-For': '198.51.100.7' };
    await http().get('/me').set(sydney).set('Cookie', cookie).expect(200, { userId: 'alice' });
    // ...but a sensitive action needs a fresh proof, from anywhere.
    const refused = await http().post('/account/delete').set(paris).set('Cookie', cookie).expect(401);
    expect(refused.body).toMatchObject({ code: 'REAUTH_REQUIRED', reauth: { reason: 'challenged' } });
  } finally {
    await app.close();
  }
});
