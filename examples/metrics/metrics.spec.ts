import { Controller, Post, Req, Res } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import request from 'supertest';
import { Public, SessionService } from 'nest-session-kit';
import { AppModule, registry } from './app.module';

@Controller()
class LoginController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.sessions.create(req, res, { userId: 'alice' });
  }
}

it('serves the session metrics of the app’s registry on /metrics', async () => {
  const ref = await Test.createTestingModule({ imports: [AppModule], controllers: [LoginController] }).compile();
  const app = ref.createNestApplication({ logger: false });
  await app.init();
  try {
    await request(app.getHttpServer()).post('/login').expect(201);
    const res = await request(app.getHttpServer()).get('/metrics').expect(200);
    expect(res.text).toContain('session_kit_sessions_created_total{tier="standard"} 1');
    expect(res.text).toMatch(/session_kit_store_operation_duration_seconds_count\{store="session",operation="create",backend="memory"\} 1/);
    // The app's own registry holds them: what /metrics served is what it reads.
    expect(res.text).toBe(await registry.metrics());
  } finally {
    await app.close();
  }
});
