/**
 * The soak run's flatness maths (bench/soak.ts): least-squares slopes of memory over time, and the verdict against
 * the bounds below (heap after forced GCs and RSS must not grow, nor descriptors, timers or handles). Pure functions of the samples, so test/unit/soak-stats.spec.ts checks them without a server.
 */
import type { ResourceSample } from './resources';

/** A least-squares line `y = intercept + slope * x`. */
export interface Regression {
  slope: number;
  intercept: number;
  /** Coefficient of determination (0 when y does not vary). */
  r2: number;
  /** Standard error of the slope (0 with two points, which a line fits exactly). */
  slopeStdError: number;
}

/** Ordinary least squares of `ys` on `xs` (same length, at least two points with different x). */
export function linearRegression(xs: readonly number[], ys: readonly number[]): Regression {
  if (xs.length !== ys.length) throw new Error(`linearRegression: ${xs.length} x values but ${ys.length} y values`);
  const n = xs.length;
  if (n < 2) throw new Error(`linearRegression needs at least 2 points (got ${n}): sample for longer`);
  const meanX = xs.reduce((a, b) => a + b, 0) / n;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - meanX;
    const dy = ys[i] - meanY;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) throw new Error('linearRegression: every x is the same, no slope can be fitted');
  const slope = sxy / sxx;
  // Residual sum of squares = syy - slope * sxy; clamped at 0 against rounding.
  const residual = Math.max(0, syy - slope * sxy);
  const slopeStdError = n > 2 ? Math.sqrt(residual / (n - 2) / sxx) : 0;
  return { slope, intercept: meanY - slope * meanX, r2: syy === 0 ? 0 : (sxy * sxy) / (sxx * syy), slopeStdError };
}

/**
 * The bounds a soak must keep. Defaults: {@link DEFAULT_SOAK_BOUNDS}.
 */
export interface SoakBounds {
  /**
   * Largest growth of the heap left after a full GC and of RSS, as a share of their mean over the steady part, per 10
   * minutes (0.01 = 1%).
   */
  maxGrowthPer10Min: number;
  /**
   * How many more open file descriptors, timers or active handles the end of the steady part may show than its start
   * (the largest count over the first and over the last fifth of the steady samples): sockets and timers of requests
   * in flight come and go, a leak only grows.
   */
  maxCountGrowth: number;
}

/**
 * 1% per 10 minutes: at the soak's 200 requests per second over a retained heap of about 45 MB, a leak of 4 bytes per
 * request exceeds it, and steady state has no reason to grow at all. 5 descriptors, timers or handles: the requests
 * in flight at the moment of a sample.
 */
export const DEFAULT_SOAK_BOUNDS: SoakBounds = { maxGrowthPer10Min: 0.01, maxCountGrowth: 5 };

/** One metric's trend over the steady part. Bytes, bytes per minute. */
export interface Trend {
  mean: number;
  min: number;
  max: number;
  /** Least-squares slope (bytes per minute) and its standard error. */
  slopePerMinute: number;
  slopeStdError: number;
  r2: number;
  /** The slope's growth over 10 minutes as a share of the mean (0.01 = 1%). */
  growthPer10Min: number;
  pass: boolean;
}

/** A count (descriptors, timers) at the start and end of the steady part. */
export interface CountTrend {
  start: number;
  end: number;
  min: number;
  max: number;
  slopePerMinute: number;
  pass: boolean;
}

/** Everything the soak decides from its samples. */
export interface SoakVerdict {
  /** Steady samples used (after warm-up), and the forced-GC samples among them. */
  samples: number;
  gcSamples: number;
  steadyMinutes: number;
  /** Heap used after a forced full GC (judged): the heap the app keeps, without the garbage between collections. */
  retainedHeap: Trend;
  /** Heap used in the ordinary samples (shown: collections make it a sawtooth, see {@link retainedHeap}). */
  heapUsed: Trend;
  /**
   * RSS right after a forced full GC (judged): what the process keeps from the system once the garbage between
   * collections is gone. Plain RSS follows the heap's sawtooth as V8 grows and shrinks its spaces (over 100 MB here),
   * so its slope over 30 minutes measures where the last collections happened to fall more than any growth.
   */
  retainedRss: Trend;
  /** RSS after a forced full GC, anonymous and file-backed pages (shown: where {@link retainedRss} grows). */
  retainedRssAnon: Trend;
  retainedRssFile: Trend;
  /** RSS in the ordinary samples (shown, see {@link retainedRss}). */
  rss: Trend;
  heapTotal: Trend;
  external: Trend;
  fds: CountTrend;
  timers: CountTrend;
  activeResources: CountTrend;
  bounds: SoakBounds;
  pass: boolean;
  /** Why it failed, one line per failed check. */
  failures: string[];
}

const MINUTE_MS = 60_000;

function trend(xsMin: number[], ys: number[], bound: number): Trend {
  const { slope, r2, slopeStdError } = linearRegression(xsMin, ys);
  const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
  const growthPer10Min = mean > 0 ? (slope * 10) / mean : 0;
  return {
    mean,
    min: Math.min(...ys),
    max: Math.max(...ys),
    slopePerMinute: slope,
    slopeStdError,
    r2,
    growthPer10Min,
    pass: growthPer10Min <= bound,
  };
}

function countTrend(xsMin: number[], counts: number[], maxGrowth: number): CountTrend {
  const fifth = Math.max(1, Math.floor(counts.length / 5));
  const start = Math.max(...counts.slice(0, fifth));
  const end = Math.max(...counts.slice(-fifth));
  return {
    start,
    end,
    min: Math.min(...counts),
    max: Math.max(...counts),
    slopePerMinute: linearRegression(xsMin, counts).slope,
    pass: end - start <= maxGrowth,
  };
}

/** Live timers of a sample: referenced and `unref()`ed. */
export function timerCount(sample: ResourceSample): number {
  return sample.timers.ref + sample.timers.unref;
}

/**
 * Decides flatness from the samples taken at or after `steadyFromMs` (a sample's `at`), against `bounds`: `samples`
 * are the ordinary ones, `gcSamples` the ones taken right after a forced full GC (`--expose-gc`), periodically.
 */
export function judgeSoak(
  samples: readonly ResourceSample[],
  gcSamples: readonly ResourceSample[],
  steadyFromMs: number,
  bounds: SoakBounds = DEFAULT_SOAK_BOUNDS,
): SoakVerdict {
  const steady = samples.filter((s) => s.at >= steadyFromMs);
  const steadyGc = gcSamples.filter((s) => s.at >= steadyFromMs);
  if (steady.length < 3 || steadyGc.length < 3) {
    throw new Error(
      `only ${steady.length} samples and ${steadyGc.length} forced-GC samples after warm-up (3 of each needed): run the soak ` +
        'longer (BENCH_SOAK_MINUTES) or sample more often (BENCH_SOAK_SAMPLE_SECONDS, BENCH_SOAK_GC_SECONDS)',
    );
  }
  const minutes = (list: readonly ResourceSample[]): number[] => list.map((s) => (s.at - steadyFromMs) / MINUTE_MS);
  const xs = minutes(steady);
  const gcXs = minutes(steadyGc);
  const pick = (f: (s: ResourceSample) => number): number[] => steady.map(f);
  /** A trend of the ordinary samples, shown and not judged. */
  const shown = (f: (s: ResourceSample) => number): Trend => trend(xs, pick(f), Infinity);
  /** A trend of the samples right after a forced full GC; judged against `bound` (none: shown only). */
  const afterGc = (f: (s: ResourceSample) => number, bound = Infinity): Trend => trend(gcXs, steadyGc.map(f), bound);
  const retainedHeap = afterGc((s) => s.heapUsed, bounds.maxGrowthPer10Min);
  const heapUsed = shown((s) => s.heapUsed);
  const retainedRss = afterGc((s) => s.rss, bounds.maxGrowthPer10Min);
  const retainedRssAnon = afterGc((s) => s.rssAnon);
  const retainedRssFile = afterGc((s) => s.rssFile);
  const rss = shown((s) => s.rss);
  const heapTotal = shown((s) => s.heapTotal);
  const external = shown((s) => s.external);
  const fds = countTrend(
    xs,
    pick((s) => s.fds),
    bounds.maxCountGrowth,
  );
  const timers = countTrend(xs, pick(timerCount), bounds.maxCountGrowth);
  const activeResources = countTrend(
    xs,
    pick((s) => Object.values(s.activeResources).reduce((a, b) => a + b, 0)),
    bounds.maxCountGrowth,
  );

  const failures: string[] = [];
  const pct = (n: number): string => `${(n * 100).toFixed(2)}%`;
  const bound = pct(bounds.maxGrowthPer10Min);
  if (!retainedHeap.pass)
    failures.push(`heap after full GC grows ${pct(retainedHeap.growthPer10Min)} of its mean per 10 min (bound ${bound})`);
  if (!retainedRss.pass)
    failures.push(`RSS after full GC grows ${pct(retainedRss.growthPer10Min)} of its mean per 10 min (bound ${bound})`);
  if (!fds.pass) failures.push(`open fds went from ${fds.start} to ${fds.end} (bound +${bounds.maxCountGrowth})`);
  if (!timers.pass) failures.push(`live timers went from ${timers.start} to ${timers.end} (bound +${bounds.maxCountGrowth})`);
  if (!activeResources.pass)
    failures.push(`active handles went from ${activeResources.start} to ${activeResources.end} (bound +${bounds.maxCountGrowth})`);
  return {
    samples: steady.length,
    gcSamples: steadyGc.length,
    steadyMinutes: xs[xs.length - 1],
    retainedHeap,
    heapUsed,
    retainedRss,
    retainedRssAnon,
    retainedRssFile,
    rss,
    heapTotal,
    external,
    fds,
    timers,
    activeResources,
    bounds,
    pass: failures.length === 0,
    failures,
  };
}
