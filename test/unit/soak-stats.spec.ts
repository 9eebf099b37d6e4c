/**
 * The soak run's flatness maths (bench/soak-stats.ts): the regression and the verdict it gives on made-up samples,
 * flat, leaking, with a sawtooth, with growing descriptors or timers.
 */
import type { ResourceSample } from '../../bench/resources';
import { DEFAULT_SOAK_BOUNDS, judgeSoak, linearRegression } from '../../bench/soak-stats';

const MB = 1024 * 1024;
const MINUTE = 60_000;

function sample(atMs: number, overrides: Partial<ResourceSample> = {}): ResourceSample {
  return {
    at: atMs,
    heapUsed: 40 * MB,
    heapTotal: 80 * MB,
    rss: 150 * MB,
    external: 2 * MB,
    arrayBuffers: MB,
    rssAnon: 120 * MB,
    rssFile: 30 * MB,
    fds: 60,
    activeResources: { TCPSocketWrap: 50, TCPServerWrap: 1 },
    timers: { ref: 0, unref: 4 },
    ...overrides,
  };
}

/** Samples every 5 s for `minutes`, with `f(minute, index)` overriding fields. */
function series(minutes: number, f: (minute: number, i: number) => Partial<ResourceSample> = () => ({})): ResourceSample[] {
  const out: ResourceSample[] = [];
  for (let i = 0; i * 5000 <= minutes * MINUTE; i++) out.push(sample(i * 5000, f((i * 5000) / MINUTE, i)));
  return out;
}

/** Forced-GC samples every minute. */
function gcSeries(minutes: number, heapAt: (minute: number) => number): ResourceSample[] {
  return Array.from({ length: minutes + 1 }, (_, m) => sample(m * MINUTE, { heapUsed: heapAt(m) }));
}

describe('linearRegression', () => {
  it('recovers the slope and intercept of an exact line, with r² 1 and no error', () => {
    const r = linearRegression([0, 1, 2, 3], [5, 7, 9, 11]);
    expect(r.slope).toBeCloseTo(2, 12);
    expect(r.intercept).toBeCloseTo(5, 12);
    expect(r.r2).toBeCloseTo(1, 12);
    expect(r.slopeStdError).toBeCloseTo(0, 12);
  });

  it('gives the least-squares slope and its standard error for scattered points', () => {
    // x 0..4, y = 1, 3, 2, 5, 4: Sxx = 10, Sxy = 8, slope 0.8; residuals' sum of squares = Syy - slope*Sxy = 10 - 6.4.
    const r = linearRegression([0, 1, 2, 3, 4], [1, 3, 2, 5, 4]);
    expect(r.slope).toBeCloseTo(0.8, 12);
    expect(r.intercept).toBeCloseTo(1.4, 12);
    expect(r.r2).toBeCloseTo(0.64, 12);
    expect(r.slopeStdError).toBeCloseTo(Math.sqrt(3.6 / 3 / 10), 12);
  });

  it('refuses what has no slope', () => {
    expect(() => linearRegression([1], [1])).toThrow(/at least 2 points/);
    expect(() => linearRegression([2, 2, 2], [1, 2, 3])).toThrow(/every x is the same/);
    expect(() => linearRegression([1, 2], [1])).toThrow(/2 x values but 1 y values/);
  });
});

describe('judgeSoak', () => {
  const warmup = 5 * MINUTE;

  it('passes flat memory and counts, leaving the warm-up out', () => {
    // Warm-up climbs from 20 MB to 40 MB, then everything stays put.
    const samples = series(30, (m) => (m < 5 ? { heapUsed: (20 + 4 * m) * MB, rss: (100 + 10 * m) * MB } : {}));
    const verdict = judgeSoak(
      samples,
      gcSeries(30, (m) => (m < 5 ? 20 * MB : 40 * MB)),
      warmup,
    );
    expect(verdict.failures).toEqual([]);
    expect(verdict.pass).toBe(true);
    expect(verdict.retainedHeap.slopePerMinute).toBeCloseTo(0, 6);
    expect(verdict.rss.slopePerMinute).toBeCloseTo(0, 6);
    expect(verdict.retainedRss.slopePerMinute).toBeCloseTo(0, 6);
    expect(verdict.steadyMinutes).toBeCloseTo(25, 6);
    expect(verdict.gcSamples).toBe(26);
  });

  it('fails a retained heap that grows 2% per 10 minutes, and reports the growth', () => {
    // 40 MB growing 80 KB a minute: 800 KB per 10 min, 1.89% of the steady mean (40 MB + 17.5 min × 80 KB).
    const verdict = judgeSoak(
      series(30),
      gcSeries(30, (m) => 40 * MB + m * 80 * 1024),
      warmup,
    );
    expect(verdict.retainedHeap.slopePerMinute).toBeCloseTo(80 * 1024, 3);
    expect(verdict.retainedHeap.growthPer10Min).toBeGreaterThan(DEFAULT_SOAK_BOUNDS.maxGrowthPer10Min);
    expect(verdict.pass).toBe(false);
    expect(verdict.failures).toEqual(['heap after full GC grows 1.89% of its mean per 10 min (bound 1.00%)']);
  });

  it('passes a retained heap that grows less than the bound', () => {
    // 20 KB a minute over 40 MB: 0.49% per 10 minutes.
    const verdict = judgeSoak(
      series(30),
      gcSeries(30, (m) => 40 * MB + m * 20 * 1024),
      warmup,
    );
    expect(verdict.retainedHeap.growthPer10Min).toBeCloseTo((20 * 1024 * 10) / verdict.retainedHeap.mean, 9);
    expect(verdict.pass).toBe(true);
  });

  it('judges RSS after full GCs by its slope, and shows but does not judge the sawtooths of raw heap and RSS', () => {
    // Raw heap and RSS: sawtooths that end high; RSS after each forced GC grows 3 MB a minute.
    const samples = series(30, (_m, i) => ({ heapUsed: (40 + (i % 12) * 9) * MB, rss: (150 + (i % 12) * 12) * MB }));
    const gc = gcSeries(30, () => 40 * MB).map((s, m) => ({ ...s, rss: (150 + 3 * m) * MB }));
    const verdict = judgeSoak(samples, gc, warmup);
    expect(verdict.heapUsed.max - verdict.heapUsed.min).toBe(99 * MB);
    expect(verdict.heapUsed.pass).toBe(true);
    expect(verdict.rss.pass).toBe(true);
    expect(verdict.retainedRss.pass).toBe(false);
    expect(verdict.failures).toEqual([expect.stringMatching(/^RSS after full GC grows .* per 10 min/)]);
  });

  it('passes RSS that is flat after full GCs even when the raw RSS slope is steep', () => {
    // Raw RSS climbs 3 MB a minute between collections; after each forced GC it is back at 150 MB.
    const samples = series(30, (m) => ({ rss: (150 + 3 * m) * MB }));
    const verdict = judgeSoak(
      samples,
      gcSeries(30, () => 40 * MB),
      warmup,
    );
    expect(verdict.rss.growthPer10Min).toBeGreaterThan(DEFAULT_SOAK_BOUNDS.maxGrowthPer10Min);
    expect(verdict.retainedRss.slopePerMinute).toBeCloseTo(0, 6);
    expect(verdict.pass).toBe(true);
  });

  it('fails growing descriptors and timers, and tolerates a few in flight', () => {
    const jitter = series(30, (_m, i) => ({ fds: 60 + (i % 4), timers: { ref: i % 3, unref: 4 } }));
    expect(
      judgeSoak(
        jitter,
        gcSeries(30, () => 40 * MB),
        warmup,
      ).pass,
    ).toBe(true);

    const leaking = series(30, (m) => ({ fds: 60 + Math.floor(m), timers: { ref: 0, unref: 4 + Math.floor(m / 2) } }));
    const verdict = judgeSoak(
      leaking,
      gcSeries(30, () => 40 * MB),
      warmup,
    );
    // Steady part: minutes 5 to 30, 301 samples; its first fifth (60 samples) ends before minute 10, its last starts after 25.
    expect(verdict.fds.start).toBe(69);
    expect(verdict.fds.end).toBe(90);
    expect(verdict.failures).toEqual(['open fds went from 69 to 90 (bound +5)', 'live timers went from 8 to 19 (bound +5)']);
  });

  it('fails growing active handles', () => {
    const samples = series(30, (m) => ({ activeResources: { TCPSocketWrap: 50 + Math.floor(m), TCPServerWrap: 1 } }));
    const verdict = judgeSoak(
      samples,
      gcSeries(30, () => 40 * MB),
      warmup,
    );
    expect(verdict.failures).toEqual(['active handles went from 60 to 81 (bound +5)']);
  });

  it('asks for a longer run when too few samples follow the warm-up', () => {
    expect(() =>
      judgeSoak(
        series(6),
        gcSeries(6, () => 40 * MB),
        warmup,
      ),
    ).toThrow(/only \d+ samples and 2 forced-GC samples/);
  });
});
