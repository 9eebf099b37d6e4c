/**
 * End-to-end suite of the packed package under Nest 12 (ESM-only), run by scripts/check-nest12.js with node:test
 * (jest cannot load Nest 12) in a scratch `"type": "module"` app where this file and test/nest12/app are compiled
 * with `moduleResolution: nodenext`; test/nest12/app is compiled a second time as CommonJS (a Nest 12 app that
 * kept CommonJS, which Nest 12 supports through require(esm)). It starts each compiled app with each store and HTTP
 * platform of NEST12_RUNS (`kind:store[:platform]`, default `esm:memory,esm:redis,cjs:memory,esm:memory:fastify`:
 * the last boots the same compiled app on `@nestjs/platform-fastify`) and talks to it over real HTTP with fetch:
 * login, the auth guard, `@Roles`, rotation at login, at a privilege change and periodically (through the app's
 * clock, the module's `clock` option), and logout.
 *
 * Environment: NEST12_ESM_MAIN and NEST12_CJS_MAIN (the compiled main.js of each; required), NEST12_RUNS, REDIS_URL.
 */
import { HttpException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InsufficientRoleException, SessionRequiredException } from 'nest-session-kit';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

const MAINS: Record<string, string | undefined> = { esm: process.env.NEST12_ESM_MAIN, cjs: process.env.NEST12_CJS_MAIN };
const RUNS = (process.env.NEST12_RUNS ?? 'esm:memory,esm:redis,cjs:memory,esm:memory:fastify').split(',').filter(Boolean);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const COOKIE = '__Host-sid';

void describe('one copy of Nest in the app and the package', () => {
  void it('the package resolves the same @nestjs/common and @nestjs/core files as the app', () => {
    const app = createRequire(join(process.cwd(), 'package.json'));
    const library = createRequire(app.resolve('nest-session-kit'));
    for (const name of ['@nestjs/common', '@nestjs/core']) {
      assert.equal(realpathSync(library.resolve(name)), realpathSync(app.resolve(name)), `${name} is installed twice`);
    }
  });

  void it("the package's exceptions are the app's HttpException (else Nest answers 500 instead of 401/403)", () => {
    assert.ok(new InsufficientRoleException() instanceof HttpException);
    assert.ok(new SessionRequiredException() instanceof HttpException);
    assert.equal(new InsufficientRoleException().getStatus(), 403);
  });

  void it("@nestjs/core's Reflector is one class whether required or imported", () => {
    const app = createRequire(join(process.cwd(), 'package.json'));
    assert.equal((app('@nestjs/core') as { Reflector: unknown }).Reflector, Reflector);
  });
});

/** The compiled app in a child process on an ephemeral port; its output is kept for failure messages. */
class AppProcess {
  private child: ChildProcess | undefined;
  private output = '';
  private base = '';

  constructor(
    private readonly kind: string,
    private readonly store: string,
    private readonly platform: string,
  ) {}

  async start(): Promise<void> {
    const main = MAINS[this.kind];
    if (!main)
      throw new Error(
        `no compiled ${this.kind} app (NEST12_${this.kind.toUpperCase()}_MAIN): run this suite through scripts/check-nest12.js`,
      );
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', STORE: this.store, PLATFORM: this.platform, REDIS_URL, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const listening = /listening on (http:\/\/[\w.:[\]]+) \((\w+)\)/.exec(this.output);
      if (listening) {
        // The adapter's own name for itself: a platform switch the app ignored would test Express twice.
        assert.equal(listening[2], this.platform, `asked for ${this.platform}, the app runs on ${listening[2]}`);
        this.base = listening[1];
        return;
      }
      if (child.exitCode !== null) break;
      await new Promise((done) => setTimeout(done, 50));
    }
    throw new Error(
      `the Nest 12 ${this.kind} app (${this.store} store, ${this.platform}) did not start within 30 s. Its output:\n${this.output}`,
    );
  }

  /**
   * SIGTERM: Nest's shutdown hooks close the app (the store included), log it, and re-raise the signal, all within
   * 10 s. Nothing in the app's output may be a Node warning or a Nest error.
   */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<string>((done) => child.once('exit', (code, signal) => done(signal ?? `exit ${code}`)));
      child.kill('SIGTERM');
      const how = await Promise.race([exited, new Promise<'timeout'>((done) => setTimeout(() => done('timeout'), 10_000))]);
      if (how === 'timeout') {
        child.kill('SIGKILL');
        throw new Error(`the app did not stop within 10 s of SIGTERM. Its output:\n${this.output}`);
      }
      assert.ok(how === 'SIGTERM' || how === 'exit 0', `the app ended with ${how} on SIGTERM. Its output:\n${this.output}`);
      assert.match(this.output, /shut down cleanly \(SIGTERM\)/, `the shutdown hooks did not run. Its output:\n${this.output}`);
    }
    const bad = this.output.split('\n').filter((line) => /Warning\b|\bERROR\b|\bWARN\b/.test(line));
    assert.deepEqual(bad, [], `the app printed warnings or errors. Its output:\n${this.output}`);
  }

  get(path: string, cookie?: string): Promise<Response> {
    return fetch(this.base + path, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  }

  post(path: string, cookie?: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = cookie ? { cookie } : {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(this.base + path, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  /** POST /auth/login with the account's right password unless `password` is given, sending `cookie` if given. */
  login(username: string, options: { password?: string; cookie?: string } = {}): Promise<Response> {
    const password = options.password ?? `${username}-correct-horse-1`;
    return this.post('/auth/login', options.cookie, { username, password });
  }

  async advanceClock(ms: number): Promise<void> {
    const res = await this.post('/test-clock/advance', undefined, { ms });
    assert.equal(res.status, 200, `POST /test-clock/advance: ${res.status} ${await res.text()}`);
  }
}

/** The session cookie an answer set, as a `Cookie` header value; fails when it set none. */
function cookieOf(res: Response): string {
  const line = setCookie(res);
  assert.ok(line && !line.startsWith(`${COOKIE}=;`), `expected a new session cookie from ${res.url}, got ${line}`);
  return line.split(';')[0];
}

/** The answer's session `Set-Cookie` line, if any (at most one is allowed). */
function setCookie(res: Response): string | undefined {
  const ours = res.headers.getSetCookie().filter((c) => c.startsWith(`${COOKIE}=`));
  assert.ok(ours.length <= 1, `more than one session cookie set: ${ours.join(' | ')}`);
  return ours[0];
}

async function expectError(res: Response, status: number, code?: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, `${res.url}: expected ${status}, got ${res.status} ${text}`);
  if (code) assert.equal((JSON.parse(text) as { code?: string }).code, code, `${res.url}: ${text}`);
}

async function listSessions(app: AppProcess, cookie: string): Promise<Array<{ current: boolean }>> {
  const res = await app.get('/me/sessions', cookie);
  assert.equal(res.status, 200, `GET /me/sessions: ${res.status}`);
  return (await res.json()) as Array<{ current: boolean }>;
}

for (const run of RUNS) {
  const [kind, store, platform = 'express'] = run.split(':');
  void describe(`Nest 12 ${kind === 'cjs' ? 'CommonJS' : 'ESM'} app, ${store} store, ${platform}`, () => {
    const app = new AppProcess(kind, store, platform);
    before(() => app.start());
    after(() => app.stop());

    void it('answers 401 SESSION_REQUIRED without a session, and a malformed cookie is anonymous, not a 500', async () => {
      const anonymous = await app.get('/me');
      await expectError(anonymous, 401, 'SESSION_REQUIRED');
      assert.equal(anonymous.headers.get('cache-control'), 'no-store', 'a refusal depends on the session: never cached');
      const garbage = await app.get('/me', `${COOKIE}=not-a-token`);
      await expectError(garbage, 401, 'SESSION_REQUIRED');
      assert.equal(garbage.headers.get('cache-control'), 'no-store');
      assert.match(setCookie(garbage) ?? '', /^__Host-sid=; .*Max-Age=0/, 'the malformed cookie is cleared');
    });

    void it('logs in with a hardened cookie, then the guard lets the session through', async () => {
      const wrong = await app.login('alice', { password: 'wrong-password' });
      assert.equal(wrong.status, 401);
      assert.equal(setCookie(wrong), undefined, 'a failed login sets no cookie');

      const login = await app.login('alice');
      assert.equal(login.status, 200);
      assert.deepEqual(await login.json(), { userId: 'alice', roles: ['user'] });
      const line = setCookie(login);
      assert.match(line ?? '', /^__Host-sid=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
      assert.equal(login.headers.get('cache-control'), 'no-store');

      const me = await app.get('/me', cookieOf(login));
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { userId: string }).userId, 'alice');
    });

    void it('issues a new id at login and kills the one the browser had (no fixation)', async () => {
      const first = cookieOf(await app.login('alice'));
      const second = await app.login('alice', { cookie: first });
      assert.equal(second.status, 200);
      assert.notEqual(cookieOf(second), first);
      await expectError(await app.get('/me', first), 401);
      assert.equal((await app.get('/me', cookieOf(second))).status, 200);

      const planted = `${COOKIE}=${'A'.repeat(43)}`;
      const third = await app.login('alice', { cookie: planted });
      assert.notEqual(cookieOf(third), planted, 'a client-chosen id is never adopted');
    });

    void it('@Roles: 403 INSUFFICIENT_ROLE below the role, 200 with it', async () => {
      const alice = cookieOf(await app.login('alice'));
      await expectError(await app.get('/admin/report', alice), 403, 'INSUFFICIENT_ROLE');
      const bob = cookieOf(await app.login('bob'));
      const report = await app.get('/admin/report', bob);
      assert.equal(report.status, 200);
      assert.deepEqual(await report.json(), { report: 'ok', for: 'bob' });
      await expectError(await app.get('/admin/report'), 401, 'SESSION_REQUIRED');
    });

    void it('a privilege change (setRoles) reaches the live session at once, with a new id', async () => {
      const before = cookieOf(await app.login('dave'));
      await expectError(await app.get('/admin/report', before), 403, 'INSUFFICIENT_ROLE');
      const promote = await app.post('/account/promote', before);
      assert.equal(promote.status, 200);
      assert.deepEqual(await promote.json(), { changed: 1 });

      const report = await app.get('/admin/report', before);
      assert.equal(report.status, 200, 'the new role applies on the very next request');
      const after = cookieOf(report);
      assert.notEqual(after, before, 'gaining a role rotates the id');
      await expectError(await app.get('/me', before), 401, 'SESSION_ROTATED');
      assert.equal((await app.get('/admin/report', after)).status, 200);
    });

    void it('an explicit rotation issues a new id and the old one dies at once', async () => {
      const before = cookieOf(await app.login('alice'));
      const rotated = await app.post('/account/rotate', before);
      assert.equal(rotated.status, 200);
      const after = cookieOf(rotated);
      assert.notEqual(after, before);
      await expectError(await app.get('/me', before), 401);
      assert.equal((await app.get('/me', after)).status, 200);
    });

    void it('rotates periodically (15 min on the module clock): new cookie, the old one valid within the 10 s grace only', async () => {
      const before = cookieOf(await app.login('alice'));
      assert.equal(setCookie(await app.get('/me', before)), undefined, 'no rotation before the interval');
      await app.advanceClock(15 * 60_000 + 1);
      const rotated = await app.get('/me', before);
      assert.equal(rotated.status, 200);
      const after = cookieOf(rotated);
      assert.notEqual(after, before);
      assert.equal((await app.get('/me', before)).status, 200, 'a parallel request with the old id still works within the grace');
      await app.advanceClock(10_001);
      await expectError(await app.get('/me', before), 401);
      const current = await app.get('/me', after);
      assert.equal(current.status, 200);
      assert.equal(setCookie(current), undefined, 'the new id is not rotated again');
    });

    void it('a periodic rotation and an explicit one in the same request send one session cookie, the last', async () => {
      const before = cookieOf(await app.login('alice'));
      await app.advanceClock(15 * 60_000 + 1);
      // The guard rotates (interval due) and writes a cookie, then the handler rotates again and writes another:
      // the second must replace the first (Fastify's reply.header appends Set-Cookie unless it is removed first).
      const rotated = await app.post('/account/rotate', before);
      assert.equal(rotated.status, 200);
      const after = cookieOf(rotated);
      assert.notEqual(after, before);
      assert.equal((await app.get('/me', after)).status, 200, 'the cookie sent is the live one');
    });

    void it('logout ends the session server-side and clears the cookie', async () => {
      const phone = cookieOf(await app.login('carol'));
      const laptop = cookieOf(await app.login('carol'));
      assert.equal((await listSessions(app, laptop)).length, 2);

      const logout = await app.post('/auth/logout', phone);
      assert.equal(logout.status, 204);
      assert.match(setCookie(logout) ?? '', /^__Host-sid=; Path=\/; HttpOnly; Secure; SameSite=Lax; Max-Age=0/);
      await expectError(await app.get('/me', phone), 401);
      // The store no longer holds it: the user's listing (read from the store) has only the other session.
      const left = await listSessions(app, laptop);
      assert.equal(left.length, 1);
      assert.equal(left[0].current, true);
    });
  });
}
