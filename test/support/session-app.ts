/**
 * A Nest app around SessionModule for the module-level e2e specs: the given controllers behind SessionAuthGuard
 * as APP_GUARD (deny by default), and the session cookie as the answers set it. Every app runs on the HTTP platform
 * asked for (Express or Fastify), so the specs run once per platform with `describe.each(PLATFORMS)`.
 */
import { CanActivate, INestApplication, Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, TestingModule } from '@nestjs/testing';
import type request from 'supertest';
import { SessionAuthGuard, SessionModule, SessionModuleOptions } from '../../lib';

/** The HTTP platforms the library supports: `@nestjs/platform-express` (Nest's default) and `@nestjs/platform-fastify`. */
export type HttpPlatform = 'express' | 'fastify';

/** Both platforms, for `describe.each(PLATFORMS)('... on %s', (platform) => ...)`. */
export const PLATFORMS: readonly HttpPlatform[] = ['express', 'fastify'];

/** Each case once per platform, for `describe.each(acrossPlatforms(backends))('... ($name on $platform)', ...)`. */
export function acrossPlatforms<T extends object>(cases: readonly T[]): Array<T & { platform: HttpPlatform }> {
  return PLATFORMS.flatMap((platform) => cases.map((c) => ({ ...c, platform })));
}

/** How to build the app beyond its module. */
export interface PlatformAppOptions {
  /**
   * The proxies whose `X-Forwarded-For` the platform believes (`'loopback'` for supertest's connections): Express's
   * `trust proxy` setting, Fastify's `trustProxy` option. Default: none, so the client is the socket address.
   */
  trustProxy?: string;
  /** Runs before `init()` (e.g. to add a platform's body parser). */
  configure?: (app: INestApplication) => void;
}

/**
 * Creates and initialises the app of `moduleRef` on `platform`, ready for supertest on `app.getHttpServer()`: a
 * Fastify instance must also be `ready()` before its server answers anything not sent through `app.listen()`.
 */
export async function bootPlatformApp(
  moduleRef: TestingModule,
  platform: HttpPlatform,
  options: PlatformAppOptions = {},
): Promise<INestApplication> {
  let app: INestApplication;
  if (platform === 'fastify') {
    app = moduleRef.createNestApplication<NestFastifyApplication>(
      new FastifyAdapter(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
      { logger: false },
    );
  } else {
    const express = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
    if (options.trustProxy !== undefined) express.set('trust proxy', options.trustProxy);
    app = express;
  }
  options.configure?.(app);
  await app.init();
  if (platform === 'fastify') await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  return app;
}

/**
 * Boots `SessionModule.forRoot(options)` with `controllers` on `platform` (default Express), initialised and ready
 * for supertest. `guards` run after `SessionAuthGuard`, in order (e.g. `[RolesGuard, ReAuthGuard]`).
 */
export async function bootSessionApp(
  options: SessionModuleOptions,
  controllers: Type<unknown>[],
  guards: Type<CanActivate>[] = [],
  platform: HttpPlatform = 'express',
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [SessionModule.forRoot(options)],
    controllers,
    providers: [{ provide: APP_GUARD, useClass: SessionAuthGuard }, ...guards.map((useClass) => ({ provide: APP_GUARD, useClass }))],
  }).compile();
  return bootPlatformApp(moduleRef, platform);
}

/** Every `Set-Cookie` of an answer. */
export const cookiesOf = (res: request.Response): string[] => ([] as string[]).concat(res.headers['set-cookie'] ?? []);

/** The session cookie an answer set, as a `Cookie` header value (`__Host-sid=...`); throws when there is none. */
export function cookieOf(res: request.Response): string {
  const ours = cookiesOf(res).find((c) => c.startsWith('__Host-sid='));
  if (!ours) throw new Error('no session cookie set');
  return ours.split(';')[0];
}
