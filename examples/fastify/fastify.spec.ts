import request from 'supertest';
import { bootstrap } from './main';

it('signs in through a form with its _csrf field on Fastify, with the client IP from the trusted proxy', async () => {
  process.env.CSRF_SECRET ??= 'example-secret-example-secret-1234';
  const app = await bootstrap(0);
  try {
    const http = () => request(app.getHttpServer());
    const cookies = (res: request.Response) => ([] as string[]).concat(res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]);

    const pre = await http().get('/csrf').expect(200);
    const nonce = cookies(pre).join('; ');
    const form = (token: string) => `user=alice&_csrf=${encodeURIComponent(token)}`;
    await http().post('/login').set('Cookie', nonce).type('form').send(form('wrong')).expect(403);
    const login = await http()
      .post('/login')
      .set('Cookie', nonce)
      .set('X-Forwarded-For', '198.51.100.7')
      .type('form')
      .send(form(pre.body.token))
      .expect(200);
    const session = cookies(login).find((c) => c.startsWith('__Host-sid='))!;
    expect((await http().get('/me').set('Cookie', session).expect(200)).body).toEqual({ userId: 'alice', ip: '198.51.100.7' });
    await http().get('/me').expect(401);
  } finally {
    await app.close();
  }
});
