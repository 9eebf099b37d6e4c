/**
 * Heap cost of one session in memory, at 100k sessions:
 * - the kit: InMemorySessionStore filled through SessionManager.create (token, SHA-256 id, handle, record),
 *   with a realistic client: an IPv4 address and a ~110-character user agent out of 20 browsers, each a fresh
 *   string as an HTTP parser would produce;
 * - express-session's MemoryStore with a minimal session: its cookie and a user id.
 *
 *   node --expose-gc bench/out/build/bench/heap.js [count]     → one JSON line on stdout
 */
import { randomBytes } from 'node:crypto';
import session from 'express-session';
import { InMemorySessionStore, SecurityEventBus, SystemClock } from '../lib';
import { SessionManager } from '../lib/core/session-manager';

const COUNT = Number(process.argv[2] ?? 100_000);

/** 20 real-world user agents, 100 to 140 characters. */
export const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0 (compatible; desktop build 2024)',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0 (compatible; desktop build)',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0 (compatible; desktop build)',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.102 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Vivaldi/7.0.3495.18',
];

/** A fresh copy of `s` (a new heap string, as parsing a request would produce), not the literal. */
function fresh(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

function randomIp(): string {
  const b = randomBytes(4);
  return `${(b[0] % 223) + 1}.${b[1]}.${b[2]}.${b[3]}`;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 4; i++) collect();
}

/** Heap used after a full collection. */
function heapUsed(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** Bytes per kit session (InMemorySessionStore through SessionManager). */
async function kitBytesPerSession(count: number): Promise<{ bytesPerSession: number; size: number }> {
  const store = new InMemorySessionStore();
  const clock = new SystemClock();
  const manager = new SessionManager(
    store,
    clock,
    {
      idleTimeoutMs: 30 * 60_000,
      absoluteTimeoutMs: 12 * 3_600_000,
      rotationIntervalMs: 15 * 60_000,
      rotationGraceMs: 10_000,
      touchIntervalMs: 60_000,
      maxConcurrentSessions: 10,
      concurrentSessionPolicy: 'evict-oldest',
      rememberIdleTimeoutMs: 30 * 86_400_000,
      rememberAbsoluteTimeoutMs: 90 * 86_400_000,
      impersonationMaxAgeMs: 3_600_000,
    },
    new SecurityEventBus(),
  );
  // Each input is made inside the loop, as a request would bring it: whatever the store keeps of it (user id,
  // IP, the interned user agent) is counted, the rest becomes garbage before the second measurement.
  const before = heapUsed();
  for (let i = 0; i < count; i++) {
    await manager.create({
      userId: `user-${100_000 + i}`,
      client: { ip: randomIp(), userAgent: fresh(USER_AGENTS[i % USER_AGENTS.length]) },
    });
  }
  const after = heapUsed();
  if (store.size !== count) throw new Error(`expected ${count} sessions, store has ${store.size}`);
  return { bytesPerSession: (after - before) / count, size: store.size };
}

/** Bytes per express-session MemoryStore session (cookie + user id), stored as express-session saves it. */
async function expressSessionBytesPerSession(count: number): Promise<{ bytesPerSession: number; size: number }> {
  const store = new session.MemoryStore();
  const maxAge = 30 * 60_000;
  const before = heapUsed();
  for (let i = 0; i < count; i++) {
    const sid = randomBytes(24).toString('base64url'); // express-session's uid(24)
    const data = {
      cookie: { originalMaxAge: maxAge, expires: new Date(Date.now() + maxAge), secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
      user: `user-${100_000 + i}`,
    };
    await new Promise<void>((resolve, reject) =>
      store.set(sid, data as unknown as session.SessionData, (err) => (err ? reject(err) : resolve())),
    );
  }
  const after = heapUsed();
  const size = await new Promise<number>((resolve, reject) => store.length((err, n) => (err ? reject(err) : resolve(n ?? 0))));
  return { bytesPerSession: (after - before) / count, size };
}

async function main(): Promise<void> {
  const kit = await kitBytesPerSession(COUNT);
  const expressSession = await expressSessionBytesPerSession(COUNT);
  process.stdout.write(`${JSON.stringify({ count: COUNT, kit, expressSession })}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
