/**
 * The built sample as `npm run sample` runs it: compiled with sample/tsconfig.json, started with node, waited
 * for on its `listening on` line, stopped with a signal. Also checks that bad configuration stops it with one
 * line and exit code 1.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const MAIN = join(ROOT, 'dist-sample/sample/src/main.js');

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(env: Record<string, string>): Run {
  // A clean environment: the developer's own SESSION_STORE or PORT must not leak into the test.
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitForListening(r: Run, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = /^listening on (http:\/\/\S+)$/m.exec(r.stdout());
    if (match) return match[1];
    if (r.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the sample did not print "listening on": stdout ${JSON.stringify(r.stdout())}, stderr ${JSON.stringify(r.stderr())}`);
}

describe('sample app: the built server', () => {
  let dir: string;

  beforeAll(() => {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'sample/tsconfig.json'], { cwd: ROOT, stdio: 'pipe' });
    dir = mkdtempSync(join(tmpdir(), 'nsk-sample-smoke-'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // With MFA_ENCRYPTION_KEYS set stderr stays empty; without it there is exactly one warning saying to set it.
  it.each([
    ['SIGTERM', { MFA_ENCRYPTION_KEYS: `k1:${'A'.repeat(43)}`, CSRF_SECRET: 'B'.repeat(43) }],
    ['SIGINT', {}],
  ] as const)('starts, prints one line, answers /health and a login, and exits 0 on %s', async (signal, extraEnv) => {
    const database = join(dir, `${signal}.sqlite`);
    const r = run({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${database}`,
      SECURITY_LOG: join(dir, `${signal}.log`),
      ...extraEnv,
    });
    try {
      const url = await waitForListening(r);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(r.stdout()).toBe(`listening on ${url}\n`);
      expect(existsSync(database)).toBe(true);

      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      // Login CSRF: the login carries the token of the pre-login nonce cookie, as the login page sends it.
      const csrf = await fetch(`${url}/auth/csrf`);
      const nonce = csrf.headers.get('set-cookie')!.split(';')[0];
      const { token } = (await csrf.json()) as { token: string };
      const login = await fetch(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Cookie: nonce, 'x-csrf-token': token },
        body: JSON.stringify({ username: 'alice', password: 'alice-correct-horse-1' }),
      });
      expect(login.status).toBe(200);
      expect(login.headers.get('set-cookie')).toMatch(/^__Host-sid=/);

      r.child.kill(signal);
      expect(await r.exit).toEqual({ code: 0, signal: null });
      if ('MFA_ENCRYPTION_KEYS' in extraEnv) expect(r.stderr()).toBe('');
      else {
        const lines = r.stderr().trimEnd().split('\n');
        expect(lines).toHaveLength(2);
        expect(lines.find((l) => l.includes('MFA_ENCRYPTION_KEYS is not set'))).toBeDefined();
        expect(lines.find((l) => l.includes('CSRF_SECRET is not set'))).toBeDefined();
      }
    } finally {
      if (r.child.exitCode === null) r.child.kill('SIGKILL');
    }
  });

  it.each([
    ['SESSION_STORE', { SESSION_STORE: 'mongodb' }],
    ['SESSION_ABSOLUTE_TIMEOUT', { SESSION_IDLE_TIMEOUT: '1h', SESSION_ABSOLUTE_TIMEOUT: '30m' }],
    ['SESSION_IDLE_TIMEOUT', { SESSION_IDLE_TIMEOUT: 'forever' }],
  ])('refuses a bad %s with one line on stderr and exit code 1', async (variable, env) => {
    const r = run({ PORT: '0', DATABASE_URL: `sqlite:${join(dir, 'bad.sqlite')}`, ...env });
    expect(await r.exit).toEqual({ code: 1, signal: null });
    expect(r.stdout()).toBe('');
    const lines = r.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(r.stderr()).not.toMatch(/\n\s+at /);
  });

  it('refuses a security log it cannot open, naming SECURITY_LOG', async () => {
    const r = run({ PORT: '0', DATABASE_URL: 'sqlite::memory:', SECURITY_LOG: join(dir, 'missing-dir', 'security.log') });
    expect(await r.exit).toEqual({ code: 1, signal: null });
    expect(r.stderr()).toContain('SECURITY_LOG');
  });
});
