import { Test } from '@nestjs/testing';
import request from 'supertest';
import { ManualClock, SESSION_MODULE_OPTIONS } from 'nest-session-kit';
import { AppModule } from './app.module';

it('admits admins, refuses users with 403, and asks for a fresh sign-in on sensitive routes', async () => {
  const clock = new ManualClock(Date.parse('2026-11-30T08:00:00Z'));
  const ref = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(SESSION_MODULE_OPTIONS)
    .useValue({
      clock,
      roles: { hierarchy: { admin: ['user'] }, permissions: { admin: ['users:manage'] } },
      reauth: { maxAge: '5m' },
    })
    .compile();
  const app = ref.createNestApplication({ logger: false });
  await app.init();
  try {
    const http = () => request(app.getHttpServer());
    const cookieOf = (res: request.Response) => ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0].split(';')[0];
    const admin = cookieOf(
      await http()
        .post('/admin/login')
        .send({ user: 'bob', roles: ['admin'] })
        .expect(201),
    );
    const user = cookieOf(
      await http()
        .post('/admin/login')
        .send({ user: 'alice', roles: ['user'] })
        .expect(201),
    );

    await http().get('/admin/users').set('Cookie', admin).expect(200);
    const refused = await http().get('/admin/users').set('Cookie', user).set('X-Role', 'admin').expect(403);
    expect(refused.body.code).toBe('INSUFFICIENT_ROLE');

    await http()
      .put('/admin/users/alice/roles')
      .set('Cookie', admin)
      .send({ roles: ['user'] })
      .expect(200);
    clock.advance(6 * 60_000);
    const stale = await http()
      .put('/admin/users/alice/roles')
      .set('Cookie', admin)
      .send({ roles: ['user'] })
      .expect(401);
    expect(stale.body).toMatchObject({ code: 'REAUTH_REQUIRED', reauth: { path: '/auth/reauth', method: 'POST' } });
  } finally {
    await app.close();
  }
});
