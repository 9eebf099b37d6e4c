import { parseDuration } from '../../../lib';

/** One rate limit: at most `limit` requests per client and route within `windowMs`. */
export interface RateLimitSetting {
  /** Requests allowed per window (1-10 000). */
  limit: number;
  /** Length of the window, in ms (1 s to 24 h); a client over the limit waits this long from its first refusal. */
  windowMs: number;
}

const MAX_LIMIT = 10_000;
const MIN_WINDOW_MS = 1000;
const MAX_WINDOW_MS = 24 * 3_600_000;

/**
 * Parses a rate limit written `N/DURATION` (`10/1m`, `100/15m`, `5/30s`), as `RATE_LIMIT_SENSITIVE` takes it.
 *
 * @returns the setting, or a message saying what is wrong (for the config error that names the variable).
 */
export function parseRateLimit(raw: string): RateLimitSetting | { error: string } {
  const match = /^(\d+)\s*\/\s*(\S+)$/.exec(raw.trim());
  const help = `give requests per window as N/DURATION, e.g. "10/1m" or "100/15m" (N from 1 to ${MAX_LIMIT}, a window from 1s to 24h)`;
  if (!match) return { error: `is ${JSON.stringify(raw)}: ${help}` };
  const limit = Number(match[1]);
  const windowMs = parseDuration(match[2]);
  if (limit < 1 || limit > MAX_LIMIT || windowMs === undefined || windowMs < MIN_WINDOW_MS || windowMs > MAX_WINDOW_MS) {
    return { error: `is ${JSON.stringify(raw)}: ${help}` };
  }
  return { limit, windowMs };
}
