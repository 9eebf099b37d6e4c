/**
 * The scale run (`node bench/run.js scale`, issue 9): what one million stored sessions cost next to a thousand.
 *
 * For every backend of bench/scale-backends.ts (Redis, PostgreSQL) it makes two instances, a small one (1,000
 * sessions) and a large one (1,000,000), fills both in the store's own format, and starts the same app on each:
 * - `GET /me` side by side (both apps under load at once, their servers sharing one core, as in bench/driver.ts):
 *   server CPU per request and p99 latency on the large backend against the small one, per window, medians;
 *   and every `GET /me` variant against bare Nest on the large backend (`SCALE_ME_VARIANTS`);
 * - per-user operations (list, logout everywhere, destroy by handle, create at the concurrent-session limit) timed at
 *   the store, for users of 1, 10 and 100 sessions, alternately on the small and the large backend, medians;
 * - Redis bytes per session: `MEMORY USAGE` of session keys and user indexes, and the `used_memory` growth of the fill.
 * It writes bench/SCALE.md (targets with PASS/FAIL) and bench/out/scale-<date>.json.
 *
 * Environment (all optional):
 *   BENCH_SCALE_SESSIONS=1000000   sessions in the large instances (e.g. 20000 for a quick check)
 *   BENCH_SCALE_SMALL=1000         sessions in the small instances
 *   BENCH_SCALE_BACKENDS=a,b       subset of redis,postgres
 *   BENCH_SCALE_PER_USER=1,10,100  sessions per user for the per-user operations
 *   BENCH_SCALE_OP_REPS=21         measurements per operation, backend size and per-user count
 *   BENCH_SIDE_ROUNDS=12           side-by-side windows per pair
 *   BENCH_DURATION=3  BENCH_WARMUP=3  BENCH_CONNECTIONS=50   as in bench/driver.ts
 *   BENCH_SCALE_RESULTS=path       where to write the Markdown (default bench/SCALE.md)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { SessionRecord } from '../lib/core/session-record';
import type { SessionStore } from '../lib/stores/session-store';
import { makeRecord } from '../lib/testing/session-fixtures';
import { httpRequest, LoadResult, loginMany, runLoad, USER_AGENT } from './load';
import { AppServer, canPin, installCleanup, killAll, pinSelf } from './processes';
import {
  BackendInstance,
  fillRecord,
  freshId,
  REDIS_MEMORY_SETTINGS,
  redisBytesWith,
  SCALE_BACKENDS,
  ScaleBackend,
} from './scale-backends';
import { renderScaleMarkdown, ScaleReport, SidePair, OpSample } from './scale-report';
import type { AppVariant } from './settings';
import { SESSION_SETTINGS } from './settings';

const env = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got ${raw})`);
  return value;
};

const list = (name: string, fallback: string): string[] =>
  (process.env[name] || fallback)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/**
 * The scale run's settings, from the environment (see the file comment): `large` and `small` sessions per instance
 * (default 1,000,000 and 1,000), `perUser` sessions per user of the per-user operations (default 1, 10, 100),
 * `opReps` samples per operation, count and instance (default 21), `sideRounds` side-by-side windows per pair
 * (default 12) of `durationS` seconds (default 3) after `warmupS` seconds (default 3), `connections` per autocannon (50).
 */
export const SCALE_CONFIG = {
  large: Math.floor(env('BENCH_SCALE_SESSIONS', 1_000_000)),
  small: Math.floor(env('BENCH_SCALE_SMALL', 1000)),
  perUser: list('BENCH_SCALE_PER_USER', '1,10,100').map((n) => {
    const value = Number(n);
    if (!Number.isInteger(value) || value < 1) throw new Error(`BENCH_SCALE_PER_USER: ${n} is not a positive whole number`);
    return value;
  }),
  opReps: Math.floor(env('BENCH_SCALE_OP_REPS', 21)),
  sideRounds: Math.floor(env('BENCH_SIDE_ROUNDS', 12)),
  durationS: env('BENCH_DURATION', 3),
  warmupS: env('BENCH_WARMUP', 3),
  connections: Math.floor(env('BENCH_CONNECTIONS', 50)),
};

/**
 * `GET /me` variants measured against bare Nest in the same run, on the large instance of their backend when they
 * have one. The filled backends come first; add a variant without a backend to fill (the sealed-cookie mode, once
 * bench/app.ts serves it) as `{ variant: 'kit-sealed' }`, and a new store as a {@link ScaleBackend} in
 * bench/scale-backends.ts (it then joins this list by itself).
 */
export const SCALE_ME_VARIANTS: readonly { variant: AppVariant; backend?: string }[] = SCALE_BACKENDS.map((b) => ({
  variant: b.variant,
  backend: b.name,
}));

/** Whole-run watchdog: filling a million sessions twice takes minutes, never an hour. */
const MAX_RUN_MS = 60 * 60_000;
/** Sessions whose bytes `MEMORY USAGE` reads (Redis). */
const BYTES_SAMPLE = 200;
/** Sessions per Redis of {@link REDIS_MEMORY_SETTINGS} (bytes per session with other server settings). */
const SETTINGS_SESSIONS = 100_000;
/** Filled sessions read back through the store after a fill, to prove the app will find them. */
const FILL_CHECK_SAMPLE = 100;

const ROOT = join(__dirname, '..', '..', '..', '..');
const OUT_DIR = join(ROOT, 'bench', 'out');
const log = (message: string): void => console.log(`[scale ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** Per-instance salt of the fill ids, so two instances never share an id and an id can be recomputed from its index. */
function fillIds(label: string): (i: number) => string {
  const salt = `${label}:${randomBytes(8).toString('hex')}`;
  return (i) => createHash('sha256').update(`${salt}:${i}`).digest('base64url');
}

interface Instance {
  label: 'small' | 'large';
  size: number;
  backend: ScaleBackend;
  inst: BackendInstance;
  id: (i: number) => string;
  server?: AppServer;
  cookies?: string[];
}

/** Fills `instance` with its `size` sessions, checks the count and that a sample reads as active through the store. */
async function fill(
  instance: Instance,
  now: number,
): Promise<{ seconds: number; perSecond: number; before: Record<string, number>; after: Record<string, number> }> {
  const { inst, size, id } = instance;
  const before = await inst.footprint();
  const t0 = performance.now();
  let lastLog = t0;
  await inst.fill(
    size,
    id,
    (i) => fillRecord(now, i),
    (done) => {
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(`  ${instance.backend.name} ${instance.label}: ${done} of ${size} sessions written`);
      }
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  const count = await inst.sessionCount();
  if (count !== size) throw new Error(`${instance.backend.name} ${instance.label}: filled ${size} sessions but the backend holds ${count}`);
  for (let k = 0; k < FILL_CHECK_SAMPLE; k++) {
    const i = Math.floor((k * size) / FILL_CHECK_SAMPLE);
    const read = await inst.store.read(id(i), { now: Date.now(), idleTimeoutMs: 30 * 60_000, touchIntervalMs: 60 * 60_000 });
    if (read.status !== 'active' || read.record.userId !== `scale-${i}`) {
      throw new Error(`${instance.backend.name} ${instance.label}: filled session ${i} reads as ${read.status} through the store`);
    }
  }
  return { seconds, perSecond: size / seconds, before, after: await inst.footprint() };
}

/** `GET /me` of two apps under load at once (servers on one core): server CPU per request and p99 of each. */
async function sideBySide(a: Instance | AppServerRef, b: Instance | AppServerRef, round: number): Promise<SidePair['rounds'][number]> {
  const [sa, sb] = [serverOf(a), serverOf(b)];
  await Promise.all([sa.cpuStart(), sb.cpuStart()]);
  const load = (x: Instance | AppServerRef): Promise<LoadResult> =>
    runLoad({
      port: serverOf(x).port,
      method: 'GET',
      path: '/me',
      durationS: SCALE_CONFIG.durationS,
      connections: SCALE_CONFIG.connections,
      cookies: x.cookies,
    });
  const [la, lb] = await Promise.all([load(a), load(b)]);
  const [ca, cb] = await Promise.all([sa.cpuStop(), sb.cpuStop()]);
  const side = (l: LoadResult, c: { userUs: number; systemUs: number }) => ({
    requests: l.requests,
    rps: l.rps,
    cpuUsPerReq: (c.userUs + c.systemUs) / Math.max(l.requests, 1),
    latencyP50: l.latencyP50,
    latencyP99: l.latencyP99,
    bad: l.non2xx + l.errors + l.timeouts,
  });
  return { round, reference: side(la, ca), variant: side(lb, cb), loadAvg1: loadavg()[0] };
}

/** An app server that is not on a scale backend (bare, and variants without a backend to fill). */
interface AppServerRef {
  server: AppServer;
  cookies?: string[];
}
const serverOf = (x: Instance | AppServerRef): AppServer => x.server!;

/** Logs the connections' users in on `server` and checks `GET /me`. */
async function signIn(server: AppServer, name: string): Promise<string[]> {
  const cookies = await loginMany(server.port, SCALE_CONFIG.connections);
  const check = await httpRequest(server.port, 'GET', '/me', { cookie: cookies[0] });
  if (check.status !== 200) throw new Error(`${name}: GET /me answered ${check.status} ${check.body.slice(0, 200)}`);
  return cookies;
}

// ------------------------------------------------------------------------------------- per-user operations

/** The per-user operations, timed at the store (one call each, the round trip included), in the order they run. */
export const USER_OPS = ['listByUser', 'createAtLimit', 'destroyByHandle', 'destroyByUser'] as const;
/** One of {@link USER_OPS}. */
export type UserOp = (typeof USER_OPS)[number];

/** A session of user `userId` created at `createdAt` (the bench's user agent, the module's 30 min idle timeout). */
function userRecord(userId: string, createdAt: number): SessionRecord {
  return makeRecord(createdAt, { userId, userAgent: USER_AGENT, idleTimeoutMs: 30 * 60_000 });
}

/**
 * Users per sample of the per-user operations: each operation runs once on each, and the sample is the fastest. On a
 * shared 2-core VM a store call is now and then descheduled for several ms (a bimodal spread: 0.5-1 ms or 5-15 ms for
 * the same PostgreSQL call); the best of three keeps the operation's own cost, and the median over the samples then
 * compares the sizes.
 */
const TRIES_PER_SAMPLE = 3;

/**
 * {@link TRIES_PER_SAMPLE} users with `perUser` sessions each on `instance`, then each operation once per user, timed:
 * `listByUser` (all of them), `create` with `maxConcurrent: perUser` (the user is at the limit: it evicts the oldest),
 * `destroyByHandle` of the newest session (the last one an index scan meets), and `destroyByUser` of all `perUser` (one
 * session is added back first, untimed). Every result is checked, so a wrong answer fails the run instead of timing
 * nothing. Returns the fastest try of each operation.
 */
async function userOps(instance: Instance, perUser: number, rep: number): Promise<Record<UserOp, OpSample>> {
  const store: SessionStore = instance.inst.store;
  const users = Array.from({ length: TRIES_PER_SAMPLE }, (_, t) => `ops-${perUser}-${rep}-${t}-${randomBytes(4).toString('hex')}`);
  const base = Date.now() - perUser - 10;
  await Promise.all(
    users.flatMap((userId) =>
      Array.from({ length: perUser }, (_, k) =>
        store.create(freshId(), userRecord(userId, base + k), { now: Date.now(), maxConcurrent: 0 }),
      ),
    ),
  );
  const timed = async <T>(op: () => Promise<T>, check: (result: T) => boolean, what: string): Promise<OpSample> => {
    const serverBefore = await instance.inst.serverUs?.();
    const t0 = performance.now();
    const result = await op();
    const us = (performance.now() - t0) * 1000;
    const serverAfter = await instance.inst.serverUs?.();
    if (!check(result)) {
      throw new Error(
        `${instance.backend.name} ${instance.label}: ${what} for a user of ${perUser} sessions answered ${JSON.stringify(result).slice(0, 300)}`,
      );
    }
    return { us, serverUs: serverBefore === undefined || serverAfter === undefined ? undefined : serverAfter - serverBefore };
  };
  const best = (samples: OpSample[]): OpSample => {
    const server = samples.map((x) => x.serverUs).filter((v): v is number => v !== undefined);
    return { us: Math.min(...samples.map((x) => x.us)), serverUs: server.length === samples.length ? Math.min(...server) : undefined };
  };
  const each = async (run: (userId: string) => Promise<OpSample>): Promise<OpSample> => {
    const samples: OpSample[] = [];
    for (const userId of users) samples.push(await run(userId));
    return best(samples);
  };
  const listByUser = await each((userId) =>
    timed(
      () => store.listByUser(userId, Date.now()),
      (r) => r.length === perUser,
      'listByUser',
    ),
  );
  const newest = new Map(users.map((userId) => [userId, userRecord(userId, Date.now())]));
  const createAtLimit = await each((userId) =>
    timed(
      () => store.create(freshId(), newest.get(userId)!, { now: Date.now(), maxConcurrent: perUser, onLimit: 'evict-oldest' }),
      (r) => r.status === 'created' && r.evicted.length === 1,
      'create at the limit',
    ),
  );
  const destroyByHandle = await each((userId) =>
    timed(
      () => store.destroyByHandle(userId, newest.get(userId)!.handle),
      (r) => r?.handle === newest.get(userId)!.handle,
      'destroyByHandle',
    ),
  );
  for (const userId of users) await store.create(freshId(), userRecord(userId, Date.now()), { now: Date.now(), maxConcurrent: 0 });
  const destroyByUser = await each((userId) =>
    timed(
      () => store.destroyByUser(userId),
      (r) => r.length === perUser,
      'destroyByUser',
    ),
  );
  return { listByUser, createAtLimit, destroyByHandle, destroyByUser };
}

// -------------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  installCleanup();
  const watchdog = setTimeout(() => {
    console.error(`scale: still running after ${MAX_RUN_MS / 60_000} min; killing everything`);
    killAll();
    process.exit(1);
  }, MAX_RUN_MS);
  watchdog.unref();

  const started = Date.now();
  const picked = list('BENCH_SCALE_BACKENDS', SCALE_BACKENDS.map((b) => b.name).join(','));
  for (const name of picked) {
    if (!SCALE_BACKENDS.some((b) => b.name === name)) {
      throw new Error(`BENCH_SCALE_BACKENDS: unknown backend ${name}; use some of ${SCALE_BACKENDS.map((b) => b.name).join(',')}`);
    }
  }
  const backends = SCALE_BACKENDS.filter((b) => picked.includes(b.name));
  if (SCALE_CONFIG.small >= SCALE_CONFIG.large) throw new Error('BENCH_SCALE_SMALL must be below BENCH_SCALE_SESSIONS');
  const cores = cpus().length;
  const pinned = canPin(cores) && pinSelf(0);
  const serverCore = pinned ? 1 : undefined;
  const loadCore = pinned ? 0 : undefined;
  const report: ScaleReport = {
    machine: {
      node: process.version,
      cores,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      date: new Date().toISOString(),
      loadAvgBefore: loadavg(),
      loadAvgAfter: [],
      pinned: pinned
        ? 'app servers on core 1; load generator, driver and the private Redis servers on core 0 (taskset); PostgreSQL (shared server) unpinned'
        : 'not pinned (taskset unavailable or one core)',
      durationS: 0,
    },
    config: SCALE_CONFIG,
    sessionSettings: SESSION_SETTINGS,
    backends: [],
    side: [],
    ops: [],
    redisSettings: [],
  };
  log(`node ${process.version}, ${cores} cores, ${report.machine.pinned}; config ${JSON.stringify(SCALE_CONFIG)}`);

  const instances: Instance[] = [];
  const others: AppServerRef[] = [];
  try {
    // ------------------------------------------------------------------------------ backends, filled
    for (const backend of backends) {
      const entry: ScaleReport['backends'][number] = { name: backend.name, variant: backend.variant, instances: [] };
      report.backends.push(entry);
      for (const [label, size] of [
        ['small', SCALE_CONFIG.small],
        ['large', SCALE_CONFIG.large],
      ] as const) {
        const inst = await backend.open(label, loadCore);
        const instance: Instance = { label, size, backend, inst, id: fillIds(`${backend.name}-${label}`) };
        instances.push(instance);
        log(`${backend.name} ${label}: ${inst.description}; filling ${size} sessions`);
        const filled = await fill(instance, Date.now());
        log(`${backend.name} ${label}: ${size} sessions in ${filled.seconds.toFixed(1)} s (${filled.perSecond.toFixed(0)}/s)`);
        const bytes =
          label === 'large' && inst.sessionBytes
            ? await inst.sessionBytes(
                Array.from({ length: BYTES_SAMPLE }, (_, k) => instance.id(Math.floor((k * size) / BYTES_SAMPLE))),
                Array.from({ length: BYTES_SAMPLE }, (_, k) => `scale-${Math.floor((k * size) / BYTES_SAMPLE)}`),
              )
            : undefined;
        entry.instances.push({
          label,
          sessions: size,
          description: inst.description,
          fillSeconds: filled.seconds,
          footprintBefore: filled.before,
          footprintAfter: filled.after,
          bytes,
        });
      }
    }

    // Bytes per session under other Redis settings (a Redis of their own each, stopped before anything is timed).
    if (backends.some((b) => b.name === 'redis')) {
      for (const setting of REDIS_MEMORY_SETTINGS) {
        const sessions = Math.min(SCALE_CONFIG.large, SETTINGS_SESSIONS);
        log(`redis with ${setting.name}: bytes per session over ${sessions} sessions`);
        (report.redisSettings ??= []).push({
          name: setting.name,
          sessions,
          ...(await redisBytesWith(setting.config, sessions, BYTES_SAMPLE, loadCore)),
        });
      }
    }

    // ------------------------------------------------------------------------------ servers
    const bare: AppServerRef = { server: await AppServer.start('bare', { core: serverCore }) };
    others.push(bare);
    for (const instance of instances) {
      instance.server = await AppServer.start(instance.backend.variant, { core: serverCore, env: instance.inst.appEnv });
      instance.cookies = await signIn(instance.server, `${instance.backend.variant} (${instance.label})`);
      log(`started ${instance.backend.variant} on the ${instance.label} ${instance.backend.name} (port ${instance.server.port})`);
    }
    const meVariants = SCALE_ME_VARIANTS.filter((v) => v.backend === undefined || backends.some((b) => b.name === v.backend));
    const meServers = new Map<AppVariant, Instance | AppServerRef>();
    for (const v of meVariants) {
      const onBackend = instances.find((i) => i.backend.name === v.backend && i.label === 'large');
      if (onBackend) {
        meServers.set(v.variant, onBackend);
        continue;
      }
      const server = await AppServer.start(v.variant, { core: serverCore });
      const ref: AppServerRef = { server, cookies: await signIn(server, v.variant) };
      others.push(ref);
      meServers.set(v.variant, ref);
    }

    // ------------------------------------------------------------------------------ GET /me side by side
    type Side = { pair: SidePair; a: Instance | AppServerRef; b: Instance | AppServerRef };
    const pairs: Side[] = [];
    for (const backend of backends) {
      const small = instances.find((i) => i.backend === backend && i.label === 'small')!;
      const large = instances.find((i) => i.backend === backend && i.label === 'large')!;
      pairs.push({
        pair: {
          kind: 'scale',
          backend: backend.name,
          reference: `${backend.variant} (${small.size} sessions)`,
          variant: `${backend.variant} (${large.size} sessions)`,
          rounds: [],
        },
        a: small,
        b: large,
      });
    }
    for (const v of meVariants) {
      const server = meServers.get(v.variant)!;
      const where = 'size' in server ? ` (${(server as Instance).size} sessions)` : '';
      pairs.push({
        pair: { kind: 'bare', backend: v.backend, reference: 'bare', variant: `${v.variant}${where}`, rounds: [] },
        a: bare,
        b: server,
      });
    }
    for (const target of [bare, ...instances, ...others.filter((o) => o !== bare)]) {
      await runLoad({
        port: serverOf(target).port,
        method: 'GET',
        path: '/me',
        durationS: SCALE_CONFIG.warmupS,
        connections: SCALE_CONFIG.connections,
        cookies: target.cookies,
      });
    }
    log(`warmed up; ${pairs.length} pairs × ${SCALE_CONFIG.sideRounds} side-by-side windows of ${SCALE_CONFIG.durationS} s`);
    for (let round = 0; round < SCALE_CONFIG.sideRounds; round++) {
      for (let k = 0; k < pairs.length; k++) {
        const { pair, a, b } = pairs[(k + round) % pairs.length];
        // Alternate which side's autocannon starts first.
        const r = round % 2 === 0 ? await sideBySide(a, b, round) : swap(await sideBySide(b, a, round));
        if (r.reference.bad > 0 || r.variant.bad > 0)
          throw new Error(`${pair.reference} vs ${pair.variant}: non-2xx answers or errors in round ${round + 1}`);
        pair.rounds.push(r);
        log(
          `side by side ${round + 1}/${SCALE_CONFIG.sideRounds} ${pair.reference} ${r.reference.cpuUsPerReq.toFixed(1)} µs p99 ${r.reference.latencyP99} ms vs ${pair.variant} ${r.variant.cpuUsPerReq.toFixed(1)} µs p99 ${r.variant.latencyP99} ms`,
        );
      }
    }
    report.side = pairs.map((p) => p.pair);

    // ------------------------------------------------------------------------------ per-user operations
    for (const backend of backends) {
      const small = instances.find((i) => i.backend === backend && i.label === 'small')!;
      const large = instances.find((i) => i.backend === backend && i.label === 'large')!;
      for (const perUser of SCALE_CONFIG.perUser) {
        const cell = { backend: backend.name, perUser, small: [] as Record<UserOp, OpSample>[], large: [] as Record<UserOp, OpSample>[] };
        for (let rep = 0; rep < SCALE_CONFIG.opReps; rep++) {
          // Alternate the order, so neither size always runs first.
          for (const instance of rep % 2 === 0 ? [small, large] : [large, small]) {
            cell[instance.label].push(await userOps(instance, perUser, rep));
          }
        }
        report.ops.push(cell);
        log(`per-user operations on ${backend.name}, ${perUser} per user: ${SCALE_CONFIG.opReps} × 2 sizes`);
      }
    }
  } finally {
    await Promise.all([...instances.map((i) => i.server?.stop()), ...others.map((o) => o.server.stop())]);
    for (const instance of instances)
      await instance.inst
        .dispose()
        .catch((error: unknown) => console.error(`scale: ${instance.backend.name} ${instance.label}: clean-up failed:`, error));
  }

  report.machine.loadAvgAfter = loadavg();
  report.machine.durationS = Math.round((Date.now() - started) / 1000);
  mkdirSync(OUT_DIR, { recursive: true });
  const stamp = report.machine.date.replace(/[:.]/g, '-');
  writeFileSync(join(OUT_DIR, `scale-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  const markdownPath = process.env.BENCH_SCALE_RESULTS ?? join(ROOT, 'bench', 'SCALE.md');
  const { markdown, targets } = renderScaleMarkdown(report);
  writeFileSync(markdownPath, markdown);
  log(`wrote ${markdownPath} and bench/out/scale-${stamp}.json in ${report.machine.durationS}s`);
  for (const t of targets) log(`${t.pass ? 'PASS' : 'FAIL'} ${t.name}: ${t.measured}`);
}

/** A round measured with the sides swapped, put back in (reference, variant) order. */
function swap(r: SidePair['rounds'][number]): SidePair['rounds'][number] {
  return { ...r, reference: r.variant, variant: r.reference };
}

/** Runs the scale measurements and exits the process (bench/run.js calls this after compiling). */
export function cli(): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('scale bench failed:', error);
      killAll();
      process.exit(1);
    },
  );
}

if (require.main === module) cli();
