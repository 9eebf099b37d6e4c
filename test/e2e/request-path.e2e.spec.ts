import { Controller, ExecutionContext, Get, Injectable, INestApplication, Post, Req, Res } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Request, Response } from 'express';
import request from 'supertest';
import { bootPlatformApp, cookieOf } from '../support/session-app';
import {
  CurrentSession,
  InMemorySessionStore,
  Public,
  ReadOptions,
  ReadResult,
  SessionAuthGuard,
  SessionModule,
  SessionService,
  SessionView,
} from '../../lib';
import { bearerPrincipalOf, setBearerPrincipal } from '../../lib/guards/principal';

/*
 * The authenticated request path: what the guard returns (a value, not a promise, when the store answers at once)
 * and what it leaves on the request (nothing: Express 5 gives every request a map of its own, and a property added to
 * it costs every later access a runtime lookup, see STATES in lib/session.service.ts).
 */

/** What SessionAuthGuard.canActivate returned, per request: `true`, or a promise (and what it settled to). */
const returned: Array<{ kind: 'value'; value: boolean } | { kind: 'promise'; settled: Promise<string> }> = [];

@Injectable()
class RecordingGuard extends SessionAuthGuard {
  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const result = super.canActivate(context);
    if (result instanceof Promise) {
      returned.push({
        kind: 'promise',
        settled: result.then(
          (v) => `resolved ${v}`,
          (e: { status?: number }) => `rejected ${e.status}`,
        ),
      });
    } else {
      returned.push({ kind: 'value', value: result });
    }
    return result;
  }
}

/** The request's own keys when it entered the app (Express middleware, before any guard). */
const keysAtEntry = new WeakMap<object, (string | symbol)[]>();

@Controller()
class PathController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const view = await this.sessions.create(req, res, { userId: 'alice' });
    return { handle: view.handle };
  }

  @Get('me')
  me(@Req() req: Request, @CurrentSession() session: SessionView) {
    const before = keysAtEntry.get(req) ?? [];
    const added = Reflect.ownKeys(req).filter((key) => !before.includes(key));
    return { userId: session.userId, added: added.map(String) };
  }
}

/** The in-memory store answering with a promise, as every store with I/O does. */
class AsyncMemoryStore extends InMemorySessionStore {
  override async read(id: string, options: ReadOptions): Promise<ReadResult> {
    return super.read(id, options);
  }
}

async function boot(store?: InMemorySessionStore): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [SessionModule.forRoot(store ? { store } : {})],
    controllers: [PathController],
    providers: [{ provide: APP_GUARD, useClass: RecordingGuard }],
  }).compile();
  return bootPlatformApp(moduleRef, 'express', {
    configure: (app) =>
      app.use((req: Request, _res: Response, next: () => void) => {
        keysAtEntry.set(req, Reflect.ownKeys(req));
        next();
      }),
  });
}

describe('the authenticated request path', () => {
  beforeEach(() => {
    returned.length = 0;
  });

  it('admits at once, without a promise, when the store answers at once (the in-memory store)', async () => {
    const app = await boot();
    const cookie = cookieOf(await request(app.getHttpServer()).post('/login').expect(201));
    returned.length = 0;
    const res = await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
    expect(res.body.userId).toBe('alice');
    expect(returned).toEqual([{ kind: 'value', value: true }]);
    await app.close();
  });

  it('waits for a store that answers with a promise, and admits the same', async () => {
    const app = await boot(new AsyncMemoryStore());
    const cookie = cookieOf(await request(app.getHttpServer()).post('/login').expect(201));
    returned.length = 0;
    expect((await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200)).body.userId).toBe('alice');
    expect(returned).toHaveLength(1);
    expect(returned[0].kind).toBe('promise');
    await expect((returned[0] as { settled: Promise<string> }).settled).resolves.toBe('resolved true');
    await app.close();
  });

  it.each([
    ['no cookie', undefined],
    ['an unknown token', `__Host-sid=${'A'.repeat(43)}`],
    ['a malformed cookie', '__Host-sid=%%%'],
  ])('refuses %s with a rejected promise (never a synchronous throw), answered 401', async (_case, cookie) => {
    const app = await boot();
    const call = request(app.getHttpServer()).get('/me');
    await (cookie ? call.set('Cookie', cookie) : call).expect(401);
    expect(returned).toHaveLength(1);
    expect(returned[0].kind).toBe('promise');
    await expect((returned[0] as { settled: Promise<string> }).settled).resolves.toBe('rejected 401');
    await app.close();
  });

  it.each([
    ['the in-memory store', undefined],
    ['a store that answers with a promise', new AsyncMemoryStore()],
  ])('adds no property to the request (%s)', async (_case, store) => {
    const app = await boot(store);
    const cookie = cookieOf(await request(app.getHttpServer()).post('/login').expect(201));
    const res = await request(app.getHttpServer()).get('/me').set('Cookie', cookie).expect(200);
    // Express's router adds its own (params, route...) before the handler runs; the module adds nothing.
    expect(res.body.added.filter((key: string) => /session|principal|nest/i.test(key))).toEqual([]);
    expect(res.body.added.filter((key: string) => key.startsWith('Symbol('))).toEqual([]);
    await app.close();
  });

  it('keeps a bearer principal beside the request, not on it', () => {
    const req = { headers: {} };
    const principal = { credential: 'bearer', userId: 'u' } as unknown as Parameters<typeof setBearerPrincipal>[1];
    setBearerPrincipal(req, principal);
    expect(Reflect.ownKeys(req)).toEqual(['headers']);
    expect(bearerPrincipalOf(req)).toBe(principal);
    expect(bearerPrincipalOf({ headers: {} })).toBeUndefined();
  });
});
