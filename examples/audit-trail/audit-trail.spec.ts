import { Controller, Post, Req, Res } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import request from 'supertest';
import { Public, SessionAuthGuard, SessionService } from 'nest-session-kit';
import { AppModule, AuditTrail } from './audit.module';

@Controller()
class LoginController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.sessions.create(req, res, { userId: 'alice' });
  }
}

it('writes the events of a sign-in to the audit table and reads them back, newest first', async () => {
  // The example logs to stdout too: keep the test output clean.
  const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const ref = await Test.createTestingModule({
    imports: [AppModule],
    controllers: [LoginController],
    providers: [{ provide: APP_GUARD, useClass: SessionAuthGuard }],
  }).compile();
  const app = ref.createNestApplication({ logger: false });
  await app.init();
  try {
    await request(app.getHttpServer()).post('/login').set('User-Agent', 'Firefox/140\tforged').expect(201);
    const audit = app.get(AuditTrail).sink;
    await audit.flush();
    const { events } = await audit.query({ userId: 'alice', limit: 10 });
    expect(events.map((e) => e.type)).toEqual(['session_created']);
    expect(events[0]).toMatchObject({ userId: 'alice', userAgent: 'Firefox/140\\x09forged', sessionHandle: expect.any(String) });
  } finally {
    await app.close();
    write.mockRestore();
  }
});
