import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from './app.module';

it('needs the token of the session (or the pre-login nonce) on every write, login included', async () => {
  process.env.CSRF_SECRET ??= 'example-secret-example-secret-1234';
  const ref = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = ref.createNestApplication({ logger: false });
  await app.init();
  try {
    const http = () => request(app.getHttpServer());
    const cookies = (res: request.Response) => ([] as string[]).concat(res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]);

    // Before sign-in: a token bound to the nonce cookie it comes with.
    const pre = await http().get('/auth/csrf').expect(200);
    const nonce = cookies(pre).join('; ');
    await http().post('/auth/login').set('Cookie', nonce).send({ user: 'alice' }).expect(403);
    const login = await http()
      .post('/auth/login')
      .set('Cookie', nonce)
      .set('x-csrf-token', pre.body.token)
      .send({ user: 'alice' })
      .expect(200);
    const session = cookies(login).find((c) => c.startsWith('__Host-sid='))!;

    // After sign-in: a new token, bound to the session.
    const { token } = (await http().get('/auth/csrf').set('Cookie', session).expect(200)).body;
    await http().post('/cart/items').set('Cookie', session).send({ sku: 'tea' }).expect(403);
    await http().post('/cart/items').set('Cookie', session).set('x-csrf-token', pre.body.token).send({ sku: 'tea' }).expect(403);
    await http().post('/cart/items').set('Cookie', session).set('x-csrf-token', token).send({ sku: 'tea' }).expect(200);
    // Another site's page is refused even with the token; the allowed sibling is not.
    await http()
      .post('/cart/items')
      .set('Cookie', session)
      .set('x-csrf-token', token)
      .set('Origin', 'https://evil.example')
      .send({ sku: 'x' })
      .expect(403);
    await http()
      .post('/cart/items')
      .set('Cookie', session)
      .set('x-csrf-token', token)
      .set('Origin', 'https://admin.example.com')
      .set('Sec-Fetch-Site', 'same-site')
      .send({ sku: 'tea' })
      .expect(200);
    // A JSON route refuses the body types another site can send without a preflight.
    await http()
      .post('/cart/items')
      .set('Cookie', session)
      .set('x-csrf-token', token)
      .set('Content-Type', 'text/plain')
      .send('{"sku":"x"}')
      .expect(415);

    await http().post('/webhooks/payments').send({ paid: true }).expect(200);
  } finally {
    await app.close();
  }
});
