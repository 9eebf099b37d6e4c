/**
 * Benchmark server: one app variant per child process, started by bench/driver.ts (through bench/run.js).
 *
 *   node bench/out/build/bench/app.js <variant>      (env: BENCH_REDIS_URL for the Redis variants)
 *
 * Variants (all serve `GET /me`; the session variants also serve `POST /login`):
 * - `bare`        Nest app, `GET /me` returns a fixed user JSON. No session: the ceiling.
 * - `es-memory`   Nest + express-session with its MemoryStore.
 * - `es-redis`    Nest + express-session + connect-redis.
 * - `kit-memory`  Nest + SessionModule.forRoot() (default in-memory store) + SessionAuthGuard as APP_GUARD.
 * - `kit-redis`   the same with RedisSessionStore.
 * - `kit-memcached` the same with MemcachedSessionStore (private memcached, env `BENCH_MEMCACHED_SERVER`).
 * - `kit-sealed`  the same with sealed-cookie sessions (`sealed` option, in-memory revocation list); no idle re-seal
 *                 inside a run, as its connections keep the cookie of their login.
 * - `kit-roles`   kit-memory plus RolesGuard after SessionAuthGuard; `GET /me` carries `@Roles('user')`, and
 *                 logins get roles ['user'] (issue 6: the cost of role checks next to the plain session guard).
 * - `kit-anomaly` kit-memory plus a SessionAnomalyDetector (monitor) as the module's request-time check, wired by
 *                 SessionAnomalyInterceptor.providers() (the detector on the event bus; no global interceptor).
 * - `kit-defended` kit-csrf plus the anomaly detector (monitor) and its interceptor: the issue 7 target, the guarded
 *                 `GET /me` with both defences at least 0.85x bare.
 * - `kit-csrf`    kit-memory plus CsrfGuard as a second APP_GUARD (issue 7): the same `GET /me` (safe: the guard
 *                 only reads the method), `POST /cart` checked by the guard (send `x-csrf-token` from `GET /csrf`,
 *                 which needs the session cookie), and `POST /cart-unchecked`, the same handler under `@SkipCsrf()`,
 *                 so the two writes show the check's cost. Its `POST /login` is `@SkipCsrf()`, like the driver's.
 * - `kit-throttle` kit-memory plus RateLimitGuard first among the APP_GUARDs (issue 8), every route counted by
 *                 CounterThrottlerStorage on an InMemoryAttemptCounterStore (a limit no run reaches: 1 000 000 per
 *                 second), so `GET /me` shows what one rate-limit hit with its headers costs next to kit-memory.
 * - `kit-bearer`  Nest + ApiTokenModule (generated Ed25519 keys, in-memory token store) + BearerAuthGuard as the only
 *                 APP_GUARD; `GET /me` is `@BearerAuth()` and answers from `@CurrentPrincipal()` (issue 8: the token is
 *                 verified and its revocation checked in the token store on every request). `POST /login` issues a
 *                 token pair, `POST /refresh {refresh_token}` rotates one.
 * - `kit-bearer-es256` the same with ES256 keys (the algorithm @nestjs/jwt can use).
 * - `nestjs-jwt`  Nest + @nestjs/jwt: a guard calling `JwtService.verify` with the public `KeyObject` and the algorithm
 *                 pinned (ES256: jsonwebtoken has no EdDSA), the same handler shape; no revocation check.
 * - `kit-postgres` (scale run only, bench/scale.ts) the same with TypeOrmSessionStore on PostgreSQL: the database
 *                 named by BENCH_PG_DATABASE on 127.0.0.1:5432, its tables made by the store's migrations.
 * - `kit-metrics` kit-memory plus `metrics: { registry }` (a prom-client Registry of its own): every store call is
 *                 timed into the latency histogram and the event counters run (issue 10: what metrics cost).
 * - `kit-otel-nosdk` kit-memory with `tracing: true` and @opentelemetry/api loaded but no SDK registered: the module
 *                 must wrap nothing (issue 10: spans at no measurable cost without an SDK); exits if a span would record.
 * - `sample`      the sample app itself (sample/src/app.factory.ts): memory sessions, in-memory SQLite users,
 *                 helmet, its guards; `GET /me` as the contract defines it (issue 6: at most 1.5x kit-memory).
 *
 * Both session libraries get the same lifecycle settings: 30 min idle timeout, rolling expiry, and for the kit
 * a 1 s touch interval (so idle touches do happen during a run) and no periodic rotation within the run (1 h).
 *
 * The parent talks to the child over the IPC channel only (nothing extra on the measured HTTP port):
 *   parent → child  { id, cmd: 'cpu-start' | 'cpu-stop' | 'profile-start' | 'profile-stop' | 'resources' | 'gc' | 'stop' }
 * (`resources`: memory, open file descriptors, active handles by type and event-loop delay, for the soak run;
 * `gc`: a full collection, when started with `--expose-gc`.)
 *   child  → parent { type: 'ready', port } once listening, then { id, ... } answers.
 * The child exits when the parent disconnects, so no server outlives a crashed driver.
 */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { ResourceSampler } from './resources';
import {
  Body,
  CanActivate,
  Controller,
  createParamDecorator,
  ExecutionContext,
  Get,
  HttpCode,
  Injectable,
  INestApplication,
  LogLevel,
  Module,
  Post,
  Req,
  Res,
  UnauthorizedException,
  Type,
} from '@nestjs/common';
import { APP_GUARD, NestFactory, Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import session from 'express-session';
import { generateKeyPairSync } from 'node:crypto';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { AppVariant, SCALE_ONLY_VARIANTS, SESSION_SETTINGS, VARIANTS } from './settings';
import {
  AccessTokenAlgorithm,
  ApiTokenModule,
  ApiTokenService,
  BearerAuth,
  BearerAuthGuard,
  BearerPrincipal,
  CurrentPrincipal,
  InMemoryTokenStore,
  CsrfGuard,
  CsrfService,
  CurrentSession,
  Public,
  Roles,
  RolesGuard,
  SessionAnomalyDetector,
  SessionAnomalyInterceptor,
  SessionAuthGuard,
  SessionModule,
  SessionModuleOptions,
  SessionService,
  SessionView,
  SkipCsrf,
  InMemoryAttemptCounterStore,
} from '../lib';
import { ThrottlerModule } from '@nestjs/throttler';
import { CounterThrottlerStorage, RateLimitGuard } from '../lib/throttler';

declare module 'express-session' {
  interface SessionData {
    user: string;
  }
}

const IDLE_MS = 30 * 60_000;
const KEY_PREFIX = 'bench:';

/**
 * Login user id: `?user=` when given (the driver's pre-login), else a new user per login, so that the login
 * benchmark measures session creation itself (no user is ever over the kit's 10-sessions-per-user limit).
 */
let loginCounter = 0;
function loginUser(req: Request): string {
  const given = req.query.user;
  return typeof given === 'string' && given.length > 0 ? given : `user-${loginCounter++}`;
}

// ---------------------------------------------------------------------------------------------- bare

@Controller()
class BareController {
  @Get('me')
  me() {
    return { userId: 'user-1', handle: 'AAAAAAAAAAAAAAAAAAAAAA', lastSeenAt: 0 };
  }
}

/**
 * The guard of the bare app: a minimal app with one guarded handler, as the ratios are defined, so that they show
 * the session layer's own cost and not the price of Nest's guard pipeline, which any APP_GUARD pays. It admits
 * every request after a look at the request, without any session work.
 */
@Injectable()
class MinimalGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.getArgByIndex<Request>(0).headers !== undefined;
  }
}

@Module({ controllers: [BareController], providers: [{ provide: APP_GUARD, useClass: MinimalGuard }] })
class BareModule {}

// ----------------------------------------------------------------------------------- express-session

@Controller()
class ExpressSessionController {
  @Post('login')
  @HttpCode(200)
  login(@Req() req: Request): Promise<{ userId: string }> {
    const userId = loginUser(req);
    // What express-session's docs prescribe at login: a new id (no fixation), then an explicit save.
    return new Promise((resolve, reject) => {
      req.session.regenerate((err) => {
        if (err) return reject(err);
        req.session.user = userId;
        req.session.save((saveErr) => (saveErr ? reject(saveErr) : resolve({ userId })));
      });
    });
  }

  @Get('me')
  me(@Req() req: Request) {
    const userId = req.session.user;
    if (userId === undefined) throw new UnauthorizedException();
    return { userId, handle: req.sessionID.slice(0, 22), lastSeenAt: Date.now() };
  }
}

@Module({ controllers: [ExpressSessionController] })
class ExpressSessionModule {}

// ------------------------------------------------------------------------------------------- the kit

@Controller()
class KitController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const view = await this.sessions.create(req, res, { userId: loginUser(req) });
    return { userId: view.userId, handle: view.handle, lastSeenAt: view.lastSeenAt };
  }

  @Get('me')
  me(@CurrentSession() current: SessionView) {
    return { userId: current.userId, handle: current.handle, lastSeenAt: current.lastSeenAt };
  }
}

@Controller()
class KitRolesController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const view = await this.sessions.create(req, res, { userId: loginUser(req), roles: ['user'] });
    return { userId: view.userId, handle: view.handle, lastSeenAt: view.lastSeenAt };
  }

  @Roles('user')
  @Get('me')
  me(@CurrentSession() current: SessionView) {
    return { userId: current.userId, handle: current.handle, lastSeenAt: current.lastSeenAt };
  }
}

@Controller()
class KitCsrfController {
  constructor(
    private readonly sessions: SessionService,
    private readonly csrf: CsrfService,
  ) {}

  /** The driver signs in without a token; login CSRF is not what this variant measures. */
  @Public()
  @SkipCsrf()
  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const view = await this.sessions.create(req, res, { userId: loginUser(req) });
    return { userId: view.userId, handle: view.handle, lastSeenAt: view.lastSeenAt };
  }

  /** The token for the session of the request (one per session cookie, reusable for the whole run). */
  @Get('csrf')
  async token(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return { token: await this.csrf.token(req, res) };
  }

  @Get('me')
  me(@CurrentSession() current: SessionView) {
    return { userId: current.userId, handle: current.handle, lastSeenAt: current.lastSeenAt };
  }

  /** A write the CSRF guard checks (Fetch Metadata, Origin, token); the handler itself does no work. */
  @Post('cart')
  @HttpCode(200)
  cart(@CurrentSession() current: SessionView) {
    return { handle: current.handle, ok: true };
  }

  /** The same write, exempt from the guard. */
  @SkipCsrf()
  @Post('cart-unchecked')
  @HttpCode(200)
  cartUnchecked(@CurrentSession() current: SessionView) {
    return { handle: current.handle, ok: true };
  }
}

function kitCsrfModule(options: SessionModuleOptions, anomaly?: SessionAnomalyDetector): Type<unknown> {
  @Module({
    imports: [SessionModule.forRoot(anomaly ? { ...options, checks: [anomaly] } : options)],
    controllers: [KitCsrfController],
    providers: [
      { provide: APP_GUARD, useClass: SessionAuthGuard },
      { provide: APP_GUARD, useExisting: CsrfGuard },
      ...(anomaly ? SessionAnomalyInterceptor.providers(anomaly) : []),
    ],
  })
  class KitCsrfModule {}
  return KitCsrfModule;
}

function kitModule(options: SessionModuleOptions, withRoles = false, anomaly?: SessionAnomalyDetector): Type<unknown> {
  @Module({
    imports: [SessionModule.forRoot(anomaly ? { ...options, checks: [anomaly] } : options)],
    controllers: [withRoles ? KitRolesController : KitController],
    providers: [
      { provide: APP_GUARD, useClass: SessionAuthGuard },
      ...(withRoles ? [{ provide: APP_GUARD, useClass: RolesGuard }] : []),
      ...(anomaly ? SessionAnomalyInterceptor.providers(anomaly) : []),
    ],
  })
  class KitModule {}
  return KitModule;
}

function kitThrottleModule(options: SessionModuleOptions): Type<unknown> {
  @Module({
    imports: [
      SessionModule.forRoot(options),
      ThrottlerModule.forRoot({
        throttlers: [{ limit: 1_000_000, ttl: 1000 }],
        storage: new CounterThrottlerStorage({ store: new InMemoryAttemptCounterStore() }),
      }),
    ],
    controllers: [KitController],
    providers: [
      { provide: APP_GUARD, useClass: RateLimitGuard },
      { provide: APP_GUARD, useClass: SessionAuthGuard },
    ],
  })
  class KitThrottleModule {}
  return KitThrottleModule;
}

const KIT_OPTIONS: SessionModuleOptions = {
  idleTimeout: SESSION_SETTINGS.idleTimeout,
  touchInterval: SESSION_SETTINGS.touchInterval,
  rotationInterval: SESSION_SETTINGS.rotationInterval,
};

/** The CSRF options of the variants with `CsrfGuard` (a fixed bench key). */
const BENCH_CSRF = { secret: 'bench-csrf-secret-bench-csrf-secret!' };

// ------------------------------------------------------------------------------------ bearer tokens

const TOKEN_ISSUER = 'https://bench.test';
const TOKEN_AUDIENCE = 'https://bench.test/api';

@Controller()
class KitBearerController {
  constructor(private readonly tokens: ApiTokenService) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  login(@Req() req: Request) {
    return this.tokens.issue({ userId: loginUser(req), roles: ['user'] });
  }

  /** Rotates a refresh token: the driver's refreshes-per-second measurement sends a fresh one each time. */
  @Public()
  @Post('refresh')
  @HttpCode(200)
  refresh(@Body() body: { refresh_token?: unknown }) {
    return this.tokens.refresh(body.refresh_token, { roles: ['user'] });
  }

  @BearerAuth()
  @Get('me')
  me(@CurrentPrincipal() principal: BearerPrincipal) {
    return { userId: principal.userId, handle: principal.tokenId, lastSeenAt: 0 };
  }
}

function kitBearerModule(algorithm: AccessTokenAlgorithm): Type<unknown> {
  @Module({
    imports: [ApiTokenModule.forRoot({ issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, algorithm, store: new InMemoryTokenStore() })],
    controllers: [KitBearerController],
    providers: [{ provide: APP_GUARD, useExisting: BearerAuthGuard }],
  })
  class KitBearerModule {}
  return KitBearerModule;
}

/** The @nestjs/jwt reference: one ES256 key pair as KeyObjects, made at start-up. */
const JWT_KEYS = generateKeyPairSync('ec', { namedCurve: 'P-256' });

interface JwtClaims {
  sub: string;
  jti: string;
}

const JwtPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): JwtClaims | undefined => ctx.getArgByIndex<Request & { principal?: JwtClaims }>(0).principal,
);

/** The guard an app writes around @nestjs/jwt: the Authorization header, `verify` with the public KeyObject and a pinned algorithm. */
@Injectable()
class JwtBearerGuard implements CanActivate {
  constructor(
    private readonly jwt: JwtService,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride(Public, [context.getHandler(), context.getClass()])) return true;
    const req = context.getArgByIndex<Request & { principal?: JwtClaims }>(0);
    const header = req.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) throw new UnauthorizedException();
    try {
      // The module's public KeyObject and verifyOptions (algorithm pinned, issuer, audience).
      req.principal = this.jwt.verify<JwtClaims>(header.slice(7));
    } catch {
      throw new UnauthorizedException();
    }
    return true;
  }
}

@Controller()
class NestJwtController {
  constructor(private readonly jwt: JwtService) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  login(@Req() req: Request) {
    const userId = loginUser(req);
    const jti = `${userId}-${loginCounter}`;
    return { access_token: this.jwt.sign({ sub: userId, roles: ['user'] }, { jwtid: jti }), token_type: 'Bearer', expires_in: 600 };
  }

  @Get('me')
  me(@JwtPrincipal() principal: JwtClaims) {
    return { userId: principal.sub, handle: principal.jti, lastSeenAt: 0 };
  }
}

@Module({
  imports: [
    JwtModule.register({
      privateKey: JWT_KEYS.privateKey,
      publicKey: JWT_KEYS.publicKey,
      signOptions: { algorithm: 'ES256', expiresIn: 600, issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE },
      verifyOptions: { algorithms: ['ES256'], issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE },
    }),
  ],
  controllers: [NestJwtController],
  providers: [{ provide: APP_GUARD, useClass: JwtBearerGuard }],
})
class NestJwtModule {}

// ------------------------------------------------------------------------------------------ start-up

/**
 * What the servers log: errors only, on stderr (the bench log). Nothing is logged per request on the measured paths;
 * a window with failed answers then says why (a session store failing closed logs its cause, at most once a second).
 */
const SERVER_LOG: LogLevel[] = ['error'];

/** Something to release at shutdown (Redis clients, stores). */
type Closer = () => Promise<unknown>;

async function createApp(variant: AppVariant, redisUrl: string | undefined, closers: Closer[]): Promise<INestApplication> {
  const needRedis = (): string => {
    if (!redisUrl) throw new Error(`variant ${variant} needs BENCH_REDIS_URL`);
    return redisUrl;
  };
  switch (variant) {
    case 'bare':
      return NestFactory.create(BareModule, { logger: SERVER_LOG });
    case 'es-memory':
    case 'es-redis': {
      let store: session.Store;
      if (variant === 'es-redis') {
        const client = createClient({ url: needRedis() });
        await client.connect();
        closers.push(() => client.quit());
        store = new RedisStore({ client, prefix: `${KEY_PREFIX}es:` });
      } else {
        store = new session.MemoryStore();
      }
      const app = await NestFactory.create(ExpressSessionModule, { logger: SERVER_LOG });
      app.use(
        session({
          store,
          name: 'sid',
          secret: 'bench-secret-bench-secret-bench-secret',
          resave: false,
          saveUninitialized: false,
          rolling: true,
          cookie: { httpOnly: true, secure: false, sameSite: 'lax', maxAge: IDLE_MS },
        }),
      );
      return app;
    }
    case 'kit-memory':
      return NestFactory.create(kitModule(KIT_OPTIONS), { logger: SERVER_LOG });
    case 'sample': {
      const { createApp: createSample } = await import('../sample/src/app.factory');
      const { parseConfig } = await import('../sample/src/config');
      // BENCH_SAMPLE_ENV (JSON object of the sample's environment variables) overrides these: the soak run sets
      // short rotation and token lifetimes, trusted proxies and a users database on disk (bench/soak.ts).
      const overrides = process.env.BENCH_SAMPLE_ENV ? (JSON.parse(process.env.BENCH_SAMPLE_ENV) as Record<string, string>) : {};
      const config = parseConfig({
        DATABASE_URL: 'sqlite::memory:',
        SECURITY_LOG: '/dev/null',
        SESSION_MAX_CONCURRENT: '100',
        ...overrides,
      });
      return createSample(config, { logger: SERVER_LOG });
    }
    case 'kit-roles':
      return NestFactory.create(kitModule({ ...KIT_OPTIONS, roles: { hierarchy: { admin: ['user'] } } }, true), { logger: SERVER_LOG });
    case 'kit-anomaly':
      return NestFactory.create(kitModule(KIT_OPTIONS, false, new SessionAnomalyDetector({ policy: 'monitor' })), { logger: SERVER_LOG });
    case 'kit-csrf':
      return NestFactory.create(kitCsrfModule({ ...KIT_OPTIONS, csrf: BENCH_CSRF }), { logger: SERVER_LOG });
    case 'kit-defended':
      return NestFactory.create(kitCsrfModule({ ...KIT_OPTIONS, csrf: BENCH_CSRF }, new SessionAnomalyDetector({ policy: 'monitor' })), {
        logger: SERVER_LOG,
      });
    case 'kit-throttle':
      return NestFactory.create(kitThrottleModule(KIT_OPTIONS), { logger: SERVER_LOG });
    case 'kit-metrics': {
      const { Registry } = await import('prom-client');
      return NestFactory.create(kitModule({ ...KIT_OPTIONS, metrics: { registry: new Registry() } }), { logger: SERVER_LOG });
    }
    case 'kit-otel-nosdk': {
      const { trace } = await import('@opentelemetry/api');
      // The premise of the variant: the API is there, and a span started through it would not record.
      if (trace.getTracer('bench').startSpan('probe').isRecording()) throw new Error('kit-otel-nosdk: a tracer provider is registered');
      return NestFactory.create(kitModule({ ...KIT_OPTIONS, tracing: true }), { logger: SERVER_LOG });
    }
    case 'kit-bearer':
      return NestFactory.create(kitBearerModule('EdDSA'), { logger: SERVER_LOG });
    case 'kit-bearer-es256':
      return NestFactory.create(kitBearerModule('ES256'), { logger: SERVER_LOG });
    case 'nestjs-jwt':
      return NestFactory.create(NestJwtModule, { logger: SERVER_LOG });
    case 'kit-redis': {
      const store = await createKitRedisStore(needRedis());
      closers.push(() => store.close());
      return NestFactory.create(kitModule({ ...KIT_OPTIONS, store }), { logger: SERVER_LOG });
    }
    case 'kit-memcached': {
      const server = process.env.BENCH_MEMCACHED_SERVER;
      if (!server) throw new Error('variant kit-memcached needs BENCH_MEMCACHED_SERVER (host:port of the private memcached)');
      const { MemcachedSessionStore } = await import('../lib/stores/memcached');
      const store = new MemcachedSessionStore({ server, prefix: 'nsk-bench:' });
      closers.push(() => store.close());
      return NestFactory.create(kitModule({ ...KIT_OPTIONS, store }), { logger: SERVER_LOG });
    }
    case 'kit-sealed':
      // The connections of a run keep the cookie their login got (autocannon does not take Set-Cookie), so an idle
      // re-seal would repeat on every request: no touch inside a run (a browser re-seals at most once per
      // touchInterval and then sends the new cookie). Every request opens the JWE and checks the revocation list.
      return NestFactory.create(
        kitModule({
          idleTimeout: SESSION_SETTINGS.idleTimeout,
          touchInterval: '20m',
          rotationInterval: SESSION_SETTINGS.rotationInterval,
          maxConcurrentSessions: 0,
          sealed: { keys: [{ kid: 'bench', key: 'YmVuY2gtc2VhbGluZy1rZXktMzItYnl0ZXMtbG9uZyE' }], revocations: 'memory' },
        }),
        { logger: SERVER_LOG },
      );
    case 'kit-postgres': {
      const database = process.env.BENCH_PG_DATABASE;
      if (!database) throw new Error('variant kit-postgres needs BENCH_PG_DATABASE (a database the scale run created)');
      const store = await createKitPostgresStore(database, closers);
      return NestFactory.create(kitModule({ ...KIT_OPTIONS, store }), { logger: SERVER_LOG });
    }
  }
}

/**
 * TypeOrmSessionStore (`nest-session-kit/typeorm`) on `database` of the PostgreSQL at 127.0.0.1:5432 (user
 * `postgres`, trust), whose tables the scale run made with `SESSION_MIGRATIONS`. Default pool (10) and cleanup
 * (every 60 s), as an application would run it.
 */
async function createKitPostgresStore(database: string, closers: Closer[]): Promise<import('../lib').SessionStore> {
  const { DataSource } = await import('typeorm');
  const { TypeOrmSessionStore } = await import('../lib/stores/typeorm');
  const dataSource = await new DataSource({ type: 'postgres', host: '127.0.0.1', port: 5432, username: 'postgres', database }).initialize();
  const store = new TypeOrmSessionStore({ dataSource });
  closers.push(async () => {
    await store.close();
    await dataSource.destroy();
  });
  return store;
}

/** RedisSessionStore from `nest-session-kit/redis`, with its own client on the private benchmark Redis. */
async function createKitRedisStore(url: string): Promise<import('../lib').SessionStore> {
  const { RedisSessionStore } = await import('../lib/stores/redis');
  // The prefix keeps the default's hash tag shape ({...}:), so the keys would stay in one Cluster slot.
  return RedisSessionStore.connect({ url, prefix: '{bench-kit}:' });
}

async function main(): Promise<void> {
  const variant = process.argv[2] as AppVariant;
  const known: readonly AppVariant[] = [...VARIANTS, ...SCALE_ONLY_VARIANTS];
  if (!known.includes(variant)) throw new Error(`unknown variant ${process.argv[2]}; use one of ${known.join(', ')}`);
  if (!process.send) throw new Error('bench/app.js runs as a child of bench/driver.js (it needs the IPC channel)');

  const closers: Closer[] = [];
  const app = await createApp(variant, process.env.BENCH_REDIS_URL, closers);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };

  let cpuStart = process.cpuUsage();
  let timeStart = process.hrtime.bigint();
  const shutdown = async (code: number): Promise<never> => {
    await Promise.race([
      (async () => {
        await app.close();
        for (const close of closers) await close().catch(() => undefined);
      })(),
      new Promise((resolve) => setTimeout(resolve, 2000).unref()),
    ]);
    process.exit(code);
  };

  const resources = new ResourceSampler();
  // CPU profile of a window, for bench/profile.ts (in-process inspector: only the measured window is sampled).
  const inspector = new Session();
  const post = <T>(method: string, params?: object): Promise<T> =>
    new Promise((resolve, reject) => inspector.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))));

  process.on('message', (msg: { id: number; cmd: string; file?: string; intervalUs?: number }) => {
    switch (msg.cmd) {
      case 'profile-start':
        inspector.connect();
        void post('Profiler.enable')
          .then(() => post('Profiler.setSamplingInterval', { interval: msg.intervalUs ?? 200 }))
          .then(() => post('Profiler.start'))
          .then(() => process.send!({ id: msg.id }));
        break;
      case 'profile-stop':
        void post<{ profile: object }>('Profiler.stop').then(({ profile }) => {
          writeFileSync(msg.file!, JSON.stringify(profile));
          inspector.disconnect();
          process.send!({ id: msg.id, file: msg.file });
        });
        break;
      case 'cpu-start':
        cpuStart = process.cpuUsage();
        timeStart = process.hrtime.bigint();
        process.send!({ id: msg.id });
        break;
      case 'cpu-stop': {
        const cpu = process.cpuUsage(cpuStart);
        const elapsedUs = Number((process.hrtime.bigint() - timeStart) / 1000n);
        process.send!({ id: msg.id, userUs: cpu.user, systemUs: cpu.system, elapsedUs, heapUsed: process.memoryUsage().heapUsed });
        break;
      }
      case 'resources':
        process.send!({ id: msg.id, ...resources.take() });
        break;
      case 'gc':
        if (typeof global.gc !== 'function') {
          process.send!({ id: msg.id, error: 'gc needs node --expose-gc' });
        } else {
          global.gc();
          process.send!({ id: msg.id });
        }
        break;
      case 'stop':
        void shutdown(0);
        break;
      default:
        process.send!({ id: msg.id, error: `unknown command ${msg.cmd}` });
    }
  });
  // The driver went away (exit, crash, kill): do not linger.
  process.on('disconnect', () => void shutdown(0));
  process.send({ type: 'ready', port: address.port });
}

main().catch((error: unknown) => {
  console.error(`[bench app ${process.argv[2]}]`, error);
  process.exit(1);
});
