// examples/brute-force/login.controller.ts
import { Body, Controller, HttpCode, Module, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { BruteForceModule, BruteForceService, Public, SessionModule, SessionService } from 'nest-session-kit';

const PASSWORDS: Record<string, string> = { alice: 'correct horse battery staple' };

@Controller('auth')
export class LoginController {
  constructor(
    private readonly bruteForce: BruteForceService,
    private readonly sessions: SessionService,
  ) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(
    @Body() body: { username: string; password: string; captcha?: string },
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    // Reads the counters of the account, the IP and the pair in one round trip: 429 when locked or too early,
    // 401 CAPTCHA_REQUIRED (with a challenge) after a few failures unless `captcha` solves one.
    const attempt = await this.bruteForce.begin(req, res, { scope: 'login', account: body.username, captcha: body.captcha });
    if (PASSWORDS[body.username] !== body.password) {
      await this.bruteForce.failed(attempt);
      throw new UnauthorizedException('Wrong username or password.');
    }
    await this.bruteForce.succeeded(attempt); // resets the account's and this client's counts
    await this.sessions.create(req, res, { userId: body.username });
    return { ok: true };
  }
}

@Module({
  imports: [
    SessionModule.forRoot({ isGlobal: true }),
    // 'memory' is for one process; give a RedisAttemptCounterStore or TypeOrmAttemptCounterStore to share counters.
    BruteForceModule.forRoot({
      store: 'memory',
      policy: { captchaAfterFailures: 3, lockoutThreshold: 10, lockoutDurationMs: 15 * 60_000 },
    }),
  ],
  controllers: [LoginController],
})
export class AppModule {}
