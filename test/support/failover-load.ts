/**
 * Test support: HTTP load on a SessionModule app while a Redis failover happens under it (the cluster and Sentinel
 * suites). Workers sign users in and read sessions back in a loop; every answer is counted by status, every login
 * that answered 200 is remembered (to check afterwards that none was lost), and every error the store throws that
 * is not a SessionStoreConnectionError (the 503 kind) is recorded, so a 500 comes with its cause.
 */
import { Controller, Get, HttpCode, INestApplication, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import request from 'supertest';
import { CurrentUser, Public, SessionService, SessionStore } from '../../lib';
import { randomBytes } from 'node:crypto';
import { isStoreConnectionError } from '../../lib/core/errors';
import { waitFor } from './private-topology';
import { bootSessionApp, cookieOf } from './session-app';

@Controller()
class LoadController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login/:user')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const session = await this.sessions.create(req, res, { userId: String(req.params.user) });
    return { handle: session.handle };
  }

  @Get('me')
  me(@CurrentUser() userId: string) {
    return { userId };
  }
}

export class FailoverLoad {
  readonly acknowledged: Array<{ user: string; cookie: string }> = [];
  readonly statuses = new Map<number, number>();
  /** Answers other than 200 and 503 (the first few, with their bodies). */
  readonly unexpected: string[] = [];
  /** Errors the store threw that are not SessionStoreConnectionError. */
  readonly bugs: unknown[] = [];
  private stopped = false;
  private workers: Promise<void>[] = [];

  private constructor(
    private readonly app: INestApplication,
    private readonly tag: string,
  ) {}

  /** Boots the app on `store` (watched) and starts `workers` loops of login + read. */
  static async start(store: SessionStore, tag: string, workers = 4): Promise<FailoverLoad> {
    const bugs: unknown[] = [];
    const watched = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result = value.apply(target, args);
          return result instanceof Promise
            ? result.catch((err: unknown) => {
                if (!isStoreConnectionError(err)) bugs.push(err);
                throw err;
              })
            : result;
        };
      },
    });
    const app = await bootSessionApp({ store: watched }, [LoadController]);
    const load = new FailoverLoad(app, tag);
    (load as { bugs: unknown[] }).bugs = bugs;
    load.workers = Array.from({ length: workers }, (_, w) => load.work(w));
    return load;
  }

  http() {
    return request(this.app.getHttpServer());
  }

  private count(res: request.Response): void {
    this.statuses.set(res.status, (this.statuses.get(res.status) ?? 0) + 1);
    if (res.status !== 200 && res.status !== 503 && this.unexpected.length < 5)
      this.unexpected.push(`${res.status} ${JSON.stringify(res.body)}`);
  }

  private async work(w: number): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const user = `load-${w}-${i}-${this.tag}`;
      const login = await this.http().post(`/login/${user}`);
      this.count(login);
      if (login.status === 200) this.acknowledged.push({ user, cookie: cookieOf(login) });
      const sample = this.acknowledged[Math.floor(Math.random() * this.acknowledged.length)];
      if (sample) this.count(await this.http().get('/me').set('Cookie', sample.cookie));
    }
  }

  /** Stops the workers and waits for their last requests. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers);
  }

  /** Every remembered login that no longer authenticates as its user (should be none). */
  async lost(): Promise<string[]> {
    const lost: string[] = [];
    for (const { user, cookie } of this.acknowledged) {
      const me = await this.http().get('/me').set('Cookie', cookie);
      if (me.status !== 200 || me.body.userId !== user) lost.push(`${user}: ${me.status}`);
    }
    return lost;
  }

  /** Whether a login of a fresh user succeeds now. */
  async loginWorks(user: string): Promise<boolean> {
    const res = await this.http().post(`/login/${user}`);
    this.lastLogin = `${res.status} ${JSON.stringify(res.body)}`;
    return res.status === 200;
  }

  /**
   * Waits (at most 60 s) until `count` logins of fresh users in a row succeed: the store serves again after a
   * failover. `what` names the situation in the timeout message; users are named `<userPrefix>-<random>`.
   */
  async waitForLoginsInARow(what: string, userPrefix: string, count = 30): Promise<void> {
    let inARow = 0;
    await waitFor(
      `${count} logins in a row to succeed ${what}`,
      async () => {
        inARow = (await this.loginWorks(`${userPrefix}-${randomBytes(6).toString('hex')}`)) ? inARow + 1 : 0;
        return inARow >= count;
      },
      60_000,
      0,
    );
  }

  /** The last answer of {@link loginWorks}, for failure messages. */
  lastLogin = '';

  summary(): string {
    return `statuses ${JSON.stringify([...this.statuses].sort())}, ${this.acknowledged.length} logins acknowledged`;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.app.close();
  }
}
