/**
 * Where the server's CPU goes under authenticated `GET /me` load.
 *
 *   node bench/run.js profile [variant ...]      (default: bare kit-memory kit-redis)
 *   BENCH_PROFILE_SECONDS=10                       measured seconds per variant
 *   BENCH_PROFILE_SIDE=1                           all variants at once on one core (see profileSideBySide)
 *
 * Each variant runs as in the benchmark (own process on the server core, 50 logged-in connections); after a
 * warm-up its CPU is sampled with the in-process inspector for exactly the measured window. Writes the raw
 * `.cpuprofile` files (open them in Chrome DevTools) and a summary to bench/out/profiles/, and prints the
 * summary: CPU µs per request by package / lib/ file, and the lib/ functions by self and inclusive time.
 * Comparing with `bare` shows what the session layer adds.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { loginMany, runLoad } from './load';
import { AppServer, canPin, installCleanup, killAll, pinSelf, PrivateRedis } from './processes';
import { Variant, VARIANTS } from './settings';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const ROOT = join(__dirname, '..', '..', '..', '..');
const BUILD = join(__dirname, '..');
const OUT = join(ROOT, 'bench', 'out', 'profiles');

/** Who a frame belongs to: a lib/ source file, an npm package, Node core, or V8 itself. */
function owner(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return '(garbage collector)';
    if (functionName === '(program)') return '(V8/native: program)';
    if (functionName === '(idle)') return '(idle)';
    return '(native builtins)';
  }
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  if (path.startsWith('node:')) return 'node core';
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = path.slice(nm + 14).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (path.startsWith(BUILD)) return relative(BUILD, path).replace(/\.js$/, '.ts');
  return path;
}

function isLib(who: string): boolean {
  return who.startsWith('lib/');
}

interface Summary {
  variant: string;
  requests: number;
  busyMs: number;
  usPerRequest: number;
  byOwner: { owner: string; us: number; pct: number }[];
  libSelf: { fn: string; us: number; pct: number }[];
  libInclusive: { fn: string; us: number; pct: number }[];
  /** Time under the outermost lib/ frame on the stack (lib plus everything it calls synchronously). */
  underLibUs: number;
  topSelf: { fn: string; us: number; pct: number }[];
}

/** Aggregates a profile by owner and by lib/ function. Times are converted to µs per request. */
export function summariseProfile(variant: string, profile: CpuProfile, requests: number): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const fnName = (n: ProfileNode): string =>
    `${owner(n.callFrame)}:${n.callFrame.functionName || '(anonymous)'}:${n.callFrame.lineNumber + 1}`;
  const ownerUs = new Map<string, number>();
  const fnSelf = new Map<string, number>();
  const fnInclusive = new Map<string, number>();
  let busy = 0;
  let underLib = 0;

  // Depth-first, iteratively (deep async stacks), computing inclusive time per node.
  const root = profile.nodes[0];
  const inclusive = new Map<number, number>();
  const order: ProfileNode[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    order.push(node);
    for (const c of node.children ?? []) stack.push(byId.get(c)!);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    let t = selfUs.get(node.id) ?? 0;
    for (const c of node.children ?? []) t += inclusive.get(c) ?? 0;
    inclusive.set(node.id, t);
  }
  // Second walk with the ancestry, to count inclusive time once per function and to find outermost lib frames.
  const walk: { node: ProfileNode; onStack: Set<string>; inLib: boolean }[] = [{ node: root, onStack: new Set(), inLib: false }];
  while (walk.length > 0) {
    const { node, onStack, inLib } = walk.pop()!;
    const who = owner(node.callFrame);
    const self = selfUs.get(node.id) ?? 0;
    if (who !== '(idle)') {
      busy += self;
      ownerUs.set(who, (ownerUs.get(who) ?? 0) + self);
    }
    const name = fnName(node);
    const lib = isLib(who);
    if (lib) {
      fnSelf.set(name, (fnSelf.get(name) ?? 0) + self);
      if (!onStack.has(name)) fnInclusive.set(name, (fnInclusive.get(name) ?? 0) + (inclusive.get(node.id) ?? 0));
      if (!inLib) underLib += inclusive.get(node.id) ?? 0;
    }
    const next = lib ? new Set(onStack).add(name) : onStack;
    for (const c of node.children ?? []) walk.push({ node: byId.get(c)!, onStack: next, inLib: inLib || lib });
  }

  const perReq = (us: number): number => us / Math.max(requests, 1);
  const rows = (m: Map<string, number>, limit: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([k, us]) => ({ key: k, us: perReq(us), pct: (100 * us) / busy }));
  const allSelf = new Map<string, number>();
  for (const node of profile.nodes) {
    if (owner(node.callFrame) === '(idle)') continue;
    const name = fnName(node);
    allSelf.set(name, (allSelf.get(name) ?? 0) + (selfUs.get(node.id) ?? 0));
  }
  return {
    variant,
    requests,
    busyMs: busy / 1000,
    usPerRequest: perReq(busy),
    byOwner: rows(ownerUs, 25).map((r) => ({ owner: r.key, us: r.us, pct: r.pct })),
    libSelf: rows(fnSelf, 25).map((r) => ({ fn: r.key, us: r.us, pct: r.pct })),
    libInclusive: rows(fnInclusive, 25).map((r) => ({ fn: r.key, us: r.us, pct: r.pct })),
    underLibUs: perReq(underLib),
    topSelf: rows(allSelf, 30).map((r) => ({ fn: r.key, us: r.us, pct: r.pct })),
  };
}

function render(summaries: Summary[]): string {
  const out: string[] = [];
  for (const s of summaries) {
    out.push(
      `## ${s.variant}: ${s.requests} requests, ${s.usPerRequest.toFixed(1)} µs sampled CPU per request (non-idle)`,
      '',
      `Under an outermost lib/ frame (lib/ and what it calls synchronously): ${s.underLibUs.toFixed(1)} µs/request (${((100 * s.underLibUs) / s.usPerRequest).toFixed(1)}%)`,
      '',
      '| self time by owner | µs/req | % |',
      '| --- | ---: | ---: |',
      ...s.byOwner.map((r) => `| ${r.owner} | ${r.us.toFixed(2)} | ${r.pct.toFixed(1)} |`),
      '',
    );
    if (s.libInclusive.length > 0) {
      out.push(
        '| lib/ function (inclusive: with what it calls synchronously) | µs/req | % |',
        '| --- | ---: | ---: |',
        ...s.libInclusive.map((r) => `| ${r.fn} | ${r.us.toFixed(2)} | ${r.pct.toFixed(1)} |`),
        '',
        '| lib/ function (self) | µs/req | % |',
        '| --- | ---: | ---: |',
        ...s.libSelf.map((r) => `| ${r.fn} | ${r.us.toFixed(2)} | ${r.pct.toFixed(1)} |`),
        '',
      );
    }
    out.push(
      '| top functions (self) | µs/req | % |',
      '| --- | ---: | ---: |',
      ...s.topSelf.map((r) => `| ${r.fn} | ${r.us.toFixed(2)} | ${r.pct.toFixed(1)} |`),
      '',
    );
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  installCleanup();
  const variants = (process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['bare', 'kit-memory', 'kit-redis']) as Variant[];
  for (const v of variants) if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v}`);
  const seconds = Number(process.env.BENCH_PROFILE_SECONDS ?? 10);
  const pinned = canPin(cpus().length) && pinSelf(0);
  mkdirSync(OUT, { recursive: true });
  const redis = variants.some((v) => v.endsWith('redis')) ? await PrivateRedis.start(pinned ? 0 : undefined) : undefined;
  const summaries: Summary[] = [];
  const side = process.env.BENCH_PROFILE_SIDE === '1';
  try {
    if (side) summaries.push(...(await profileSideBySide(variants, seconds, pinned, redis)));
    else
      for (const v of variants) {
        const server = await AppServer.start(v, { core: pinned ? 1 : undefined, env: { BENCH_REDIS_URL: redis?.url } });
        try {
          const cookies = v === 'bare' ? undefined : await loginMany(server.port, 50, v === 'sample' ? 'sample' : 'bench');
          const load = (durationS: number) =>
            runLoad({ port: server.port, method: 'GET', path: '/me', durationS, connections: 50, cookies });
          await load(3);
          const file = join(OUT, `${v}.cpuprofile`);
          await server.profileStart();
          const result = await load(seconds);
          await server.profileStop(file);
          const summary = summariseProfile(v, JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, result.requests);
          summaries.push(summary);
          console.log(
            `[profile] ${v}: ${result.rps.toFixed(0)} req/s, ${summary.usPerRequest.toFixed(1)} µs sampled CPU/request → ${relative(ROOT, file)}`,
          );
        } finally {
          await server.stop();
        }
      }
  } finally {
    await redis?.stop();
  }
  const how = side ? 'all variants on one core, loaded and sampled at the same time' : 'one variant after another';
  const markdown = `# CPU profiles under GET /me (${seconds} s per variant; ${how})\n\n${render(summaries)}`;
  writeFileSync(join(OUT, 'summary.md'), markdown);
  writeFileSync(join(OUT, 'summary.json'), JSON.stringify(summaries, null, 2));
  console.log(markdown);
}

/**
 * Side by side (`BENCH_PROFILE_SIDE=1`): every variant runs at once on the server core, each under its own load,
 * and all are sampled over the same window. Profiles taken one after another differ by 20-35% on this kind of VM
 * for identical code; taken together, the machine's drift hits all variants alike, so their differences are the
 * apps' own.
 */
async function profileSideBySide(
  variants: Variant[],
  seconds: number,
  pinned: boolean,
  redis: PrivateRedis | undefined,
): Promise<Summary[]> {
  const servers: AppServer[] = [];
  try {
    for (const v of variants)
      servers.push(await AppServer.start(v, { core: pinned ? 1 : undefined, env: { BENCH_REDIS_URL: redis?.url } }));
    const cookies = await Promise.all(
      servers.map((s, i) => (variants[i] === 'bare' ? undefined : loginMany(s.port, 50, variants[i] === 'sample' ? 'sample' : 'bench'))),
    );
    const loadAll = (durationS: number) =>
      Promise.all(
        servers.map((s, i) => runLoad({ port: s.port, method: 'GET', path: '/me', durationS, connections: 50, cookies: cookies[i] })),
      );
    await loadAll(3);
    await Promise.all(servers.map((s) => s.profileStart()));
    const results = await loadAll(seconds);
    const files = variants.map((v) => join(OUT, `${v}.cpuprofile`));
    await Promise.all(servers.map((s, i) => s.profileStop(files[i])));
    return variants.map((v, i) => {
      const summary = summariseProfile(v, JSON.parse(readFileSync(files[i], 'utf8')) as CpuProfile, results[i].requests);
      console.log(`[profile] ${v}: ${results[i].rps.toFixed(0)} req/s, ${summary.usPerRequest.toFixed(1)} µs sampled CPU/request`);
      return summary;
    });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** Runs the profiler and exits the process (bench/run.js calls this after compiling). */
export function cli(): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('profile failed:', error);
      killAll();
      process.exit(1);
    },
  );
}

if (require.main === module) cli();
