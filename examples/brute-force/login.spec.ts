import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from './login.controller';

it('counts failures per account and client, and answers the third in a row with a progressive delay (429, Retry-After)', async () => {
  const ref = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = ref.createNestApplication({ logger: false });
  await app.init();
  try {
    const login = (password: string) => request(app.getHttpServer()).post('/auth/login').send({ username: 'alice', password });
    expect((await login('correct horse battery staple')).status).toBe(200);
    for (let n = 1; n <= 2; n++) expect((await login(`wrong-${n}`)).status).toBe(401);
    expect((await login('wrong-3')).body.message).toBe('Wrong username or password.');
    const next = await login('correct horse battery staple');
    // The third failure started the progressive delay: 429 with Retry-After, even for the right password.
    expect(next.status).toBe(429);
    expect(next.headers['retry-after']).toBe('1');
  } finally {
    await app.close();
  }
});
