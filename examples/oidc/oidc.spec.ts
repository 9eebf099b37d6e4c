import { Test } from '@nestjs/testing';
import { Logger, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { freePort, OpBrowser, TestOpenIdProvider } from '../../test/support/test-openid-provider';
import { AppModule } from './app.module';

it('signs in at a real OpenID Provider, and the provider signs the user out through back-channel logout', async () => {
  const [opPort, appPort] = [await freePort(), await freePort()];
  const appOrigin = `http://127.0.0.1:${appPort}`;
  const op = await TestOpenIdProvider.create({
    port: opPort,
    clientId: 'example-app',
    clientSecret: 'example-app-secret-123456',
    redirectUri: `${appOrigin}/auth/oidc/callback`,
    backchannelLogoutUri: `${appOrigin}/auth/oidc/backchannel-logout`,
  });
  await op.start();
  Object.assign(process.env, {
    OIDC_ISSUER: op.issuer,
    OIDC_CLIENT_ID: 'example-app',
    OIDC_CLIENT_SECRET: 'example-app-secret-123456',
    APP_ORIGIN: appOrigin,
    CSRF_SECRET: process.env.CSRF_SECRET ?? 'example-secret-example-secret-1234',
  });
  const ref = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app: INestApplication = ref.createNestApplication({ logger: false });
  await app.listen(appPort, '127.0.0.1');
  const log = jest.spyOn(Logger, 'log').mockImplementation(() => undefined);
  try {
    const start = await request(appOrigin).get('/auth/oidc/login').expect(303);
    const flowCookie = ([] as string[]).concat(start.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]);
    op.nextLogin({ subject: 'example-subject', authAgeSeconds: 30 });
    const back = await new OpBrowser(appOrigin).authorize(start.headers.location);
    const done = await request(appOrigin)
      .get(back.pathname + back.search)
      .set('Cookie', flowCookie)
      .expect(303);
    const session = ([] as string[])
      .concat(done.headers['set-cookie'] ?? [])
      .find((c) => c.startsWith('__Host-sid='))!
      .split(';')[0];

    const me = await request(appOrigin).get('/me').set('Cookie', session).expect(200);
    expect(Date.now() - me.body.authenticatedAt).toBeGreaterThanOrEqual(29_000); // the provider's auth_time

    await request(appOrigin)
      .post('/auth/oidc/backchannel-logout')
      .type('form')
      .send({ logout_token: await op.logoutToken({ sub: 'example-subject' }) })
      .expect(200);
    expect(log).toHaveBeenCalledWith('back-channel logout of 1 user(s)', 'Oidc');
    await request(appOrigin).get('/me').set('Cookie', session).expect(401);
  } finally {
    log.mockRestore();
    await app.close();
    await op.stop();
  }
});
