import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from './login.controller';

it('counts failures per account and client: after the third in a row a sign-in needs a CAPTCHA solution first', async () => {
  const ref = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = ref.createNestApplication({ logger: false });
  await app.init();
  try {
    const login = (password: string) => request(app.getHttpServer()).post('/auth/login').send({ username: 'alice', password });
    expect((await login('correct horse battery staple')).status).toBe(200);
    for (let n = 1; n <= 2; n++) expect((await login(`wrong-${n}`)).status).toBe(401);
    expect((await login('wrong-3')).body.message).toBe('Wrong username or password.');
    const next = await login('correct horse battery staple');
    // The third failure started the CAPTCHA step (and a 1 s delay): without a solution no password is checked, even
    // the right one, and the answer carries the challenge to solve.
    expect(next.status).toBe(401);
    expect(next.body).toMatchObject({ code: 'CAPTCHA_REQUIRED', challenge: { algorithm: 'SHA-256' } });
  } finally {
    await app.close();
  }
});
