import { createHash } from 'node:crypto';
import { assertClusterPrefix, isClusterCommands } from '../../stores/redis/redis-topology';
import {
  AttemptCount,
  AttemptCounterStore,
  AttemptCounterStoreUnavailableError,
  AttemptHit,
  AttemptIncrement,
  checkAttemptHit,
  HitCount,
} from '../attempt-counter.store';

/** The part of a node-redis client (v5 or v6) the store uses: raw commands. The store never closes it. */
export interface RedisAttemptCounterClient {
  sendCommand(args: ReadonlyArray<string>): Promise<unknown>;
}

/** Options of {@link RedisAttemptCounterStore}. */
export interface RedisAttemptCounterStoreOptions {
  /** A connected node-redis client you own (prefer `disableOfflineQueue: true`, so an outage fails fast). */
  client: RedisAttemptCounterClient;
  /** Prefix of every key. Default `nsk:attempts:`. */
  prefix?: string;
  /** Longest wait for one command before failing closed, in ms. Default 2000. */
  commandTimeoutMs?: number;
}

/** Default of {@link RedisAttemptCounterStoreOptions.prefix}. */
export const DEFAULT_ATTEMPT_PREFIX = 'nsk:attempts:';

// A counter is one string `count:lastAt:expiresAt` (ms, from the caller's clock), so reading any number of them is
// one MGET. Redis' own expiry (PX) only collects garbage; whether a window ended is decided from `expiresAt` against
// the caller's clock, the same rule as every other backend.
const INCREMENT = `
local now = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local ttl = tonumber(ARGV[i + 1])
  local count = 0
  local value = redis.call('GET', key)
  if value then
    local c, e = string.match(value, '^(%d+):%d+:(%d+)$')
    if c and tonumber(e) > now then count = tonumber(c) end
  end
  count = count + 1
  redis.call('SET', key, count .. ':' .. ARGV[1] .. ':' .. string.format('%.0f', now + ttl), 'PX', ttl)
  out[i] = count
end
return out`;

// KEYS: the counters to forget, then (when ARGV[1] is '1') the key to mark. ARGV[2]: now, ARGV[3]: ttl of the mark.
const RESET = `
local n = #KEYS
if ARGV[1] == '1' then n = n - 1 end
for i = 1, n do redis.call('DEL', KEYS[i]) end
if ARGV[1] == '1' then
  local ttl = tonumber(ARGV[3])
  redis.call('SET', KEYS[#KEYS], '1:' .. ARGV[2] .. ':' .. string.format('%.0f', tonumber(ARGV[2]) + ttl), 'PX', ttl)
end
return 1`;

// One fixed-window hit, the rule of nextHitWindowEnd (attempt-counter.store.ts; the conformance suite holds this copy to
// it). ARGV: now, windowMs, limit, blockMs. Answers { count (at most limit + 1), resetAt as a string }.
const HIT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local block = tonumber(ARGV[4])
local count = 0
local reset = 0
local value = redis.call('GET', KEYS[1])
if value then
  local c, e = string.match(value, '^(%d+):%d+:(%d+)$')
  if c and tonumber(e) > now then
    count = tonumber(c)
    reset = tonumber(e)
  end
end
if count > 0 then
  if count == limit then reset = math.max(reset, now + block) end
  count = math.min(count + 1, limit + 1)
else
  count = 1
  if limit == 0 then reset = now + math.max(window, block) else reset = now + window end
end
redis.call('SET', KEYS[1], count .. ':' .. ARGV[1] .. ':' .. string.format('%.0f', reset), 'PX', string.format('%.0f', reset - now))
return {count, string.format('%.0f', reset)}`;

interface Script {
  source: string;
  sha1: string;
}

const script = (source: string): Script => ({ source, sha1: createHash('sha1').update(source).digest('hex') });
const SCRIPTS = { increment: script(INCREMENT), reset: script(RESET), hit: script(HIT) };

/**
 * Attempt counters in Redis, shared by every instance of the app. Each operation is one round trip: reading is
 * one `MGET` of all the keys a decision needs, incrementing and resetting one Lua script each (atomic, so parallel
 * failures are never lost). Keys carry `prefix` and live no longer than their window (`PX`), so Redis memory is
 * bounded by the attempts of the last window, and no key is evicted early unless Redis itself runs out of memory
 * (use `maxmemory-policy noeviction` or a `volatile-*` policy on a Redis that holds counters).
 *
 * In Redis Cluster the keys of one call must share a slot: give a `prefix` with a hash tag, e.g. `{nsk}:attempts:`.
 *
 * @example
 * const client = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true });
 * client.on('error', (error) => logger.warn(error));
 * await client.connect();
 * const counters = new RedisAttemptCounterStore({ client });
 */
export class RedisAttemptCounterStore extends AttemptCounterStore {
  private readonly client: RedisAttemptCounterClient;
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(options: RedisAttemptCounterStoreOptions) {
    super();
    if (!options || typeof options.client?.sendCommand !== 'function') {
      throw new TypeError('RedisAttemptCounterStore: pass { client }, a connected node-redis client (createClient() then connect())');
    }
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_ATTEMPT_PREFIX;
    // MGET and the scripts name several counters at once: on a cluster they must share the prefix's hash tag.
    if (isClusterCommands(options.client)) assertClusterPrefix('RedisAttemptCounterStore', this.prefix, '{nsk}:attempts:');
    this.timeoutMs = options.commandTimeoutMs ?? 2000;
  }

  async read(keys: readonly string[], now: number): Promise<AttemptCount[]> {
    if (keys.length === 0) return [];
    const reply = await this.send('read', ['MGET', ...keys.map((k) => this.prefix + k)]);
    if (!Array.isArray(reply)) throw new TypeError(`RedisAttemptCounterStore: MGET answered ${typeof reply}, not a list`);
    return reply.map((value) => decode(value, now));
  }

  async increment(entries: readonly AttemptIncrement[], now: number): Promise<AttemptCount[]> {
    if (entries.length === 0) return [];
    const keys = entries.map((e) => this.prefix + e.key);
    const reply = await this.eval('increment', SCRIPTS.increment, keys, [String(now), ...entries.map((e) => String(Math.ceil(e.ttlMs)))]);
    if (!Array.isArray(reply)) throw new TypeError('RedisAttemptCounterStore: the increment script answered no list');
    return reply.map((count) => ({ count: Number(count), lastAt: now }));
  }

  async reset(keys: readonly string[], mark?: AttemptIncrement & { now: number }): Promise<void> {
    if (keys.length === 0 && !mark) return;
    const all = keys.map((k) => this.prefix + k);
    if (mark) all.push(this.prefix + mark.key);
    await this.eval('reset', SCRIPTS.reset, all, mark ? ['1', String(mark.now), String(Math.ceil(mark.ttlMs))] : ['0', '0', '0']);
  }

  async hit(hit: AttemptHit, now: number): Promise<HitCount> {
    checkAttemptHit(hit);
    const reply = await this.eval(
      'hit',
      SCRIPTS.hit,
      [this.prefix + hit.key],
      [String(now), String(hit.windowMs), String(hit.limit), String(hit.blockMs)],
    );
    if (!Array.isArray(reply) || reply.length !== 2) throw new TypeError('RedisAttemptCounterStore: the hit script answered no pair');
    return { count: Number(reply[0]), resetAt: Number(reply[1]) };
  }

  async claim(key: string, ttlMs: number, now: number): Promise<boolean> {
    const [first] = await this.increment([{ key, ttlMs }], now);
    return first.count === 1;
  }

  private async eval(operation: string, s: Script, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.send(operation, ['EVALSHA', s.sha1, String(keys.length), ...keys, ...args]);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      // Redis lost its script cache (a restart): EVAL sends the source once and caches it again.
      return this.send(operation, ['EVAL', s.source, String(keys.length), ...keys, ...args]);
    }
  }

  /** One command, bounded in time. Connection failures and timeouts become 503s; a Redis error reply is a bug. */
  private async send(operation: string, args: string[]): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([this.client.sendCommand(args), timeout]);
    } catch (error) {
      if (isErrorReply(error)) throw error;
      throw new AttemptCounterStoreUnavailableError(operation, error);
    } finally {
      clearTimeout(timer);
    }
  }
}

function decode(value: unknown, now: number): AttemptCount {
  if (typeof value !== 'string') return { count: 0, lastAt: 0 };
  const match = /^(\d+):(\d+):(\d+)$/.exec(value);
  if (!match || Number(match[3]) <= now) return { count: 0, lastAt: 0 };
  return { count: Number(match[1]), lastAt: Number(match[2]) };
}

/**
 * A reply Redis sent as an error (`ERR ...`, `NOSCRIPT`, `WRONGTYPE`): the server answered, so it is a bug, not an
 * outage. `BUSY` (a script still running) and `LOADING` (a restart reading its data) are outages: fail closed.
 */
function isErrorReply(error: unknown): boolean {
  const message = String((error as Error | undefined)?.message);
  if (/^(BUSY|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/.test(message)) return false;
  const name = (error as Error | undefined)?.constructor?.name ?? '';
  return name === 'ErrorReply' || /^(ERR|NOSCRIPT|WRONGTYPE)\b/.test(message);
}
