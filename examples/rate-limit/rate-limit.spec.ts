import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from './app.module';

it('lets 5 refreshes a minute through with RateLimit-* headers, then answers 429 TOO_MANY_REQUESTS with Retry-After', async () => {
  const ref = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = ref.createNestApplication({ logger: false });
  await app.init();
  try {
    const refresh = () => request(app.getHttpServer()).post('/api/auth/refresh');
    for (let n = 1; n <= 5; n++) {
      const ok = await refresh();
      expect(ok.status).toBe(200);
      expect(ok.headers['ratelimit-remaining']).toBe(String(5 - n));
    }
    const refused = await refresh();
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ statusCode: 429, code: 'TOO_MANY_REQUESTS' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(55);
    for (let n = 0; n < 10; n++) expect((await request(app.getHttpServer()).get('/api/health')).status).toBe(200);
  } finally {
    await app.close();
  }
});
