import { Test } from '@nestjs/testing';
import request from 'supertest';
import { ManualClock, SESSION_MODULE_OPTIONS } from 'nest-session-kit';
import { AppModule } from './app.module';

it('signs in for a token pair, calls the API, refreshes, detects reuse and revokes', async () => {
  const ref = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = ref.createNestApplication({ logger: false });
  await app.init();
  try {
    const http = () => request(app.getHttpServer());
    const first = await http().post('/oauth/token').send({ username: 'alice', password: 'correct horse' }).expect(200);
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.body).toMatchObject({ token_type: 'Bearer', expires_in: 600, refresh_token: expect.stringMatching(/^nsk_rt_/) });
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

    expect((await http().get('/api/me').set(bearer(first.body.access_token)).expect(200)).body).toEqual({ user: 'alice', roles: ['user'] });
    expect((await http().get('/api/admin').set(bearer(first.body.access_token)).expect(403)).body.code).toBe('INSUFFICIENT_ROLE');
    expect((await http().get('/api/me').expect(401)).body.code).toBe('INVALID_TOKEN');

    // Every refresh answers a new refresh token; the used one dies.
    const second = await http().post('/oauth/refresh').send({ refresh_token: first.body.refresh_token }).expect(200);
    await http().get('/api/me').set(bearer(second.body.access_token)).expect(200);

    // Revoking the access token refuses it at once; revoking the refresh token ends the sign-in.
    await http().post('/oauth/revoke').send({ token: second.body.access_token }).expect(200);
    expect((await http().get('/api/me').set(bearer(second.body.access_token)).expect(401)).body.code).toBe('INVALID_TOKEN');
    await http().post('/oauth/revoke').send({ token: second.body.refresh_token }).expect(200);
    expect((await http().post('/oauth/refresh').send({ refresh_token: second.body.refresh_token }).expect(401)).body.code).toBe(
      'INVALID_REFRESH_TOKEN',
    );

    // The public keys, for other services that verify the tokens.
    const jwks = await http().get('/.well-known/jwks.json').expect(200);
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
  } finally {
    await app.close();
  }
});

it('gives parallel refreshes the same successor, and answers REFRESH_TOKEN_REUSED after the grace window', async () => {
  const clock = new ManualClock();
  // ApiTokenModule uses SessionModule's clock: move it instead of waiting.
  const ref = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(SESSION_MODULE_OPTIONS)
    .useValue({ clock })
    .compile();
  const app = ref.createNestApplication({ logger: false });
  await app.init();
  try {
    const http = () => request(app.getHttpServer());
    const first = await http().post('/oauth/token').send({ username: 'alice', password: 'correct horse' }).expect(200);
    const second = await http().post('/oauth/refresh').send({ refresh_token: first.body.refresh_token }).expect(200);
    // Within the 10 s grace a repeat answers the same successor (a client's parallel refreshes)...
    const repeat = await http().post('/oauth/refresh').send({ refresh_token: first.body.refresh_token }).expect(200);
    expect(repeat.body.refresh_token).toBe(second.body.refresh_token);
    // ...after it, the used token is a stolen one: the whole sign-in is revoked.
    clock.advance(10_000);
    const reused = await http().post('/oauth/refresh').send({ refresh_token: first.body.refresh_token }).expect(401);
    expect(reused.body.code).toBe('REFRESH_TOKEN_REUSED');
    await http().post('/oauth/refresh').send({ refresh_token: second.body.refresh_token }).expect(401);
  } finally {
    await app.close();
  }
});
