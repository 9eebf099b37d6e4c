/**
 * Result shapes, medians, ratios and targets of the benchmark (no I/O).
 */
import type { CommandCounts } from './processes';

/** One measured window of one variant. */
export interface RoundResult {
  round: number;
  requests: number;
  rps: number;
  /** Server CPU (user + system) per request, µs. */
  cpuUsPerReq: number;
  userUsPerReq: number;
  systemUsPerReq: number;
  /** Server CPU time / wall time of the window (1 = one core busy all the time). */
  cpuUtilisation: number;
  latencyP50: number;
  latencyP99: number;
  non2xx: number;
  /** Responses by HTTP status, to say what the non-2xx were. */
  statuses: Record<string, number>;
  errors: number;
  /** Redis command calls per request (INFO commandstats delta; commands run inside Lua scripts included). */
  redisPerReq?: CommandCounts;
  loadAvg1: number;
  /**
   * Share of the server core used by other processes during the window (from /proc/stat, minus the server's
   * own CPU time); high values mean a noisy round. Undefined when not pinned or not on Linux.
   */
  serverCoreForeign?: number;
  /** Busy share of the load generator's core (autocannon + Redis + others): near 1 = the client side limits. */
  loadCoreBusy?: number;
  /** How many times this window was measured again because it was noisy (only the last is kept). */
  retries?: number;
}

/** Commands sent per request, split by origin (a separate MONITOR run). */
export interface AuditResult {
  requests: number;
  clientPerReq: CommandCounts;
  luaPerReq: CommandCounts;
  clientTotalPerReq: number;
}

export interface Summary {
  rounds: number;
  rps: number;
  rpsMin: number;
  rpsMax: number;
  cpuUsPerReq: number;
  cpuUtilisation: number;
  latencyP50: number;
  latencyP99: number;
  non2xx: number;
  errors: number;
  serverCoreForeign?: number;
  loadCoreBusy?: number;
  /** Median over rounds of (this variant / bare in the same round): robust to drifting machine load. */
  rpsVsBare?: number;
  /** Median over rounds of (bare's CPU/req / this variant's in the same round). */
  cpuVsBare?: number;
  /** Median per command over the rounds. */
  redisPerReq?: CommandCounts;
  redisTotalPerReq?: number;
}

/**
 * One side-by-side window: two variants under the same load at the same time, their servers sharing one core, so
 * that both see the same machine (a VM whose speed drifts by ±20% within seconds slows both alike).
 */
export interface SideBySideRound {
  round: number;
  /** The reference (bare, or express-session on the same store); `failed`: non-2xx answers, errors and timeouts. */
  reference: { requests: number; cpuUsPerReq: number; failed?: number };
  /** The variant compared with it. */
  variant: { requests: number; cpuUsPerReq: number; failed?: number };
  /** reference's CPU per request ÷ variant's: 1 = as cheap, below 1 = the variant costs more. */
  cpuRatio: number;
}

/** Side-by-side rounds of one pair (see {@link SideBySideRound}). */
export interface SideBySideResult {
  reference: string;
  variant: string;
  rounds: SideBySideRound[];
}

export interface VariantResult {
  rounds: RoundResult[];
  summary?: Summary;
  audit?: AuditResult;
  /** For kit variants: the session's lastSeenAt after the run (proves idle touches happened). */
  touch?: { lastSeenAgeMs: number; touchedDuringRun: boolean };
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Summary over the rounds; `baseline` (bare's rounds, by round number) adds the paired ratios. */
/** The q-quantile (0..1) with linear interpolation. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarise(rounds: RoundResult[], baseline?: Record<number, RoundResult>): Summary {
  const pick = (f: (r: RoundResult) => number): number => median(rounds.map(f));
  const summary: Summary = {
    rounds: rounds.length,
    rps: pick((r) => r.rps),
    rpsMin: Math.min(...rounds.map((r) => r.rps)),
    rpsMax: Math.max(...rounds.map((r) => r.rps)),
    cpuUsPerReq: pick((r) => r.cpuUsPerReq),
    cpuUtilisation: pick((r) => r.cpuUtilisation),
    latencyP50: pick((r) => r.latencyP50),
    latencyP99: pick((r) => r.latencyP99),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
  };
  if (rounds.every((r) => r.serverCoreForeign !== undefined)) summary.serverCoreForeign = pick((r) => r.serverCoreForeign!);
  if (rounds.every((r) => r.loadCoreBusy !== undefined)) summary.loadCoreBusy = pick((r) => r.loadCoreBusy!);
  if (baseline) {
    const paired = rounds.filter((r) => baseline[r.round]);
    summary.rpsVsBare = median(paired.map((r) => r.rps / baseline[r.round].rps));
    summary.cpuVsBare = median(paired.map((r) => baseline[r.round].cpuUsPerReq / r.cpuUsPerReq));
  }
  if (rounds.some((r) => r.redisPerReq)) {
    const names = new Set(rounds.flatMap((r) => Object.keys(r.redisPerReq ?? {})));
    summary.redisPerReq = {};
    for (const name of names) summary.redisPerReq[name] = pick((r) => r.redisPerReq?.[name] ?? 0);
    summary.redisTotalPerReq = pick((r) => Object.values(r.redisPerReq ?? {}).reduce((a, b) => a + b, 0));
  }
  return summary;
}

/** Redis commands the benchmark itself sends (stats, audits): not the application's traffic. */
const ADMIN_COMMANDS = /^(info|ping|flushall|monitor|config|client|hello|command|select)(\||$)/;

/** (after - before) / requests per command, without the benchmark's own admin commands. */
export function perRequest(before: CommandCounts, after: CommandCounts, requests: number): CommandCounts {
  const out: CommandCounts = {};
  for (const [name, calls] of Object.entries(after)) {
    if (ADMIN_COMMANDS.test(name)) continue;
    const delta = calls - (before[name] ?? 0);
    if (delta > 0) out[name] = delta / Math.max(requests, 1);
  }
  return out;
}

export interface Target {
  name: string;
  measured: string;
  pass: boolean;
}
