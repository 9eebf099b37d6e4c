// examples/fastify/main.ts
import { Body, Controller, Get, HttpCode, Module, Post, Req, Res } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  CsrfFormRoute,
  CsrfGuard,
  CsrfService,
  CurrentSession,
  Public,
  SessionAuthGuard,
  SessionModule,
  SessionService,
  SessionView,
} from 'nest-session-kit';

@Controller()
export class AuthController {
  constructor(
    private readonly sessions: SessionService,
    private readonly csrf: CsrfService,
  ) {}

  // Pass the FastifyReply itself (not reply.raw): the module writes its cookies and headers through it.
  @Public()
  @Get('csrf')
  async token(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return { token: await this.csrf.token(req, reply) };
  }

  // An HTML form posting its _csrf field: Nest's Fastify adapter parses urlencoded bodies itself.
  @Public()
  @CsrfFormRoute()
  @Post('login')
  @HttpCode(200)
  async login(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Body() body: { user: string }) {
    // ...verify the password here...
    await this.sessions.create(req, reply, { userId: body.user });
    return { ok: true };
  }

  @Get('me')
  me(@CurrentSession() session: SessionView) {
    return { userId: session.userId, ip: session.ip };
  }
}

@Module({
  imports: [SessionModule.forRoot({ csrf: { secret: process.env.CSRF_SECRET } })],
  controllers: [AuthController],
  providers: [
    { provide: APP_GUARD, useClass: SessionAuthGuard },
    { provide: APP_GUARD, useExisting: CsrfGuard },
  ],
})
export class AppModule {}

export async function bootstrap(port = 3000): Promise<NestFastifyApplication> {
  // trustProxy names the proxies whose X-Forwarded-For Fastify believes (here one on loopback): the session's client
  // IP is then the client's. Leave it out when clients connect directly: the IP is the socket's, never a header's.
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter({ trustProxy: 'loopback' }), {
    logger: false,
  });
  await app.listen(port, '127.0.0.1');
  return app;
}
