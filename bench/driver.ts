/**
 * The benchmark driver (started by bench/run.js after compiling). See bench/RESULTS.md for the method.
 *
 * Environment (all optional):
 *   BENCH_ROUNDS=12         measured rounds of GET /me per variant
 *   BENCH_DURATION=3        seconds per measured window
 *   BENCH_WARMUP=3          seconds of warm-up per variant before the first round
 *   BENCH_LOGIN_ROUNDS=4    measured rounds of POST /login per variant
 *   BENCH_CONNECTIONS=50    autocannon connections (one logged-in session each)
 *   BENCH_VARIANTS=a,b      subset of bare,es-memory,es-redis,kit-memory,kit-redis,kit-memcached,kit-sealed,kit-roles,kit-anomaly,kit-csrf,kit-defended,kit-throttle,kit-metrics,kit-otel-nosdk,
 *                           sample,kit-bearer,kit-bearer-es256,nestjs-jwt
 *   BENCH_HEAP_COUNT=100000 sessions for the heap measurement
 *   BENCH_RESULTS=path      where to write the Markdown (default bench/RESULTS.md)
 *   BENCH_SIDE_ROUNDS=12    side-by-side rounds per pair (server CPU ratios; see sideBySide())
 *   BENCH_SIDE_WARM=1       unmeasured seconds of load on both sides before each side-by-side window (0: none)
 *   BENCH_SIDE_REFERENCE=own  each pair against bare has a bare server of its own (`shared`: one bare for all pairs)
 *   BENCH_BASELINE=dir      a copy of an earlier bench/out/build (e.g. `cp -r bench/out/build bench/out/baseline` before a
 *                           change): every selected kit variant (and the sample) is also started from it, and measured
 *                           side by side against itself, `<variant>@baseline ÷ <variant>`: a change's cost or gain
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { A_A_CONTROL, BEARER_VARIANTS, SESSION_SETTINGS, Variant, VARIANTS } from './settings';
import { bearerMany, httpRequest, LoadResult, loginMany, runLoad, runRefreshLoad } from './load';
import {
  AppServer,
  canPin,
  CommandCounts,
  coreTicks,
  CpuWindow,
  installCleanup,
  killAll,
  pinSelf,
  PrivateMemcached,
  PrivateRedis,
} from './processes';
import { renderMarkdown } from './report';
import { AuditResult, perRequest, RoundResult, SideBySideResult, summarise, VariantResult } from './stats';

const env = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got ${raw})`);
  return value;
};

function sideReferenceMode(raw: string | undefined): 'own' | 'shared' {
  if (raw === undefined || raw === '' || raw === 'own') return 'own';
  if (raw === 'shared') return 'shared';
  throw new Error(`BENCH_SIDE_REFERENCE must be own or shared (got ${raw})`);
}

export const CONFIG = {
  rounds: Math.floor(env('BENCH_ROUNDS', 12)),
  durationS: env('BENCH_DURATION', 3),
  warmupS: env('BENCH_WARMUP', 3),
  loginRounds: Math.floor(env('BENCH_LOGIN_ROUNDS', 4)),
  connections: Math.floor(env('BENCH_CONNECTIONS', 50)),
  auditS: 3,
  sideRounds: Math.floor(env('BENCH_SIDE_ROUNDS', 12)),
  /** Unmeasured load on both sides before each side-by-side window, s (0 turns it off). */
  sideWarmS: process.env.BENCH_SIDE_WARM === '0' ? 0 : env('BENCH_SIDE_WARM', 1),
  /**
   * `own` (default): every side-by-side pair against bare gets a bare server of its own, paused and resumed with its
   * variant; `shared`: one bare server, running through every window, is the reference of all those pairs.
   */
  sideReference: sideReferenceMode(process.env.BENCH_SIDE_REFERENCE),
  /** The build to compare against (BENCH_BASELINE), or undefined. */
  baseline: baselineScript(process.env.BENCH_BASELINE),
  heapCount: Math.floor(env('BENCH_HEAP_COUNT', 100_000)),
};

/** The baseline build's `bench/app.js`, checked at start-up: a wrong path must not cost a run. */
function baselineScript(dir: string | undefined): string | undefined {
  if (dir === undefined || dir === '') return undefined;
  const script = join(dir, 'bench', 'app.js');
  if (!existsSync(script)) {
    throw new Error(
      `BENCH_BASELINE: ${script} does not exist; point it at a copy of bench/out/build (cp -r bench/out/build bench/out/baseline)`,
    );
  }
  return script;
}

/** Whole-run watchdog: never hang a CI job or a shared machine. */
const MAX_RUN_MS = 30 * 60_000;

/** The repository root (this file runs from bench/out/build/bench/). */
const ROOT = join(__dirname, '..', '..', '..', '..');
const OUT_DIR = join(ROOT, 'bench', 'out');

const LOGIN_VARIANTS: Variant[] = ['es-memory', 'es-redis', 'kit-memory', 'kit-redis'];
const log = (message: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

function selectedVariants(): Variant[] {
  const raw = process.env.BENCH_VARIANTS;
  if (!raw) return [...VARIANTS];
  const picked = raw.split(',').map((v) => v.trim()) as Variant[];
  for (const v of picked) if (!VARIANTS.includes(v)) throw new Error(`BENCH_VARIANTS: unknown variant ${v}`);
  return VARIANTS.filter((v) => picked.includes(v));
}

/** Jiffies per second in /proc/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;
/** Cores when pinned (set in main). */
let SERVER_CORE: number | undefined;
let LOAD_CORE: number | undefined;

/**
 * A window is noisy when other processes took more than this share of the server's core, or the load
 * generator's core was this busy (then the client, not the server, sets the pace). Noisy windows are measured
 * again, at most MAX_RETRIES_PER_WINDOW times each and MAX_RETRIES_PER_RUN in all (the run stays bounded).
 */
const NOISY_SERVER_CORE = 0.1;
const NOISY_LOAD_CORE = 0.95;
const MAX_RETRIES_PER_WINDOW = 2;
const MAX_RETRIES_PER_RUN = 12;
let retriesLeft = MAX_RETRIES_PER_RUN;

function isNoisy(r: RoundResult): boolean {
  return (r.serverCoreForeign ?? 0) > NOISY_SERVER_CORE || (r.loadCoreBusy ?? 0) > NOISY_LOAD_CORE;
}

/** Measures a window, measuring it again (bounded) while other processes disturb it. */
async function measureQuiet(
  server: AppServer,
  redis: PrivateRedis | undefined,
  round: number,
  load: () => Promise<LoadResult>,
): Promise<RoundResult> {
  let result = await measure(server, redis, round, load);
  for (let retry = 0; retry < MAX_RETRIES_PER_WINDOW && retriesLeft > 0 && isNoisy(result); retry++) {
    retriesLeft--;
    log(
      `  noisy window (other load on server core ${pct(result.serverCoreForeign)}, load core ${pct(result.loadCoreBusy)}): measuring again`,
    );
    const again = await measure(server, redis, round, load);
    again.retries = retry + 1;
    result = again;
  }
  return result;
}

const pct = (n: number | undefined): string => (n === undefined ? '?' : `${Math.round(n * 100)}%`);

/** One measured window: CPU and Redis counters bracket the autocannon run. */
async function measure(
  server: AppServer,
  redis: PrivateRedis | undefined,
  round: number,
  load: () => Promise<LoadResult>,
): Promise<RoundResult> {
  const redisBefore = redis ? await redis.commandStats() : undefined;
  AppServer.only([server]);
  try {
    return await measureRunning(server, redis, round, load, redisBefore);
  } finally {
    AppServer.resumeAll();
  }
}

async function measureRunning(
  server: AppServer,
  redis: PrivateRedis | undefined,
  round: number,
  load: () => Promise<LoadResult>,
  redisBefore: CommandCounts | undefined,
): Promise<RoundResult> {
  await server.cpuStart();
  const ticksBefore = coreTicks();
  const result = await load();
  const ticksAfter = coreTicks();
  const cpu = await server.cpuStop();
  const redisAfter = redis ? await redis.commandStats() : undefined;
  const share = (core: number | undefined, minusUs = 0): number | undefined => {
    if (core === undefined || !ticksBefore?.[core] || !ticksAfter?.[core]) return undefined;
    const total = ticksAfter[core].total - ticksBefore[core].total;
    const busy = ticksAfter[core].busy - ticksBefore[core].busy - (minusUs / 1e6) * TICKS_PER_SECOND;
    return total > 0 ? Math.min(1, Math.max(0, busy / total)) : undefined;
  };
  const n = Math.max(result.requests, 1);
  return {
    round,
    requests: result.requests,
    rps: result.rps,
    cpuUsPerReq: (cpu.userUs + cpu.systemUs) / n,
    userUsPerReq: cpu.userUs / n,
    systemUsPerReq: cpu.systemUs / n,
    cpuUtilisation: (cpu.userUs + cpu.systemUs) / cpu.elapsedUs,
    latencyP50: result.latencyP50,
    latencyP99: result.latencyP99,
    non2xx: result.non2xx,
    statuses: result.statuses,
    errors: result.errors + result.timeouts,
    redisPerReq: redisBefore && redisAfter ? perRequest(redisBefore, redisAfter, result.requests) : undefined,
    loadAvg1: loadavg()[0],
    serverCoreForeign: share(SERVER_CORE, cpu.userUs + cpu.systemUs),
    loadCoreBusy: share(LOAD_CORE),
  };
}

/**
 * Server CPU per request of two variants measured side by side: both loaded at the same time (one autocannon
 * each, same connections and cookies scheme) for the same window, both servers on the same core. Sequential
 * windows on this kind of VM differ by up to ±20% in CPU per request for the same app, seconds apart; running
 * the pair at once exposes both to the same machine, so their ratio keeps only what differs between the apps.
 */
async function sideBySide(
  reference: AppServer,
  variant: AppServer,
  round: number,
  load: (server: AppServer, durationS: number) => Promise<LoadResult>,
): Promise<SideBySideResult['rounds'][number]> {
  AppServer.only([reference, variant]);
  let refLoad: LoadResult, varLoad: LoadResult, refCpu: CpuWindow, varCpu: CpuWindow;
  // Which side starts first alternates by round, so that the order cannot favour one side (the A/A control pair of
  // two identical servers, in every run, shows what is left of such a bias).
  const first = round % 2 === 0;
  const both = <T>(f: (server: AppServer) => Promise<T>): Promise<[T, T]> =>
    first ? Promise.all([f(reference), f(variant)]) : Promise.all([f(variant), f(reference)]).then(([v, r]) => [r, v] as [T, T]);
  try {
    // Both sides under load, unmeasured, before the window: the variant comes back from SIGSTOP (it sat stopped through
    // the other pairs' windows) while the reference, in every pair, has run all along, and the first moments after a
    // resume cost more. Without this, the A/A control measured its resumed twin 4-6% dearer than bare.
    if (CONFIG.sideWarmS > 0) await both((server) => load(server, CONFIG.sideWarmS));
    await both((server) => server.cpuStart());
    [refLoad, varLoad] = await both((server) => load(server, CONFIG.durationS));
    [refCpu, varCpu] = await both((server) => server.cpuStop());
  } finally {
    AppServer.resumeAll();
  }
  const perReq = (cpu: { userUs: number; systemUs: number }, requests: number): number =>
    (cpu.userUs + cpu.systemUs) / Math.max(requests, 1);
  const failed = (l: LoadResult): number => l.non2xx + l.errors + l.timeouts;
  const ref = { requests: refLoad.requests, cpuUsPerReq: perReq(refCpu, refLoad.requests), failed: failed(refLoad) };
  const v = { requests: varLoad.requests, cpuUsPerReq: perReq(varCpu, varLoad.requests), failed: failed(varLoad) };
  if (ref.failed > 0 || v.failed > 0) {
    log(
      `  side by side: ${ref.failed} failed answers on the reference ${JSON.stringify(refLoad.statuses)}, ` +
        `${v.failed} on the variant ${JSON.stringify(varLoad.statuses)}`,
    );
  }
  return { round, reference: ref, variant: v, cpuRatio: ref.cpuUsPerReq / v.cpuUsPerReq };
}

/**
 * A CSRF-checked write next to an unchecked one (issue 7): `POST /cart` (CsrfGuard checks Fetch Metadata, Origin and
 * the session's token) on the `kit-csrf` server against `POST /cart-unchecked` (the same handler under `@SkipCsrf()`)
 * on a second `kit-csrf` server, side by side. Both send the same headers and body, each session its own valid token.
 */
async function csrfWrites(checked: AppServer, checkedJar: string[], core: number | undefined): Promise<SideBySideResult> {
  const twin = await AppServer.start('kit-csrf', { core });
  try {
    const twinJar = await loginMany(twin.port, CONFIG.connections);
    const tokensOf = (server: AppServer, jar: string[]) =>
      Promise.all(
        jar.map(async (cookie) => {
          const res = await httpRequest(server.port, 'GET', '/csrf', { cookie });
          if (res.status !== 200) throw new Error(`kit-csrf: GET /csrf answered ${res.status} ${res.body.slice(0, 200)}`);
          return { 'x-csrf-token': (JSON.parse(res.body) as { token: string }).token, 'content-type': 'application/json' };
        }),
      );
    const [checkedHeaders, twinHeaders] = await Promise.all([tokensOf(checked, checkedJar), tokensOf(twin, twinJar)]);
    const load = (server: AppServer, durationS: number) =>
      server === twin
        ? runLoad({
            port: twin.port,
            method: 'POST',
            path: '/cart-unchecked',
            durationS,
            connections: CONFIG.connections,
            cookies: twinJar,
            headers: twinHeaders,
            body: '{}',
          })
        : runLoad({
            port: checked.port,
            method: 'POST',
            path: '/cart',
            durationS,
            connections: CONFIG.connections,
            cookies: checkedJar,
            headers: checkedHeaders,
            body: '{}',
          });
    const probe = await httpRequest(checked.port, 'POST', '/cart', { cookie: checkedJar[0], ...checkedHeaders[0] }, '{}');
    if (probe.status !== 200) throw new Error(`kit-csrf: POST /cart answered ${probe.status} ${probe.body.slice(0, 200)}`);
    log(`warm-up CSRF writes (${CONFIG.warmupS}s)`);
    await Promise.all([load(twin, CONFIG.warmupS), load(checked, CONFIG.warmupS)]);
    const result: SideBySideResult = {
      reference: 'kit-csrf: POST /cart-unchecked (@SkipCsrf)',
      variant: 'kit-csrf: POST /cart (checked)',
      rounds: [],
    };
    for (let round = 0; round < CONFIG.sideRounds; round++) {
      const r = await sideBySide(twin, checked, round, load);
      if (r.variant.requests === 0 || r.reference.requests === 0) throw new Error('CSRF writes: a side served no request');
      result.rounds.push(r);
      log(
        `CSRF writes ${round + 1}/${CONFIG.sideRounds} unchecked ${r.reference.cpuUsPerReq.toFixed(1)} vs checked ${r.variant.cpuUsPerReq.toFixed(1)} µs CPU/req: ${r.cpuRatio.toFixed(3)}`,
      );
    }
    return result;
  } finally {
    await twin.stop();
  }
}

async function audit(redis: PrivateRedis, load: () => Promise<LoadResult>): Promise<AuditResult> {
  const { result, client, lua } = await redis.audit(load);
  const per = (counts: Record<string, number>): Record<string, number> =>
    Object.fromEntries(
      Object.entries(counts)
        .filter(([name]) => !/^(info|monitor)$/.test(name))
        .map(([name, n]) => [name, n / Math.max(result.requests, 1)]),
    );
  const clientPerReq = per(client);
  return {
    requests: result.requests,
    clientPerReq,
    luaPerReq: per(lua),
    clientTotalPerReq: Object.values(clientPerReq).reduce((a, b) => a + b, 0),
  };
}

/** Runs the heap script in a fresh process with --expose-gc. */
function measureHeap(count: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', join(__dirname, 'heap.js'), String(count)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`heap script exited with code ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, unknown>);
      } catch (error) {
        reject(error);
      }
    });
  });
}

async function main(): Promise<void> {
  installCleanup();
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${MAX_RUN_MS / 60_000} min; killing everything`);
    killAll();
    process.exit(1);
  }, MAX_RUN_MS);
  watchdog.unref();

  const started = Date.now();
  const variants = selectedVariants();
  const cores = cpus().length;
  const pinned = canPin(cores) && pinSelf(0);
  const serverCore = pinned ? 1 : undefined;
  const loadCore = pinned ? 0 : undefined;
  SERVER_CORE = serverCore;
  LOAD_CORE = loadCore;
  const machine = {
    node: process.version,
    cores,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    loadAvgBefore: loadavg(),
    pinned: pinned ? 'server on core 1; load generator and Redis on core 0 (taskset)' : 'not pinned (taskset unavailable or one core)',
    redisVersion: '',
    loadAvgAfter: [] as number[],
    /** Windows measured again because other processes disturbed them. */
    noisyRetries: 0,
    durationS: 0,
  };
  log(`node ${machine.node}, ${cores} cores, ${machine.pinned}; config ${JSON.stringify(CONFIG)}`);

  const needRedis = variants.some((v) => v.endsWith('redis'));
  const redis = needRedis ? await PrivateRedis.start(loadCore) : undefined;
  machine.redisVersion = redis?.version ?? '';
  if (redis) log(`private redis-server ${redis.version} on port ${redis.port}`);
  // kit-memcached: a memcached of its own on the load core, like Redis.
  const memcached = variants.includes('kit-memcached') ? await PrivateMemcached.start(loadCore) : undefined;
  if (memcached) log(`private memcached on port ${memcached.port}`);

  const servers = new Map<Variant, AppServer>();
  const results: {
    me: Partial<Record<Variant, VariantResult>>;
    login: Partial<Record<Variant, VariantResult>>;
    sideBySide: SideBySideResult[];
    refresh: Partial<Record<Variant, VariantResult>>;
  } = { me: {}, login: {}, sideBySide: [], refresh: {} };
  try {
    for (const v of variants) {
      servers.set(
        v,
        await AppServer.start(v, { core: serverCore, env: { BENCH_REDIS_URL: redis?.url, BENCH_MEMCACHED_SERVER: memcached?.server } }),
      );
      log(`started ${v} on port ${servers.get(v)!.port}`);
    }

    // ------------------------------------------------------------------------------ GET /me
    const cookies = new Map<Variant, string[] | undefined>();
    /** Bearer variants: one `Authorization` header per connection instead of a cookie. */
    const authHeaders = new Map<Variant, Record<string, string>[] | undefined>();
    const phaseStart = Date.now();
    for (const v of variants) {
      const server = servers.get(v)!;
      const bearer = BEARER_VARIANTS.includes(v);
      const jar =
        v === 'bare' || bearer ? undefined : await loginMany(server.port, CONFIG.connections, v === 'sample' ? 'sample' : 'bench');
      cookies.set(v, jar);
      if (bearer) authHeaders.set(v, (await bearerMany(server.port, CONFIG.connections)).headers);
      const check = await httpRequest(server.port, 'GET', '/me', jar ? { cookie: jar[0] } : (authHeaders.get(v)?.[0] ?? {}));
      if (check.status !== 200) throw new Error(`${v}: GET /me answered ${check.status} ${check.body.slice(0, 200)}`);
      results.me[v] = { rounds: [] };
    }
    const meLoad =
      (v: Variant, durationS: number, server = servers.get(v)!, jar = cookies.get(v)) =>
      () =>
        runLoad({
          port: server.port,
          method: 'GET',
          path: '/me',
          durationS,
          connections: CONFIG.connections,
          cookies: jar,
          headers: authHeaders.get(v),
        });

    for (const v of variants) {
      log(`warm-up ${v} (${CONFIG.warmupS}s)`);
      await meLoad(v, CONFIG.warmupS)();
    }
    for (let round = 0; round < CONFIG.rounds; round++) {
      // Rotate the order each round so that no variant always runs first or last.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      for (const v of order) {
        const r = await measureQuiet(servers.get(v)!, v.endsWith('redis') ? redis : undefined, round, meLoad(v, CONFIG.durationS));
        results.me[v]!.rounds.push(r);
        log(
          `GET /me round ${round + 1}/${CONFIG.rounds} ${v}: ${r.rps.toFixed(0)} req/s, ${r.cpuUsPerReq.toFixed(1)} µs CPU/req, p99 ${r.latencyP99} ms${r.non2xx ? `, ${r.non2xx} non-2xx! ${JSON.stringify(r.statuses)}` : ''}`,
        );
      }
    }
    // Side by side: every session variant against bare, and the kit against express-session on the same store.
    const pairs: [Variant, Variant][] = [];
    for (const v of variants) if (v !== 'bare' && v !== 'sample' && variants.includes('bare')) pairs.push(['bare', v]);
    for (const [kit, es] of [
      ['kit-memory', 'es-memory'],
      ['kit-redis', 'es-redis'],
    ] as const) {
      if (variants.includes(kit) && variants.includes(es)) pairs.push([es, kit]);
    }
    // Issue 8: the kit's bearer guard (revocation check included) against @nestjs/jwt's verify.
    for (const kit of ['kit-bearer', 'kit-bearer-es256'] as const) {
      if (variants.includes(kit) && variants.includes('nestjs-jwt')) pairs.push(['nestjs-jwt', kit]);
    }
    // Issue 10: metrics on, and the OpenTelemetry API without an SDK, against the same app without them.
    for (const v of ['kit-metrics', 'kit-otel-nosdk'] as const)
      if (variants.includes(v) && variants.includes('kit-memory')) pairs.push(['kit-memory', v]);
    // The sample app against the library alone (issue 6: at most 1.5x its CPU per request).
    if (variants.includes('sample') && variants.includes('kit-memory')) pairs.push(['kit-memory', 'sample']);
    /** `jar`: the side's own session cookies, when its server is not the variant's (a baseline build's). */
    type Side = { label: string; variant: Variant; server: AppServer; jar?: string[] };
    const side = (v: Variant): Side => ({ label: v, variant: v, server: servers.get(v)! });
    // Servers started for the side-by-side windows only (own bare references, baselines), stopped after them.
    const extraBare: AppServer[] = [];
    const startBare = async (why: string): Promise<AppServer> => {
      const server = await AppServer.start('bare', { core: serverCore });
      extraBare.push(server);
      log(`started a bare server (${why}) on port ${server.port}`);
      await meLoad('bare', CONFIG.warmupS, server)();
      return server;
    };
    // Both sides of a pair must be treated alike. A variant sits paused (AppServer.only) through the other pairs'
    // windows; one bare server shared by every pair runs through nearly all of them. On a busy host the A/A control
    // showed what that costs the paused side: its twin, paused like a variant, measured 0.93x bare with nine pairs
    // and 0.98x with two (2026-12-01). With a bare server of its own, paused and resumed with its variant, each pair's
    // two sides have the same history.
    const reference = async (v: Variant, of: string): Promise<Side> =>
      v === 'bare' && CONFIG.sideReference === 'own'
        ? { label: 'bare', variant: 'bare', server: await startBare(`reference of ${of}`) }
        : side(v);
    const sidePairs: [Side, Side][] = [];
    for (const [ref, variant] of pairs) sidePairs.push([await reference(ref, variant), side(variant)]);
    // BENCH_BASELINE: each session variant next to the same variant built from the earlier code, on its own sessions.
    if (CONFIG.baseline !== undefined) {
      for (const v of variants) {
        if (!((v.startsWith('kit') && !BEARER_VARIANTS.includes(v)) || v === 'sample')) continue;
        const server = await AppServer.start(v, {
          core: serverCore,
          script: CONFIG.baseline,
          // The copy may live outside the repository: resolve packages from this checkout's node_modules.
          env: { BENCH_REDIS_URL: redis?.url, BENCH_MEMCACHED_SERVER: memcached?.server, NODE_PATH: join(ROOT, 'node_modules') },
        });
        extraBare.push(server);
        const jar = await loginMany(server.port, CONFIG.connections, v === 'sample' ? 'sample' : 'bench');
        log(`started ${v}@baseline on port ${server.port}`);
        await meLoad(v, CONFIG.warmupS, server, jar)();
        sidePairs.push([{ label: `${v}@baseline`, variant: v, server, jar }, side(v)]);
      }
    }
    // The method's control (A/A): bare next to a second bare server. Two identical apps must come out at 1.00x; what
    // this pair shows is the bias and noise of the side-by-side windows, the error bar of every other pair. With own
    // references, the control's variant side is the first bare server: started with the variants and loaded through
    // the sequential rounds like them, while each reference starts just before the windows. The control then also
    // shows what that difference in history would weigh.
    if (variants.includes('bare') && pairs.length > 0) {
      const control: Side = {
        label: A_A_CONTROL,
        variant: 'bare',
        server: CONFIG.sideReference === 'own' ? servers.get('bare')! : await startBare('A/A control'),
      };
      sidePairs.unshift([await reference('bare', 'the A/A control'), control]);
    }
    const sideResults = sidePairs.map(([reference, variant]) => ({
      reference: reference.label,
      variant: variant.label,
      rounds: [] as SideBySideResult['rounds'],
    }));
    for (let round = 0; round < CONFIG.sideRounds && sidePairs.length > 0; round++) {
      for (let i = 0; i < sidePairs.length; i++) {
        const index = (i + round) % sidePairs.length;
        const pair = sideResults[index];
        const [ref, v] = sidePairs[index];
        const r = await sideBySide(ref.server, v.server, round, (server, durationS) => {
          const s = server === ref.server ? ref : v;
          return meLoad(s.variant, durationS, server, s.jar ?? cookies.get(s.variant))();
        });
        pair.rounds.push(r);
        log(
          `side by side ${round + 1}/${CONFIG.sideRounds} ${pair.reference} ${r.reference.cpuUsPerReq.toFixed(1)} vs ${pair.variant} ${r.variant.cpuUsPerReq.toFixed(1)} µs CPU/req: ${r.cpuRatio.toFixed(3)}`,
        );
      }
    }
    results.sideBySide = sideResults;
    for (const server of extraBare) await server.stop();
    if (variants.includes('kit-csrf')) {
      results.sideBySide.push(await csrfWrites(servers.get('kit-csrf')!, cookies.get('kit-csrf')!, serverCore));
    }

    for (const v of variants) {
      // kit-sealed runs without idle re-seals (its cookies are fixed per connection): no touch to check.
      if (v.startsWith('kit') && !BEARER_VARIANTS.includes(v) && v !== 'kit-sealed') {
        // The session was in use the whole run with a 1 s touch interval: lastSeenAt must be recent.
        const res = await httpRequest(servers.get(v)!.port, 'GET', '/me', { cookie: cookies.get(v)![0] });
        const lastSeenAt = (JSON.parse(res.body) as { lastSeenAt: number }).lastSeenAt;
        results.me[v]!.touch = { lastSeenAgeMs: Date.now() - lastSeenAt, touchedDuringRun: lastSeenAt > phaseStart };
      }
      if (redis && v.endsWith('redis')) {
        log(`MONITOR audit ${v} (${CONFIG.auditS}s)`);
        results.me[v]!.audit = await audit(redis, meLoad(v, CONFIG.auditS));
      }
    }

    // ---------------------------------------------------------------------------- POST /login
    const loginVariants = LOGIN_VARIANTS.filter((v) => variants.includes(v));
    const loginLoad = (v: Variant, durationS: number) => () =>
      runLoad({ port: servers.get(v)!.port, method: 'POST', path: '/login', durationS, connections: CONFIG.connections });
    for (const v of loginVariants) {
      results.login[v] = { rounds: [] };
      log(`warm-up login ${v} (${CONFIG.warmupS}s)`);
      await loginLoad(v, CONFIG.warmupS)();
    }
    for (let round = 0; round < CONFIG.loginRounds; round++) {
      const order = loginVariants.map((_, i) => loginVariants[(i + round) % loginVariants.length]);
      for (const v of order) {
        const r = await measureQuiet(servers.get(v)!, v.endsWith('redis') ? redis : undefined, round, loginLoad(v, CONFIG.durationS));
        results.login[v]!.rounds.push(r);
        log(
          `POST /login round ${round + 1}/${CONFIG.loginRounds} ${v}: ${r.rps.toFixed(0)} req/s, ${r.cpuUsPerReq.toFixed(1)} µs CPU/req${r.non2xx ? `, ${r.non2xx} non-2xx! ${JSON.stringify(r.statuses)}` : ''}`,
        );
      }
    }
    for (const v of loginVariants) {
      if (redis && v.endsWith('redis')) results.login[v]!.audit = await audit(redis, loginLoad(v, 2));
    }

    // ------------------------------------------------------------------------- POST /refresh
    // Issue 8: refresh-token rotations per second, each request presenting the token the previous answer gave.
    if (variants.includes('kit-bearer')) {
      const server = servers.get('kit-bearer')!;
      results.refresh['kit-bearer'] = { rounds: [] };
      // One chain per connection, signed in before the windows (sign-in is not what this measures).
      const chains = (await bearerMany(server.port, CONFIG.connections)).refreshTokens;
      log(`warm-up refresh kit-bearer (${CONFIG.warmupS}s)`);
      await runRefreshLoad(server.port, CONFIG.warmupS, chains);
      for (let round = 0; round < CONFIG.loginRounds; round++) {
        const r = await measureQuiet(server, undefined, round, () => runRefreshLoad(server.port, CONFIG.durationS, chains));
        results.refresh['kit-bearer']!.rounds.push(r);
        log(
          `POST /refresh round ${round + 1}/${CONFIG.loginRounds} kit-bearer: ${r.rps.toFixed(0)} refreshes/s, ${r.cpuUsPerReq.toFixed(1)} µs CPU/refresh${r.non2xx ? `, ${r.non2xx} non-2xx! ${JSON.stringify(r.statuses)}` : ''}`,
        );
      }
    }
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    await redis?.stop();
    await memcached?.stop();
  }

  log(`heap per session (${CONFIG.heapCount} sessions)`);
  const heap = await measureHeap(CONFIG.heapCount);

  const bareRounds = results.me.bare ? Object.fromEntries(results.me.bare.rounds.map((r) => [r.round, r])) : undefined;
  for (const [v, r] of Object.entries(results.me))
    if (r && r.rounds.length > 0) r.summary = summarise(r.rounds, v === 'bare' ? undefined : bareRounds);
  for (const r of Object.values(results.login)) if (r && r.rounds.length > 0) r.summary = summarise(r.rounds);
  for (const r of Object.values(results.refresh)) if (r && r.rounds.length > 0) r.summary = summarise(r.rounds);
  machine.loadAvgAfter = loadavg();
  machine.noisyRetries = MAX_RETRIES_PER_RUN - retriesLeft;
  machine.durationS = Math.round((Date.now() - started) / 1000);

  const report = {
    machine,
    config: CONFIG,
    sessionSettings: SESSION_SETTINGS,
    variants,
    me: results.me,
    login: results.login,
    sideBySide: results.sideBySide,
    refresh: results.refresh,
    heap,
  };
  mkdirSync(OUT_DIR, { recursive: true });
  const stamp = machine.date.replace(/[:.]/g, '-');
  writeFileSync(join(OUT_DIR, `results-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(OUT_DIR, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  const markdownPath = process.env.BENCH_RESULTS ?? join(ROOT, 'bench', 'RESULTS.md');
  const { markdown, targets } = renderMarkdown(report);
  writeFileSync(markdownPath, markdown);
  log(`wrote ${markdownPath} and bench/out/results-${stamp}.json in ${machine.durationS}s`);
  for (const t of targets) log(`${t.pass ? 'PASS' : 'FAIL'} ${t.name}: ${t.measured}`);
}

/** Runs the benchmark and exits the process (bench/run.js calls this after compiling). */
export function cli(): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('bench failed:', error);
      killAll();
      process.exit(1);
    },
  );
}

if (require.main === module) cli();
