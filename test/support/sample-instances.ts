/**
 * Test support: several sample-app instances as real child processes (the built sample, `node
 * dist-sample/sample/src/main.js`, as `npm run sample` runs it) on one shared backend, and a client that holds one
 * browser's cookies while it sends each request to the instance a load balancer would have picked.
 *
 * Nothing here is shared between processes but what production shares: the session store, the users database,
 * and the secrets every instance is configured with (CSRF, MFA and access-token keys).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { join, resolve } from 'node:path';
import request, { Response } from 'supertest';
import { PASSWORDS, TEST_CSRF_SECRET, TEST_MFA_KEYS } from '../e2e/sample-helpers';

const ROOT = resolve(__dirname, '../..');
const MAIN = join(ROOT, 'dist-sample/sample/src/main.js');

/** Compiles the sample as `npm run sample` does (into dist-sample/). */
export function buildSample(): void {
  execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'sample/tsconfig.json'], { cwd: ROOT, stdio: 'pipe' });
}

/** One Ed25519 signing key as `ACCESS_TOKEN_KEYS` takes it (a JSON array of private JWKs), the same for every instance. */
export function accessTokenKeys(): string {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  return JSON.stringify([{ ...jwk, kid: 'multi-instance-test' }]);
}

/** The secrets every instance of one deployment shares (test values, never real keys). */
export const SHARED_SECRETS = { CSRF_SECRET: TEST_CSRF_SECRET, MFA_ENCRYPTION_KEYS: TEST_MFA_KEYS } as const;

/** A sample process, listening. */
export class SampleInstance {
  private constructor(
    readonly name: string,
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly stdout: () => string,
    private readonly stderr: () => string,
  ) {}

  /**
   * Starts `node dist-sample/sample/src/main.js` with only `env` (and PATH): the developer's own SESSION_STORE or PORT
   * must not leak in. Resolves on its `listening on` line; rejects with its output if it exits or stays silent.
   */
  static async start(name: string, env: Record<string, string>, timeoutMs = 60_000): Promise<SampleInstance> {
    const child = spawn(process.execPath, [MAIN], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const match = /^listening on (http:\/\/\S+)$/m.exec(out);
      if (match)
        return new SampleInstance(
          name,
          match[1],
          child,
          () => out,
          () => err,
        );
      if (child.exitCode !== null || child.signalCode !== null) break;
      await new Promise((done) => setTimeout(done, 50));
    }
    if (child.exitCode === null) child.kill('SIGKILL');
    throw new Error(`sample instance ${name} did not start: stdout ${JSON.stringify(out)}, stderr ${JSON.stringify(err)}`);
  }

  /** What the process wrote to stderr so far (warnings, or why it failed). */
  errors(): string {
    return this.stderr();
  }

  /** Stops it with SIGTERM (a clean shutdown), SIGKILL after 15 s; answers how it exited. Idempotent. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    return { code: child.exitCode, signal: child.signalCode };
  }

  toString(): string {
    return `${this.name} (${this.url}; stdout ${JSON.stringify(this.stdout().slice(-500))})`;
  }
}

type Method = 'get' | 'post' | 'put' | 'delete';

const CSRF_HEADER = 'x-csrf-token';

/**
 * One browser in front of several instances: it keeps its cookies (set on Set-Cookie, dropped when cleared) and its
 * CSRF token, and each request names the instance it goes to. The CSRF token is fetched (from the instance of the
 * request) when the session cookie changed since the last one, as the sample's pages do, and once more after a 403
 * `CSRF_REJECTED` to a token it fetched itself.
 */
export class BalancedClient {
  /** `name=value` of the session cookie, or undefined. */
  sessionCookie: string | undefined;
  private readonly otherCookies = new Map<string, string>();
  private csrfToken: string | undefined;
  private csrfFor: string | undefined;

  constructor(
    private readonly cookieName = '__Host-sid',
    /** Headers on every request (User-Agent, X-Forwarded-For under TRUST_PROXY). */
    private readonly headers: Record<string, string> = { 'User-Agent': 'multi-instance-e2e/1.0' },
  ) {}

  get(on: SampleInstance, path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(on, 'get', path, undefined, headers);
  }

  post(on: SampleInstance, path: string, body?: object, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(on, 'post', path, body, headers);
  }

  put(on: SampleInstance, path: string, body?: object): Promise<Response> {
    return this.send(on, 'put', path, body);
  }

  delete(on: SampleInstance, path: string): Promise<Response> {
    return this.send(on, 'delete', path);
  }

  /** Signs in as a seeded user without a second factor (alice, bob) on `on`, and expects success. */
  async login(on: SampleInstance, username: Exclude<keyof typeof PASSWORDS, 'carol'>): Promise<Response> {
    const res = await this.post(on, '/auth/login', { username, password: PASSWORDS[username] });
    if (res.status !== 200 || res.body.mfaRequired !== false)
      throw new Error(`login as ${username} on ${on.name} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  }

  /** A copy of this browser's cookies in another client (the same session, e.g. a second tab racing the first). */
  fork(): BalancedClient {
    const copy = new BalancedClient(this.cookieName, this.headers);
    copy.sessionCookie = this.sessionCookie;
    for (const [name, pair] of this.otherCookies) copy.otherCookies.set(name, pair);
    return copy;
  }

  /**
   * Sends a request with this browser's cookies. An unsafe method carries the CSRF token (see the class comment),
   * unless `headers` has its own `x-csrf-token`: then that one goes, as given, and is never retried.
   */
  async send(on: SampleInstance, method: Method, path: string, body?: object, headers: Record<string, string> = {}): Promise<Response> {
    const explicit = Object.keys(headers).some((header) => header.toLowerCase() === CSRF_HEADER);
    if (method === 'get' || explicit) return this.sendOnce(on, method, path, body, headers, undefined);
    const res = await this.sendOnce(on, method, path, body, headers, await this.csrf(on));
    if (res.status !== 403 || res.body?.code !== 'CSRF_REJECTED') return res;
    this.csrfToken = undefined;
    return this.sendOnce(on, method, path, body, headers, await this.csrf(on));
  }

  private async csrf(on: SampleInstance): Promise<string | undefined> {
    if (this.csrfToken === undefined || this.csrfFor !== this.sessionCookie) {
      const res = await this.sendOnce(on, 'get', '/auth/csrf', undefined, {}, undefined);
      if (res.status !== 200 || typeof res.body?.token !== 'string') return undefined;
      this.csrfToken = res.body.token as string;
      this.csrfFor = this.sessionCookie;
    }
    return this.csrfToken;
  }

  private async sendOnce(
    on: SampleInstance,
    method: Method,
    path: string,
    body: object | undefined,
    headers: Record<string, string>,
    csrf: string | undefined,
  ): Promise<Response> {
    let req = request(on.url)[method](path);
    for (const [name, value] of Object.entries({ ...this.headers, ...headers })) req = req.set(name, value);
    const cookies = [...this.otherCookies.values(), ...(this.sessionCookie ? [this.sessionCookie] : [])];
    if (cookies.length > 0) req = req.set('Cookie', cookies.join('; '));
    if (csrf !== undefined) req = req.set(CSRF_HEADER, csrf);
    const res = body === undefined ? await req : await req.send(body);
    this.remember(res);
    return res;
  }

  private remember(res: Response): void {
    const header = res.headers['set-cookie'] as string[] | string | undefined;
    const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
    for (const line of lines) {
      const pair = line.split(';')[0];
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(name.length + 1);
      if (name === this.cookieName) this.sessionCookie = value ? pair : undefined;
      else if (value) this.otherCookies.set(name, pair);
      else this.otherCookies.delete(name);
    }
  }
}

/** The session token a response's Set-Cookie names for `cookieName`, if any. */
export function sessionCookieSet(res: Response, cookieName = '__Host-sid'): string | undefined {
  const header = res.headers['set-cookie'] as string[] | string | undefined;
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const line = lines.find((l) => l.startsWith(`${cookieName}=`));
  return line?.split(';')[0].slice(cookieName.length + 1);
}
