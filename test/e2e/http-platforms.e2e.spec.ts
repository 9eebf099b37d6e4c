/**
 * What differs between the HTTP platforms and must not show: on Express and on Fastify, several Set-Cookie lines of one
 * answer survive side by side (the app's own, the CSRF nonce, the session's, with one line per cookie name), and the
 * client IP is the socket's unless the platform is told to trust the proxy (Express `trust proxy`, Fastify `trustProxy`).
 */
import { Controller, Get, INestApplication, Post, Req, Res } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { bootPlatformApp, cookieOf, cookiesOf, HttpPlatform, PLATFORMS } from '../support/session-app';
import { CsrfService, HttpRequestLike, HttpResponseLike, Public, SessionAuthGuard, SessionModule, SessionService } from '../../lib';

/** Sets a cookie of the app's own the platform's way: Node's `setHeader`, or Fastify's `reply.header`. */
function setAppCookie(res: HttpResponseLike, line: string): void {
  if ('setHeader' in res) res.setHeader('Set-Cookie', line);
  else res.header('set-cookie', line);
}

@Controller()
class PlatformController {
  constructor(
    private readonly sessions: SessionService,
    private readonly csrf: CsrfService,
  ) {}

  /** Everything one answer can set at once: the app's cookie, the pre-login CSRF nonce, a session and its rotation. */
  @Public()
  @Post('login')
  async login(@Req() req: HttpRequestLike, @Res({ passthrough: true }) res: HttpResponseLike) {
    setAppCookie(res, 'theme=dark; Path=/');
    await this.csrf.token(req, res);
    await this.sessions.create(req, res, { userId: 'alice' });
    const view = await this.sessions.rotate(req, res, 'test');
    return { handle: view.handle };
  }

  @Get('me')
  async me(@Req() req: HttpRequestLike) {
    return { ip: (await this.sessions.current(req))?.ip, client: this.sessions.client(req).ip };
  }
}

async function boot(platform: HttpPlatform, trustProxy?: string): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [SessionModule.forRoot({ csrf: { secret: 'http-platforms-spec-secret-0123456789' } })],
    controllers: [PlatformController],
    providers: [{ provide: APP_GUARD, useClass: SessionAuthGuard }],
  }).compile();
  return bootPlatformApp(moduleRef, platform, trustProxy === undefined ? {} : { trustProxy });
}

describe.each(PLATFORMS)('the HTTP platform contract on %s', (platform) => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it("keeps every Set-Cookie of one answer: the app's, the CSRF nonce and one session cookie (the rotated one)", async () => {
    app = await boot(platform);
    const res = await request(app.getHttpServer()).post('/login').expect(201);
    const lines = cookiesOf(res);
    expect(lines.map((line) => line.slice(0, line.indexOf('=')))).toEqual(['theme', '__Host-csrf', '__Host-sid']);
    expect(lines[0]).toBe('theme=dark; Path=/');
    expect(lines[1]).toMatch(/^__Host-csrf=[A-Za-z0-9_-]+; Path=\/; HttpOnly; Secure; SameSite=/);
    expect(lines[2]).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(res.headers['cache-control']).toBe('no-store');
    // The cookie the answer kept is the rotated, live one.
    await request(app.getHttpServer()).get('/me').set('Cookie', cookieOf(res)).expect(200);
  });

  it('takes the client IP from the socket, never from X-Forwarded-For of an untrusted peer', async () => {
    app = await boot(platform);
    const login = await request(app.getHttpServer()).post('/login').set('X-Forwarded-For', '198.51.100.9').expect(201);
    const me = await request(app.getHttpServer()).get('/me').set('Cookie', cookieOf(login)).set('X-Forwarded-For', '203.0.113.5');
    expect(me.body.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
    expect(me.body.client).toBe(me.body.ip);
  });

  it('believes X-Forwarded-For from a proxy the platform trusts', async () => {
    app = await boot(platform, 'loopback');
    const login = await request(app.getHttpServer()).post('/login').set('X-Forwarded-For', '198.51.100.9').expect(201);
    const me = await request(app.getHttpServer()).get('/me').set('Cookie', cookieOf(login)).set('X-Forwarded-For', '203.0.113.5');
    expect(me.body).toEqual({ ip: '198.51.100.9', client: '203.0.113.5' });
  });
});
