import { Test } from '@nestjs/testing';
import { SessionStore, SessionStoreConnectionError } from 'nest-session-kit';
import request from 'supertest';
import { AppModule } from './app.module';

it('answers 200 with the store up and its latency, and 503 with the store down, then up again by itself', async () => {
  const ref = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = ref.createNestApplication({ logger: false });
  await app.init();
  try {
    const up = await request(app.getHttpServer()).get('/health');
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({
      status: 'ok',
      info: { sessionStore: { status: 'up', latencyMs: expect.any(Number), circuit: 'closed' } },
    });

    // The in-memory store cannot go down: its ping fails the way a real store's does when its server is gone.
    const store = app.get(SessionStore);
    const ping = jest.spyOn(store, 'ping').mockRejectedValue(new SessionStoreConnectionError('connect ECONNREFUSED 10.0.0.5:6379'));
    const down = await request(app.getHttpServer()).get('/health');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'error', error: { sessionStore: { status: 'down', reason: 'unreachable' } } });
    expect(JSON.stringify(down.body)).not.toContain('10.0.0.5'); // no address or error text in a public answer

    ping.mockRestore();
    expect((await request(app.getHttpServer()).get('/health')).status).toBe(200);
  } finally {
    await app.close();
  }
});
