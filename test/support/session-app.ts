/**
 * A Nest app around SessionModule for the module-level e2e specs: the given controllers behind SessionAuthGuard
 * as APP_GUARD (deny by default), and the session cookie as the answers set it.
 */
import { CanActivate, INestApplication, Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type request from 'supertest';
import { SessionAuthGuard, SessionModule, SessionModuleOptions } from '../../lib';

/**
 * Boots `SessionModule.forRoot(options)` with `controllers`, initialised and ready for supertest. `guards` run after
 * `SessionAuthGuard`, in order (e.g. `[RolesGuard, ReAuthGuard]`).
 */
export async function bootSessionApp(
  options: SessionModuleOptions,
  controllers: Type<unknown>[],
  guards: Type<CanActivate>[] = [],
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [SessionModule.forRoot(options)],
    controllers,
    providers: [{ provide: APP_GUARD, useClass: SessionAuthGuard }, ...guards.map((useClass) => ({ provide: APP_GUARD, useClass }))],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

/** Every `Set-Cookie` of an answer. */
export const cookiesOf = (res: request.Response): string[] => ([] as string[]).concat(res.headers['set-cookie'] ?? []);

/** The session cookie an answer set, as a `Cookie` header value (`__Host-sid=...`); throws when there is none. */
export function cookieOf(res: request.Response): string {
  const ours = cookiesOf(res).find((c) => c.startsWith('__Host-sid='));
  if (!ours) throw new Error('no session cookie set');
  return ours.split(';')[0];
}
