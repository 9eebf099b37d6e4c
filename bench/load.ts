/**
 * The load side: logging sessions in over plain HTTP, and driving autocannon.
 */
import autocannon from 'autocannon';
import { request } from 'node:http';

/** A desktop Chrome user agent (~110 characters), sent on every request of every variant. */
export const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** What one autocannon run measured. Latencies in ms. */
export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  non2xx: number;
  /** Responses by HTTP status (autocannon's statusCodeStats), to say what the non-2xx were. */
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  latencyP50: number;
  latencyP99: number;
  latencyAvg: number;
}

/** One HTTP request; resolves with status, headers and body. Only 127.0.0.1. */
export function httpRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: { 'user-agent': USER_AGENT, ...headers }, timeout: 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** How a variant signs in: the bench apps' `POST /login?user=`, or the sample app's own login route. */
export type LoginRoute = 'bench' | 'sample';

/**
 * Logs `count` users in and returns their `name=value` session cookies, one per load connection. `bench`: `POST
 * /login?user=bench-<i>`; `sample`: the sample's `POST /auth/login` as alice (the sample seeds three users), so
 * the sample variant needs `SESSION_MAX_CONCURRENT` of at least `count`.
 */
export async function loginMany(port: number, count: number, route: LoginRoute = 'bench'): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    const res =
      route === 'bench'
        ? await httpRequest(port, 'POST', `/login?user=bench-${i}`)
        : await httpRequest(
            port,
            'POST',
            '/auth/login',
            { 'content-type': 'application/json', ...(await sampleCsrf(port)) },
            JSON.stringify({ username: 'alice', password: 'alice-correct-horse-1' }),
          );
    const setCookie = res.headers['set-cookie'];
    const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
    if (res.status !== 200 || !first) throw new Error(`login ${i} failed: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    cookies.push(first.split(';')[0]);
  }
  return cookies;
}

/**
 * The sample's login is CSRF-protected (login CSRF): the headers that carry a pre-login token, its nonce cookie
 * and the token from `GET /auth/csrf`.
 */
async function sampleCsrf(port: number): Promise<Record<string, string>> {
  const res = await httpRequest(port, 'GET', '/auth/csrf');
  const setCookie = res.headers['set-cookie'];
  const nonce = (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(';')[0];
  if (res.status !== 200 || !nonce) throw new Error(`GET /auth/csrf failed: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  return { cookie: nonce, 'x-csrf-token': (JSON.parse(res.body) as { token: string }).token };
}

/**
 * Signs `count` users in on a bearer variant (`POST /login?user=bench-<i>` answers a token pair) and returns their
 * `Authorization` headers, one per load connection, and (kit-bearer only) their refresh tokens.
 */
export async function bearerMany(port: number, count: number): Promise<{ headers: Record<string, string>[]; refreshTokens: string[] }> {
  const headers: Record<string, string>[] = [];
  const refreshTokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await httpRequest(port, 'POST', `/login?user=bench-${i}`);
    if (res.status !== 200) throw new Error(`token ${i} failed: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    const body = JSON.parse(res.body) as { access_token: string; refresh_token?: string };
    headers.push({ authorization: `Bearer ${body.access_token}` });
    if (body.refresh_token) refreshTokens.push(body.refresh_token);
  }
  return { headers, refreshTokens };
}

/**
 * Refreshes per second: one client per entry of `chains` rotates its own refresh-token chain for `durationS` seconds
 * (`POST /refresh {refresh_token}`, the answer's new token sent next, and kept in `chains` for the next window), so
 * every request presents a fresh token, as real clients do. Plain HTTP requests: autocannon cannot feed one answer into
 * the next request.
 */
export async function runRefreshLoad(port: number, durationS: number, chains: string[]): Promise<LoadResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  const statuses: Record<string, number> = {};
  let errors = 0;
  const started = Date.now();
  const deadline = started + durationS * 1000;
  await Promise.all(
    chains.map(async (_, i) => {
      while (Date.now() < deadline) {
        const t0 = performance.now();
        try {
          const res = await httpRequest(
            port,
            'POST',
            '/refresh',
            { 'content-type': 'application/json' },
            JSON.stringify({ refresh_token: chains[i] }),
          );
          latencies.push(performance.now() - t0);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status !== 200) {
            non2xx++;
            return;
          }
          chains[i] = (JSON.parse(res.body) as { refresh_token: string }).refresh_token;
        } catch {
          errors++;
          return;
        }
      }
    }),
  );
  const elapsedS = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    durationS: elapsedS,
    rps: (latencies.length - non2xx) / elapsedS,
    non2xx,
    statuses,
    errors,
    timeouts: 0,
    latencyP50: at(0.5),
    latencyP99: at(0.99),
    latencyAvg: latencies.reduce((a, b) => a + b, 0) / Math.max(latencies.length, 1),
  };
}

/**
 * Runs autocannon against `port` for `durationS` seconds with `connections` connections. With `cookies`, every
 * connection cycles through them, one per request (each cookie is one logged-in browser's session). Each
 * cookie is a separate static request, so autocannon builds every request buffer once: a dynamic
 * `setupRequest` would cost the load generator ~50% more CPU per request, on a machine where it shares the
 * cores with everything else.
 */
export function runLoad(options: {
  port: number;
  method: 'GET' | 'POST';
  path: string;
  durationS: number;
  connections: number;
  cookies?: string[];
  /** Extra headers of the request made with `cookies[i]` (e.g. that session's CSRF token). */
  headers?: Record<string, string>[];
  /** Request body (sent with every request). */
  body?: string;
}): Promise<LoadResult> {
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  // One request per cookie, or per header set when there are no cookies (bearer tokens).
  const slots: (string | undefined)[] = options.cookies ?? options.headers?.map(() => undefined) ?? [undefined];
  const requests = slots.map((cookie, i) => ({
    method: options.method,
    path: options.path,
    headers: { ...headers, ...(cookie === undefined ? {} : { cookie }), ...(options.headers?.[i] ?? {}) },
    ...(options.body === undefined ? {} : { body: options.body }),
  }));
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${options.port}`,
        connections: options.connections,
        pipelining: 1,
        duration: options.durationS,
        timeout: 10,
        requests,
      },
      (err, result) => {
        if (err) return reject(err);
        const requests = result['2xx'] + result.non2xx;
        resolve({
          requests,
          durationS: result.duration,
          rps: result['2xx'] / result.duration,
          non2xx: result.non2xx,
          statuses: statusCounts(result),
          errors: result.errors,
          timeouts: result.timeouts,
          latencyP50: result.latency.p50,
          latencyP99: result.latency.p99,
          latencyAvg: result.latency.average,
        });
      },
    );
  });
}

/** autocannon's per-status counts as `{ "200": n, "503": m }`. */
function statusCounts(result: autocannon.AutocannonResult): Record<string, number> {
  const stats = result.statusCodeStats ?? {};
  return Object.fromEntries(Object.entries(stats).map(([code, { count }]) => [code, count]));
}
