/**
 * The soak run's outputs (bench/soak.ts): bench/SOAK.md and the SVG of heap, RSS, descriptors and timers over time
 * that bench/soak.ts renders to bench/soak.png.
 */
import type { ResourceSample } from './resources';
import { SoakVerdict, timerCount } from './soak-stats';
import type { TrafficPlan, TrafficResult } from './soak-traffic';

/** Everything one soak run measured, as written to bench/out/soak-<date>.json. */
export interface SoakRun {
  startedAt: string;
  /** `Date.now()` when the traffic started: minute 0 of the plot, and the warm-up counts from it. */
  startMs: number;
  machine: { cpus: number; cpuModel: string; node: string; loadAvgStart: number[]; loadAvgEnd: number[] };
  store: string;
  sampleEnv: Record<string, string>;
  nodeArgs: string[];
  minutes: number;
  warmupMinutes: number;
  sampleSeconds: number;
  gcSeconds: number;
  plan: Omit<TrafficPlan, 'port'>;
  /** Samples under traffic (GC samples excluded), in order. */
  samples: ResourceSample[];
  /** Samples right after a forced full GC, every `gcSeconds` under traffic (the last one at the end). */
  gcSamples: ResourceSample[];
  /** After a forced full GC once the traffic has stopped. */
  idleGc: ResourceSample;
  traffic: TrafficResult;
  verdict: SoakVerdict;
}

const MB = 1024 * 1024;
const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
const pct = (n: number): string => `${(n * 100).toFixed(2)}%`;
const signed = (n: number, unit: (b: number) => string): string => `${n >= 0 ? '+' : '−'}${unit(Math.abs(n))}`;

/** SOAK.md for `run`. `plot`: the PNG's path relative to the Markdown file. */
export function renderSoakMarkdown(run: SoakRun, plot: string): string {
  const v = run.verdict;
  const t = run.traffic;
  const seconds = t.durationMs / 1000;
  const routes = Object.keys(t.counts).sort();
  const statuses = [...new Set(routes.flatMap((r) => Object.keys(t.counts[r])))].sort((a, b) => Number(a) - Number(b));
  const unexpectedTotal = Object.values(t.unexpected).reduce(
    (sum, byStatus) => sum + Object.values(byStatus).reduce((a, b) => a + b, 0),
    0,
  );
  const rss = v.retainedRss;
  const retained = v.retainedHeap;
  const perRequest = (slopePerMinute: number): string => `${(slopePerMinute / ((t.requests / seconds) * 60)).toFixed(2)} B`;
  const steadyFrom = run.startMs + run.warmupMinutes * 60_000;
  const firstGc = run.gcSamples.find((g) => g.at >= steadyFrom) ?? run.gcSamples[0];
  const lastTypes = run.samples[run.samples.length - 1]?.activeResources ?? {};
  const firstSteady = run.samples.find((s) => s.at >= steadyFrom) ?? run.samples[0];
  const types = [...new Set([...Object.keys(firstSteady.activeResources), ...Object.keys(lastTypes)])].sort();
  const delays = run.samples.filter((s) => s.loopDelay).map((s) => s.loopDelay!);
  const sortedP99 = delays.map((d) => d.p99).sort((a, b) => a - b);

  const lines = [
    '# Soak: the sample app under mixed traffic',
    '',
    `**${v.pass ? 'PASS' : 'FAIL'}**: ${run.minutes} minutes, ${t.requests.toLocaleString('en')} requests at ${(t.requests / seconds).toFixed(0)} req/s, ` +
      `${unexpectedTotal} unexpected answers; over the ${v.steadyMinutes.toFixed(1)} minutes after warm-up the heap after a ` +
      `full GC moves ${signed(retained.slopePerMinute, kb)}/min (${pct(retained.growthPer10Min)} of its mean per 10 min), RSS after full GC ` +
      `${signed(rss.slopePerMinute, kb)}/min (${pct(rss.growthPer10Min)}), bound ${pct(v.bounds.maxGrowthPer10Min)}; open fds ` +
      `${v.fds.start} → ${v.fds.end}, live timers ${v.timers.start} → ${v.timers.end}, active handles ${v.activeResources.start} → ` +
      `${v.activeResources.end}.`,
    ...(v.failures.length > 0 ? ['', 'Failed checks:', '', ...v.failures.map((f) => `- ${f}`)] : []),
    ...(unexpectedTotal > 0
      ? ['', 'Unexpected answers (the run fails on any):', '', ...t.examples.map((e) => `- \`${e.replace(/`/g, "'")}\``)]
      : []),
    '',
    `![heap used, RSS, open fds and timers of the sample app over the run](${plot})`,
    '',
    'Produced by `node bench/run.js soak` (bench/soak.ts); raw samples in `bench/out/soak-*.json`.',
    '',
    '## Method',
    '',
    `- **Server**: the sample app (bench/app.ts variant \`sample\`, \`sample/src/app.factory.ts\`) in a child process of its own ` +
      `(\`node ${run.nodeArgs.join(' ')}\`, \`NODE_ENV=production\`), on its default embedded store: ${run.store}. Its environment ` +
      "(the contract's variables, SAMPLE-APP.md):",
    '',
    '  | variable | value |',
    '  | --- | --- |',
    ...Object.entries(run.sampleEnv).map(([k, value]) => `  | \`${k}\` | \`${value}\` |`),
    '',
    '  Short rotation, idle and token lifetimes make every expiry path run many times within the run (periodic ID ' +
      'rotation every 10 s with its grace, abandoned sessions ending by idle timeout, access and refresh tokens expiring); ' +
      `the users database (users, audit trail, attempt counters) is ${run.sampleEnv.DATABASE_URL?.startsWith('sqlite:') ? 'a SQLite file' : 'a database server'}, ` +
      "so the audit trail's growth is on disk and not in the heap; `TRUST_PROXY=loopback` lets every virtual client have its own IP.",
    `- **Traffic** (bench/soak-traffic.ts): a fixed rate of ${run.plan.rate} req/s from ${run.plan.browsers} browsers and ` +
      `${run.plan.apiClients} API clients (each request starts on a fixed schedule whatever the latency, one keep-alive ` +
      `connection per client), plus ${run.plan.attackers} attackers at ${run.plan.attackerRate} req/s each. A browser signs in ` +
      `(\`GET /auth/csrf\`, \`POST /auth/login\` as alice or bob), makes ${run.plan.browserSteps} requests (55% \`GET /me\`, ` +
      `30% \`POST /cart/items\`, 15% \`GET /cart\`), follows every \`Set-Cookie\` (rotation) and signs out, except ` +
      `${pct(run.plan.abandonShare)} of sessions that it abandons. An API client takes a token pair, calls \`GET /api/me\` ` +
      `${run.plan.apiSteps} times, refreshes every ${run.plan.refreshEvery} calls and revokes its refresh token. Attackers send ` +
      'wrong passwords for 20 unknown accounts from 20 IPs of their own: 401 (`INVALID_CREDENTIALS`, `CAPTCHA_REQUIRED`) ' +
      'and 429 (`TOO_MANY_ATTEMPTS`) are their expected answers. Any other answer (any 5xx, no answer) fails the run.',
    `- **Samples** every ${run.sampleSeconds} s over the bench's IPC channel (bench/resources.ts, in the server): ` +
      '`process.memoryUsage()`, entries of `/proc/self/fd`, `process.getActiveResourcesInfo()` by type, event-loop delay ' +
      '(`monitorEventLoopDelay`, 20 ms resolution). Nothing is added to the HTTP traffic.',
    `- **Forced GC**: every ${run.gcSeconds} s (and at the end, under traffic) a full collection (\`--expose-gc\`), then a ` +
      'sample of the heap it leaves: the memory the app keeps, without the garbage that makes the ordinary samples a sawtooth ' +
      '(V8 lets tens of MB of garbage pile up between major collections, so a slope of the raw heap used has a standard ' +
      'error far above any bound worth setting). One more after the traffic has stopped.',
    `- **Verdict** (bench/soak-stats.ts) over the samples after a ${run.warmupMinutes}-minute warm-up: least-squares slopes ` +
      `of the heap after full GC and of RSS; PASS when neither grows more than ${pct(v.bounds.maxGrowthPer10Min)} of its mean ` +
      `per 10 minutes (at this rate, a leak of about ${perRequest((retained.mean * v.bounds.maxGrowthPer10Min) / 10)} per ` +
      'request exceeds it for the heap; steady state has no reason to grow at all), and open fds, live timers (referenced ' +
      'and `unref()`ed) and active handles at the end (largest count over the last fifth of the steady samples) at most ' +
      `${v.bounds.maxCountGrowth} above the start (first fifth): requests in flight come and go, a leak only grows. The raw ` +
      'heap used, heap total and external memory are shown with their slopes, not judged.',
    '',
    '## Machine',
    '',
    `${run.machine.cpus} × ${run.machine.cpuModel}, Node ${run.machine.node}, shared with other work (load average ` +
      `${run.machine.loadAvgStart.map((l) => l.toFixed(2)).join(' / ')} at the start, ${run.machine.loadAvgEnd.map((l) => l.toFixed(2)).join(' / ')} at the end). ` +
      `Started ${run.startedAt}.`,
    '',
    '## Outcomes per route',
    '',
    `| route | ${statuses.join(' | ')} | unexpected |`,
    `| --- | ${statuses.map(() => '---:').join(' | ')} | ---: |`,
    ...routes.map((route) => {
      const unexpected = Object.values(t.unexpected[route] ?? {}).reduce((a, b) => a + b, 0);
      return `| \`${route}\` | ${statuses.map((s) => (t.counts[route][s] ?? 0).toLocaleString('en')).join(' | ')} | ${unexpected} |`;
    }),
    '',
    `${t.requests.toLocaleString('en')} requests in ${seconds.toFixed(0)} s (${(t.requests / seconds).toFixed(1)} req/s; target ` +
      `${run.plan.rate + run.plan.attackers * run.plan.attackerRate} req/s, clients that fall behind do not burst to catch up). ` +
      'Status 0 would be a request without an answer.',
    '',
    `Session IDs renewed by periodic rotation on ordinary requests (a new session cookie the browsers followed): ` +
      `${Object.values(t.sessionRenewals)
        .reduce((x, y) => x + y, 0)
        .toLocaleString('en')} (` +
      (Object.entries(t.sessionRenewals)
        .sort()
        .map(([route, n]) => `\`${route}\` ${n.toLocaleString('en')}`)
        .join(', ') || 'none') +
      ').',
    '',
    '## Figures (steady part)',
    '',
    `${v.samples} samples and ${v.gcSamples} forced-GC samples over ${v.steadyMinutes.toFixed(1)} minutes after warm-up.`,
    '',
    '| metric | mean | min | max | max − min | slope per minute (± std. error) | per 10 min, of the mean | r² | bound | result |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...(
      [
        ['heap used after full GC', v.retainedHeap, true],
        ['heap used', v.heapUsed, false],
        ['RSS after full GC', v.retainedRss, true],
        ['RSS after full GC: anonymous', v.retainedRssAnon, false],
        ['RSS after full GC: file-backed', v.retainedRssFile, false],
        ['RSS', v.rss, false],
        ['heap total', v.heapTotal, false],
        ['external', v.external, false],
      ] as const
    ).map(
      ([name, tr, judged]) =>
        `| ${name} | ${mb(tr.mean)} | ${mb(tr.min)} | ${mb(tr.max)} | ${mb(tr.max - tr.min)} | ${signed(tr.slopePerMinute, kb)} ± ${kb(tr.slopeStdError)} | ` +
        `${pct(tr.growthPer10Min)} | ${tr.r2.toFixed(2)} | ${judged ? `≤ ${pct(v.bounds.maxGrowthPer10Min)}` : '(shown)'} | ${judged ? (tr.pass ? 'PASS' : 'FAIL') : ''} |`,
    ),
    '',
    '| count | start (first fifth, max) | end (last fifth, max) | min | max | slope per minute | bound | result |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...(
      [
        ['open file descriptors', v.fds],
        ['live timers (referenced + unref()ed)', v.timers],
        ['active handles and requests, all types', v.activeResources],
      ] as const
    ).map(
      ([name, c]) =>
        `| ${name} | ${c.start} | ${c.end} | ${c.min} | ${c.max} | ${c.slopePerMinute.toFixed(3)} | ≤ start + ${v.bounds.maxCountGrowth} | ${c.pass ? 'PASS' : 'FAIL'} |`,
    ),
    '',
    'Heap after a forced full GC (first and last of the steady part, and once the traffic had stopped):',
    '',
    '| when | heap used | heap total | RSS | external | open fds | live timers |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...(
      [
        ['end of warm-up', firstGc],
        ['end, under traffic', run.gcSamples[run.gcSamples.length - 1]],
        ['idle, after the traffic', run.idleGc],
      ] as const
    ).map(
      ([label, sample]) =>
        `| ${label} | ${mb(sample.heapUsed)} | ${mb(sample.heapTotal)} | ${mb(sample.rss)} | ${mb(sample.external)} | ${sample.fds} | ${timerCount(sample)} |`,
    ),
    '',
    'Active handles and requests by type (`process.getActiveResourcesInfo()`), first steady sample and last sample:',
    '',
    '| type | start | end |',
    '| --- | ---: | ---: |',
    ...types.map((type) => `| \`${type}\` | ${firstSteady.activeResources[type] ?? 0} | ${lastTypes[type] ?? 0} |`),
    '',
    delays.length > 0
      ? `Event-loop delay per ${run.sampleSeconds}-s sample: mean ${(delays.reduce((a, d) => a + d.mean, 0) / delays.length).toFixed(1)} ms, ` +
        `median p99 ${sortedP99[Math.floor(sortedP99.length / 2)].toFixed(1)} ms, worst p99 ${sortedP99[sortedP99.length - 1].toFixed(1)} ms, ` +
        `worst max ${Math.max(...delays.map((d) => d.max)).toFixed(1)} ms (20 ms resolution: the monitor's own timer sets the floor).`
      : '',
    '',
  ];
  return lines.join('\n');
}

/** An SVG (1000 × 700) of heap used, heap after forced GCs and RSS (top), open fds and live timers (bottom) over minutes. */
export function renderSoakSvg(run: SoakRun): string {
  const width = 1000;
  const height = 700;
  const left = 80;
  const right = 70;
  const minute = (s: ResourceSample): number => (s.at - run.startMs) / 60_000;
  const xMax = Math.max(run.minutes, ...run.samples.map(minute));
  const x = (m: number): number => left + (m / xMax) * (width - left - right);
  const parts: string[] = [];
  const text = (tx: number, ty: number, content: string, attrs = ''): void => {
    parts.push(`<text x="${tx.toFixed(1)}" y="${ty.toFixed(1)}" ${attrs}>${escapeXml(content)}</text>`);
  };
  type Series = { name: string; color: string; points: (readonly [number, number])[]; dots?: boolean; slopePerMinute?: number };

  const panel = (top: number, panelHeight: number, title: string, series: Series[], unit: (n: number) => string): void => {
    const all = series.flatMap((s) => s.points.map(([, v]) => v));
    const lo = Math.min(0, ...all);
    const hi = Math.max(...all) * 1.1 || 1;
    const y = (v: number): number => top + panelHeight - ((v - lo) / (hi - lo)) * panelHeight;
    parts.push(`<rect x="${left}" y="${top}" width="${width - left - right}" height="${panelHeight}" fill="#fff" stroke="#999"/>`);
    parts.push(`<rect x="${left}" y="${top}" width="${(x(run.warmupMinutes) - left).toFixed(1)}" height="${panelHeight}" fill="#eee"/>`);
    text(left + 4, top + 14, 'warm-up', 'font-size="11" fill="#777"');
    for (let i = 0; i <= 4; i++) {
      const v = lo + ((hi - lo) * i) / 4;
      parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`);
      text(left - 6, y(v) + 4, unit(v), 'font-size="11" text-anchor="end"');
    }
    text(left, top - 8, title, 'font-size="14" font-weight="bold"');
    series.forEach((s, i) => {
      const coords = s.points.map(([m, v]) => [x(m), y(v)] as const);
      if (s.dots) {
        for (const [cx, cy] of coords) parts.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="3" fill="${s.color}"/>`);
      }
      parts.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="${s.dots ? 1 : 1.5}" points="${coords.map(([cx, cy]) => `${cx.toFixed(1)},${cy.toFixed(1)}`).join(' ')}"/>`,
      );
      const legendX = width - right - 150 * series.length + i * 150;
      parts.push(`<rect x="${legendX}" y="${top - 20}" width="12" height="12" fill="${s.color}"/>`);
      text(legendX + 16, top - 10, s.name, 'font-size="12"');
      // The steady part's least-squares line, dashed.
      const steady = s.points.filter(([m]) => m >= run.warmupMinutes);
      if (s.slopePerMinute === undefined || steady.length < 2) return;
      const meanM = steady.reduce((a, [m]) => a + m, 0) / steady.length;
      const meanV = steady.reduce((a, [, v]) => a + v, 0) / steady.length;
      const at = (m: number): number => meanV + s.slopePerMinute! * (m - meanM);
      const [m0, m1] = [steady[0][0], steady[steady.length - 1][0]];
      parts.push(
        `<line x1="${x(m0).toFixed(1)}" y1="${y(at(m0)).toFixed(1)}" x2="${x(m1).toFixed(1)}" y2="${y(at(m1)).toFixed(1)}" stroke="#000" stroke-dasharray="6 4" stroke-width="1.5"/>`,
      );
    });
    const step = xMax > 10 ? 5 : 1;
    for (let m = 0; m <= xMax; m += step) {
      parts.push(
        `<line x1="${x(m).toFixed(1)}" x2="${x(m).toFixed(1)}" y1="${top + panelHeight}" y2="${top + panelHeight + 5}" stroke="#999"/>`,
      );
      text(x(m), top + panelHeight + 18, String(m), 'font-size="11" text-anchor="middle"');
    }
  };

  const v = run.verdict;
  const points = (list: ResourceSample[], f: (s: ResourceSample) => number): (readonly [number, number])[] =>
    list.map((s) => [minute(s), f(s)] as const);
  parts.push(`<rect width="${width}" height="${height}" fill="#fafafa"/>`);
  text(
    left,
    24,
    `Soak of the sample app: ${run.minutes} min at ${(run.traffic.requests / (run.traffic.durationMs / 1000)).toFixed(0)} req/s, ${v.pass ? 'PASS' : 'FAIL'}`,
    'font-size="18" font-weight="bold"',
  );
  text(
    left,
    44,
    `after warm-up: heap after full GC ${(v.retainedHeap.slopePerMinute / 1024).toFixed(1)} KB/min ` +
      `(${(v.retainedHeap.growthPer10Min * 100).toFixed(2)}% per 10 min), RSS after full GC ${(v.retainedRss.slopePerMinute / 1024).toFixed(1)} KB/min ` +
      `(${(v.retainedRss.growthPer10Min * 100).toFixed(2)}% per 10 min); dashed: least-squares lines`,
    'font-size="12" fill="#333"',
  );
  panel(
    90,
    330,
    'Memory (MB)',
    [
      { name: 'heap used', color: '#1f77b4', points: points(run.samples, (s) => s.heapUsed) },
      {
        name: 'heap after full GC',
        color: '#ff7f0e',
        points: points(run.gcSamples, (s) => s.heapUsed),
        dots: true,
        slopePerMinute: v.retainedHeap.slopePerMinute,
      },
      { name: 'RSS', color: '#d62728', points: points(run.samples, (s) => s.rss) },
      {
        name: 'RSS after full GC',
        color: '#8c564b',
        points: points(run.gcSamples, (s) => s.rss),
        dots: true,
        slopePerMinute: v.retainedRss.slopePerMinute,
      },
    ],
    (n) => (n / MB).toFixed(0),
  );
  panel(
    490,
    160,
    'Open file descriptors and live timers',
    [
      { name: 'open fds', color: '#2ca02c', points: points(run.samples, (s) => s.fds) },
      { name: 'live timers', color: '#9467bd', points: points(run.samples, timerCount) },
    ],
    (n) => n.toFixed(0),
  );
  text(width / 2, height - 8, 'minutes since the start of the traffic', 'font-size="12" text-anchor="middle"');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">${parts.join('')}</svg>`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
