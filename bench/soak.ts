/**
 * `node bench/run.js soak`: the sample app under a fixed rate of mixed traffic for 30 minutes, sampled every few
 * seconds, judged flat or not (bench/soak-stats.ts), written to bench/SOAK.md and bench/soak.png. See bench/README.md.
 *
 * Environment (all optional):
 *   BENCH_SOAK_MINUTES=30          length of the traffic
 *   BENCH_SOAK_WARMUP_MINUTES      left out of the verdict (default 5, or a third of a run shorter than 15 minutes)
 *   BENCH_SOAK_SAMPLE_SECONDS=5    time between samples
 *   BENCH_SOAK_GC_SECONDS=60       time between forced full GCs (each followed by a sample of the heap it leaves)
 *   BENCH_SOAK_RATE=200            requests per second of browsers and API clients (attackers add 4)
 *   BENCH_SOAK_RESULTS=path        the Markdown (default bench/SOAK.md)
 *   BENCH_SOAK_DATABASE_URL=url    the sample's users database (default: a SQLite file in a temporary directory)
 *   BENCH_SOAK_PLOT=path           the PNG (default bench/soak.png, next to the Markdown, which links it by name)
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/browser/support/chromium';
import { AppServer, installCleanup, killAll } from './processes';
import type { ResourceSample } from './resources';
import { renderSoakMarkdown, renderSoakSvg, SoakRun } from './soak-report';
import { judgeSoak, timerCount } from './soak-stats';
import { DEFAULT_TRAFFIC, runSoakTraffic, TrafficPlan } from './soak-traffic';

/** The repository root (this file runs from bench/out/build/bench/). */
const ROOT = join(__dirname, '..', '..', '..', '..');
const OUT_DIR = join(ROOT, 'bench', 'out');

const log = (message: string): void => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}`);

function env(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got ${raw})`);
  return value;
}

/** Traffic keeps running this long after the last sample, so the final forced GC happens under traffic too (ms). */
const TAIL_MS = 10_000;
async function main(): Promise<void> {
  installCleanup();
  const minutes = env('BENCH_SOAK_MINUTES', 30);
  const warmupMinutes = env('BENCH_SOAK_WARMUP_MINUTES', minutes >= 15 ? 5 : minutes / 3);
  if (warmupMinutes >= minutes)
    throw new Error(`BENCH_SOAK_WARMUP_MINUTES (${warmupMinutes}) must be shorter than BENCH_SOAK_MINUTES (${minutes})`);
  const sampleSeconds = env('BENCH_SOAK_SAMPLE_SECONDS', 5);
  const gcSeconds = env('BENCH_SOAK_GC_SECONDS', 60);
  const rate = env('BENCH_SOAK_RATE', 200);
  const resultsPath = process.env.BENCH_SOAK_RESULTS || join(ROOT, 'bench', 'SOAK.md');
  const plotPath = process.env.BENCH_SOAK_PLOT || join(dirname(resultsPath), 'soak.png');

  mkdirSync(OUT_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dataDir = mkdtempSync(join(tmpdir(), 'nsk-soak-'));
  const sampleEnv: Record<string, string> = {
    // BENCH_SOAK_DATABASE_URL: the users database and audit trail elsewhere (e.g. PostgreSQL, to see whether RSS
    // growth follows the SQLite driver).
    DATABASE_URL: process.env.BENCH_SOAK_DATABASE_URL || `sqlite:${join(dataDir, 'users.sqlite')}`,
    SESSION_STORE: 'memory',
    SECURITY_LOG: '/dev/null',
    SESSION_ROTATION_INTERVAL: '10s',
    SESSION_ROTATION_GRACE: '10s',
    SESSION_IDLE_TIMEOUT: '2m',
    SESSION_MAX_CONCURRENT: '0',
    TRUST_PROXY: 'loopback',
    ACCESS_TOKEN_TTL: '1m',
    REFRESH_IDLE_TIMEOUT: '2m',
    REFRESH_ABSOLUTE_TIMEOUT: '10m',
  };
  const nodeArgs = ['--expose-gc'];
  const plan: TrafficPlan = { ...DEFAULT_TRAFFIC, port: 0, rate };

  log(`sample app, ${minutes} min at ${rate} req/s (+${plan.attackers * plan.attackerRate} attacker req/s), warm-up ${warmupMinutes} min`);
  const server = await AppServer.start('sample', { env: { BENCH_SAMPLE_ENV: JSON.stringify(sampleEnv) }, nodeArgs });
  try {
    const run = await soak(server, { ...plan, port: server.port }, { minutes, warmupMinutes, sampleSeconds, gcSeconds });
    const record: SoakRun = {
      ...run,
      machine: { ...run.machine, loadAvgEnd: loadavg() },
      store: 'the in-memory session and token stores (`SESSION_STORE=memory`)',
      sampleEnv,
      nodeArgs,
      minutes,
      warmupMinutes,
      sampleSeconds,
      gcSeconds,
      plan: { ...DEFAULT_TRAFFIC, rate },
    };
    const rawPath = join(OUT_DIR, `soak-${stamp}.json`);
    writeFileSync(rawPath, JSON.stringify(record, null, 1));
    const svgPath = join(OUT_DIR, `soak-${stamp}.svg`);
    writeFileSync(svgPath, renderSoakSvg(record));
    writeFileSync(resultsPath, renderSoakMarkdown(record, relative(dirname(resultsPath), plotPath) || basename(plotPath)));
    log(`raw samples → ${relative(ROOT, rawPath)}, Markdown → ${relative(ROOT, resultsPath) || resultsPath}`);
    await renderPng(svgPath, plotPath);
    log(`plot → ${plotPath}`);
    const unexpected = Object.keys(record.traffic.unexpected).length;
    if (unexpected > 0) {
      log(`FAIL: unexpected answers on ${unexpected} routes:\n  ${record.traffic.examples.join('\n  ')}`);
      process.exitCode = 1;
    }
    if (!record.verdict.pass) {
      log(`FAIL: ${record.verdict.failures.join('; ')}`);
      process.exitCode = 1;
    }
    if (process.exitCode !== 1) log('PASS');
  } finally {
    await server.stop();
    killAll();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The traffic and the sampling of one run. */
async function soak(
  server: AppServer,
  plan: TrafficPlan,
  timing: { minutes: number; warmupMinutes: number; sampleSeconds: number; gcSeconds: number },
): Promise<Pick<SoakRun, 'startedAt' | 'startMs' | 'machine' | 'samples' | 'gcSamples' | 'idleGc' | 'traffic' | 'verdict'>> {
  const startedAt = new Date().toISOString();
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadAvgStart: loadavg(),
    loadAvgEnd: [],
  };
  const runMs = timing.minutes * 60_000;
  // The first sample arms the server's event-loop monitor and timer hook; it is not kept.
  await server.resources();
  const traffic = runSoakTraffic(plan, runMs + TAIL_MS);
  let trafficDone = false;
  void traffic.finally(() => (trafficDone = true)).catch(() => undefined);
  const start = Date.now();
  const samples: ResourceSample[] = [];
  const gcSamples: ResourceSample[] = [];
  const MB = 1048576;
  let tick = 1;
  let nextGc = start + timing.gcSeconds * 1000;
  // Sample until the end; the traffic goes on for TAIL_MS more, so the last forced GC is under traffic like the others.
  for (;;) {
    const due = start + tick * timing.sampleSeconds * 1000;
    if (due > start + runMs || trafficDone) break;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    tick++;
    const last = start + tick * timing.sampleSeconds * 1000 > start + runMs;
    if (Date.now() >= nextGc || last) {
      nextGc += timing.gcSeconds * 1000;
      await server.gc();
      gcSamples.push(await server.resources());
      continue;
    }
    const sample = await server.resources();
    samples.push(sample);
    if (samples.length % Math.max(1, Math.round(60 / timing.sampleSeconds)) === 0) {
      const retained = gcSamples[gcSamples.length - 1];
      log(
        `${((Date.now() - start) / 60_000).toFixed(1)} min: heap used ${(sample.heapUsed / MB).toFixed(1)} MB ` +
          `(${retained ? (retained.heapUsed / MB).toFixed(1) : '?'} MB after the last GC), RSS ${(sample.rss / MB).toFixed(1)} MB, ` +
          `fds ${sample.fds}, timers ${timerCount(sample)}, loop p99 ${sample.loopDelay?.p99.toFixed(1) ?? '?'} ms`,
      );
    }
  }
  const result = await traffic;
  await new Promise((resolve) => setTimeout(resolve, 3000));
  await server.gc();
  const idleGc = await server.resources();
  const verdict = judgeSoak(samples, gcSamples, start + timing.warmupMinutes * 60_000);
  return { startedAt, startMs: start, machine, samples, gcSamples, idleGc, traffic: result, verdict };
}

/** Screenshots the SVG with Debian's chromium through playwright-core (no browser download, no new package). */
async function renderPng(svgPath: string, pngPath: string): Promise<void> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `the plot needs chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH); the SVG is at ${svgPath}`,
    );
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(`file://${svgPath}`);
    await page.screenshot({ path: pngPath, clip: { x: 0, y: 0, width: 1000, height: 700 } });
  } finally {
    await browser.close();
  }
}

/** Entry point (bench/run.js): exits 0 on PASS, 1 on FAIL or error. */
export function cli(): void {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (error: unknown) => {
      console.error('soak failed:', error);
      killAll();
      process.exit(1);
    },
  );
}

if (require.main === module) cli();
