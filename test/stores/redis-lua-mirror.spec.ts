/**
 * The Lua copy of the lifecycle rules (the PRELUDE of lib/stores/redis/redis-scripts.ts) against the one source
 * of truth, lib/core/lifecycle.ts. The copy has to exist (a script decides atomically inside Redis), so this test
 * keeps it honest: it runs each Lua function in the real Redis, on a few hundred generated cases per function
 * with every boundary (a deadline equal to now, one ms either side, zero windows, fractions, large values), and
 * compares every answer with the TypeScript function's.
 *
 * Cases are generated from a fixed seed, so a failure reproduces; the message names the case.
 */
import { isDeepStrictEqual } from 'node:util';
import { createClient } from 'redis';
import {
  applyChanges,
  countsTowardLimit,
  expiresAt,
  idleDeadline,
  idleTimeoutOf,
  isExpired,
  isTouchDue,
  pointerState,
  rolesChange,
  ROTATION_TOMBSTONE_MS,
  startsCounting,
  touchChanges,
} from '../../lib/core/lifecycle';
import { SessionChanges, SessionRecord } from '../../lib/core/session-record';
import { decodeRecord, encodeChanges, encodeRecord } from '../../lib/stores/redis/redis-record-codec';
import { PRELUDE } from '../../lib/stores/redis/redis-scripts';
import { makeRecord } from '../../lib/testing';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CASES = 400;
/** Separates the fields of one case, and of one answer: a control character no generated value contains. */
const SEP = '\x1f';

/**
 * Calls one PRELUDE function per case. Each case is one ARGV string (fields joined by SEP); the adapter turns
 * those strings into the arguments the store's scripts pass (records as field maps of stored strings, scalars
 * through num()), and its answer into one string.
 */
const HARNESS = `
local function split(s)
  local out, start = {}, 1
  while true do
    local i = string.find(s, '\\031', start, true)
    if not i then out[#out + 1] = string.sub(s, start); return out end
    out[#out + 1] = string.sub(s, start, i - 1)
    start = i + 1
  end
end
local function flag(b) if b then return '1' else return '0' end end
local function pairsOf(a, from, to)
  local out = {}
  for i = from, to do out[#out + 1] = a[i] end
  return out
end
local function sortedFlat(m)
  local keys, out = {}, {}
  for k in pairs(m) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do out[#out + 1] = k; out[#out + 1] = m[k] end
  return out
end

local ADAPTERS = {
  expiresAt = function(a) return fmt(expiresAt({ idleExpiresAt = a[1], absoluteExpiresAt = a[2] })) end,
  isExpired = function(a) return flag(isExpired({ idleExpiresAt = a[1], absoluteExpiresAt = a[2] }, num(a[3]))) end,
  idleDeadline = function(a) return fmt(idleDeadline(num(a[1]), num(a[2]), num(a[3]))) end,
  isTouchDue = function(a) return flag(isTouchDue(num(a[1]), num(a[2]), num(a[3]))) end,
  -- a[7]: the record's own idleTimeoutMs as stored ('' for null), or absent (a legacy record) when a[7] is 'absent'.
  touchChanges = function(a)
    local r = { lastSeenAt = a[1], idleExpiresAt = a[2], absoluteExpiresAt = a[3] }
    if a[7] ~= 'absent' then r.idleTimeoutMs = a[7] end
    local t = touchChanges(r, num(a[4]), num(a[5]), num(a[6]))
    if not t then return 'none' end
    return fmt(t.lastSeenAt) .. '\\031' .. fmt(t.idleExpiresAt)
  end,
  idleTimeoutOf = function(a)
    local r = {}
    if a[1] ~= 'absent' then r.idleTimeoutMs = a[1] end
    return fmt(idleTimeoutOf(r, num(a[2])))
  end,
  -- a = number of roles before n, the n roles before, then the roles after.
  rolesChange = function(a)
    local n = tonumber(a[1])
    return rolesChange(pairsOf(a, 2, 1 + n), pairsOf(a, 2 + n, #a))
  end,
  -- a[1]: impersonatedBy as stored ('' for null), or 'absent' (a legacy record without the field); a[2]: the stage,
  -- or 'absent' (a record stored before stages existed).
  countsTowardLimit = function(a)
    local r = {}
    if a[1] ~= 'absent' then r.impersonatedBy = a[1] end
    if a[2] ~= 'absent' then r.stage = a[2] end
    return flag(countsTowardLimit(r))
  end,
  -- a = impersonatedBy and stage before, then the same after (each as for countsTowardLimit).
  startsCounting = function(a)
    local before, after = {}, {}
    if a[1] ~= 'absent' then before.impersonatedBy = a[1] end
    if a[2] ~= 'absent' then before.stage = a[2] end
    if a[3] ~= 'absent' then after.impersonatedBy = a[3] end
    if a[4] ~= 'absent' then after.stage = a[4] end
    return flag(startsCounting(before, after))
  end,
  pointerState = function(a) return pointerState({ graceUntil = a[1], ['until'] = a[2] }, num(a[3])) end,
  -- a = bump ('1'|'0'), number of record fields n, n field/value pairs, then the changes' pairs.
  applyChanges = function(a)
    local n = tonumber(a[2])
    local r = {}
    for i = 3, 2 + 2 * n, 2 do r[a[i]] = a[i + 1] end
    local before = table.concat(sortedFlat(r), '\\031')
    local next, written = applyChanges(r, pairsOf(a, 3 + 2 * n, #a), a[1] == '1')
    -- The input must come out untouched, as lifecycle.ts promises.
    if table.concat(sortedFlat(r), '\\031') ~= before then return 'mutated its input' end
    return table.concat(sortedFlat(next), '\\031') .. '\\031|\\031' .. table.concat(written, '\\031')
  end,
}

local adapter = ADAPTERS[ARGV[2]]
local out = {}
for i = 3, #ARGV do out[#out + 1] = adapter(split(ARGV[i])) end
return out
`;

/** mulberry32: a small seeded generator, so the cases are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the Lua lifecycle rules match lib/core/lifecycle.ts', () => {
  let client: ReturnType<typeof createClient>;
  const rnd = random(0x5e55);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rnd() * values.length)];
  const T0 = 1_795_000_000_000;
  /** A time near `base`: exactly it, one ms either side, a fraction off, or well apart. */
  const near = (base: number): number => base + pick([0, 0, 0, 1, -1, 0.5, -0.25, 1000, -1000, 60_000, -3_600_000, 123_456.789]);
  /** A duration (ms): zero, one, a second, a minute, a day, a fraction, or a huge one. */
  const duration = (): number => pick([0, 0, 1, 999, 1000, 60_000, 1_800_000, 86_400_000, 0.5, 2 ** 40]);
  /** Any time, mostly around T0; sometimes 0 or beyond 2^53 where doubles stop being integers. */
  const anyTime = (): number => pick([T0, T0, T0, T0, 0, 2 ** 53, 2 ** 53 + 2, 1e17]) + Math.floor(rnd() * 3) * duration();

  /** Runs `fn` of the PRELUDE on every case, in one EVAL, and returns its answers. */
  async function lua(fn: string, cases: (string | number)[][]): Promise<string[]> {
    const args = cases.map((c) => c.map(String).join(SEP));
    const reply = await client.sendCommand(['EVAL', PRELUDE + HARNESS, '0', '{nsk-mirror}:', fn, ...args]);
    expect(Array.isArray(reply) && reply.length).toBe(cases.length);
    return (reply as unknown as unknown[]).map(String);
  }

  /** Compares answer by answer, naming the case, so a mismatch says exactly which input disagrees. */
  function expectSame(fn: string, cases: unknown[], fromLua: unknown[], fromTs: unknown[]): void {
    const mismatches = cases.flatMap((c, i) =>
      isDeepStrictEqual(fromLua[i], fromTs[i])
        ? []
        : [`${fn}(${JSON.stringify(c)}): Lua ${JSON.stringify(fromLua[i])}, TypeScript ${JSON.stringify(fromTs[i])}`],
    );
    // The first few are enough to see the pattern; the count says how widespread it is.
    expect({ mismatches: mismatches.length, first: mismatches.slice(0, 5) }).toEqual({ mismatches: 0, first: [] });
  }

  beforeAll(async () => {
    client = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined);
    await client.connect();
  });
  afterAll(() => client?.destroy());

  it('expiresAt and isExpired', async () => {
    const cases = Array.from({ length: CASES }, () => {
      const now = anyTime();
      return [near(now), near(now), now] as const;
    });
    cases.push([T0, T0, T0], [T0 + 1, T0, T0], [T0, T0 + 1, T0], [T0 + 1, T0 + 1, T0], [T0 - 1, T0 + 1, T0]);
    const expires = await lua(
      'expiresAt',
      cases.map(([idle, abs]) => [idle, abs]),
    );
    expectSame(
      'expiresAt',
      cases,
      expires.map(Number),
      cases.map(([idleExpiresAt, absoluteExpiresAt]) => expiresAt({ idleExpiresAt, absoluteExpiresAt })),
    );
    const expired = await lua(
      'isExpired',
      cases.map((c) => [...c]),
    );
    expectSame(
      'isExpired',
      cases,
      expired.map((v) => v === '1'),
      cases.map(([idleExpiresAt, absoluteExpiresAt, now]) => isExpired({ idleExpiresAt, absoluteExpiresAt }, now)),
    );
    // Both answers occur, so the comparison is not vacuous.
    expect(new Set(expired)).toEqual(new Set(['0', '1']));
  });

  it('idleDeadline', async () => {
    const cases = Array.from({ length: CASES }, () => {
      const now = anyTime();
      const idle = duration();
      return [now, idle, near(now + idle)] as const;
    });
    const fromLua = await lua(
      'idleDeadline',
      cases.map((c) => [...c]),
    );
    expectSame(
      'idleDeadline',
      cases,
      fromLua.map(Number),
      cases.map(([now, idle, abs]) => idleDeadline(now, idle, abs)),
    );
  });

  it("isTouchDue, idleTimeoutOf and touchChanges (the record's own idle timeout, or the default for a legacy record)", async () => {
    /** The record's own idle timeout as stored: absent (legacy), '' (null), or a duration. */
    const ownTimeout = (): 'absent' | '' | number => pick(['absent', '', duration(), duration()] as const);
    const asRecordField = (own: 'absent' | '' | number) => (own === 'absent' ? {} : { idleTimeoutMs: own === '' ? null : own });
    const cases = Array.from({ length: CASES }, () => {
      const now = anyTime();
      const interval = duration();
      const idle = duration();
      const lastSeenAt = pick([now, now - interval, now - interval + 1, now - interval - 1, near(now)]);
      const absoluteExpiresAt = pick([now + idle, now + idle - 1, now + idle + 1, near(now), now + 2 * idle]);
      const idleExpiresAt = pick([Math.min(now + idle, absoluteExpiresAt), near(lastSeenAt + idle), absoluteExpiresAt]);
      return [lastSeenAt, idleExpiresAt, absoluteExpiresAt, now, idle, interval, ownTimeout()] as const;
    });
    // A due touch that would change nothing writes nothing.
    cases.push([T0, T0 + 1000, T0 + 5000, T0, 1000, 0, 'absent'], [T0, T0 + 1000, T0 + 5000, T0, 60_000, 0, 1000]);
    const due = await lua(
      'isTouchDue',
      cases.map(([lastSeenAt, , , now, , interval]) => [lastSeenAt, now, interval]),
    );
    expectSame(
      'isTouchDue',
      cases,
      due.map((v) => v === '1'),
      cases.map(([lastSeenAt, , , now, , interval]) => isTouchDue(lastSeenAt, now, interval)),
    );
    const timeouts = await lua(
      'idleTimeoutOf',
      cases.map(([, , , , idle, , own]) => [own, idle]),
    );
    expectSame(
      'idleTimeoutOf',
      cases,
      timeouts.map(Number),
      cases.map(([, , , , idle, , own]) => idleTimeoutOf(asRecordField(own), idle)),
    );
    const touches = await lua(
      'touchChanges',
      cases.map((c) => [...c]),
    );
    const fromLua = touches.map((t) => {
      if (t === 'none') return null;
      const [lastSeenAt, idleExpiresAt] = t.split(SEP).map(Number);
      return { lastSeenAt, idleExpiresAt };
    });
    const fromTs = cases.map(([lastSeenAt, idleExpiresAt, absoluteExpiresAt, now, idle, interval, own]) =>
      touchChanges({ lastSeenAt, idleExpiresAt, absoluteExpiresAt, ...asRecordField(own) }, now, idle, interval),
    );
    expectSame('touchChanges', cases, fromLua, fromTs);
    expect(fromTs.some((t) => t === null) && fromTs.some((t) => t !== null)).toBe(true);
    expect(fromTs.slice(-2)).toEqual([null, null]);
  });

  it('rolesChange: elevation, demotion or same, as sets', async () => {
    const names = ['user', 'admin', 'billing', 'auditor', 'ünïcödé ✓', 'a:b'];
    const list = () => Array.from({ length: Math.floor(rnd() * 5) }, () => pick(names));
    const cases = Array.from({ length: CASES }, () => {
      const before = list();
      // Often the same set, reordered or repeated, so 'same' is well covered too.
      const after = rnd() < 0.3 ? [...before].reverse().concat(before.slice(0, 1)) : list();
      return { before, after };
    });
    const fromLua = await lua(
      'rolesChange',
      cases.map(({ before, after }) => [before.length, ...before, ...after]),
    );
    const fromTs = cases.map(({ before, after }) => rolesChange(before, after));
    expectSame('rolesChange', cases, fromLua, fromTs);
    expect(new Set(fromTs)).toEqual(new Set(['elevation', 'demotion', 'same']));
  });

  it('countsTowardLimit and startsCounting: impersonation and pending sessions do not count; the rest, legacy (absent) fields included, do', async () => {
    const impersonations = ['absent', '', 'admin-1', '0', 'ünïcödé'] as const;
    const stages = ['absent', 'complete', 'pending'] as const;
    /** The record as TypeScript sees it: absent or '' impersonatedBy is null; an absent stage is left out. */
    const asRecord = (imp: string, stage: string) => ({
      impersonatedBy: imp === 'absent' || imp === '' ? null : imp,
      ...(stage === 'absent' ? {} : { stage: stage as 'pending' | 'complete' }),
    });
    const cases = impersonations.flatMap((imp) => stages.map((stage) => [imp, stage]));
    const fromLua = await lua(
      'countsTowardLimit',
      cases.map((c) => [...c]),
    );
    const fromTs = cases.map(([imp, stage]) => countsTowardLimit(asRecord(imp, stage)));
    expectSame(
      'countsTowardLimit',
      cases,
      fromLua.map((v) => v === '1'),
      fromTs,
    );
    // The user's own sessions count unless pending; impersonation sessions never do.
    expect(cases.filter((_, i) => fromTs[i])).toEqual([
      ['absent', 'absent'],
      ['absent', 'complete'],
      ['', 'absent'],
      ['', 'complete'],
    ]);
    const transitions = cases.flatMap((before) => cases.map((after) => [...before, ...after]));
    const startsFromLua = await lua(
      'startsCounting',
      transitions.map((c) => [...c]),
    );
    const startsFromTs = transitions.map(([bi, bs, ai, as]) => startsCounting(asRecord(bi, bs), asRecord(ai, as)));
    expectSame(
      'startsCounting',
      transitions,
      startsFromLua.map((v) => v === '1'),
      startsFromTs,
    );
    expect(startsFromTs.some(Boolean) && !startsFromTs.every(Boolean)).toBe(true);
  });

  it('pointerState', async () => {
    const cases = Array.from({ length: CASES }, () => {
      const at = anyTime();
      const graceUntil = at + pick([0, 0, 1000, 10_000, ROTATION_TOMBSTONE_MS]);
      const until = pick([at + ROTATION_TOMBSTONE_MS, graceUntil, graceUntil + 1, graceUntil - 1]);
      return [graceUntil, until, pick([at, near(graceUntil), near(until), graceUntil, until])] as const;
    });
    const fromLua = await lua(
      'pointerState',
      cases.map((c) => [...c]),
    );
    const fromTs = cases.map(([graceUntil, until, now]) => pointerState({ graceUntil, until }, now));
    expectSame('pointerState', cases, fromLua, fromTs);
    expect(new Set(fromTs)).toEqual(new Set(['grace', 'tombstone', 'gone']));
  });

  it('applyChanges: every change applied, nothing else moved, the version bumped when asked', async () => {
    const changeable: (() => SessionChanges)[] = [
      () => ({ data: pick([{}, { cart: [{ sku: 'A-1', qty: 2 }] }, { n: 0.1 + 0.2, list: [] }, { note: 'héllo ✓' }]) }),
      () => ({ aal: pick([1, 2]) }),
      () => ({ authenticatedAt: anyTime() }),
      () => ({ idleExpiresAt: anyTime(), absoluteExpiresAt: anyTime() }),
      () => ({ lastSeenAt: anyTime() }),
      () => ({ rotatedAt: anyTime() }),
      () => ({ rolesVersion: Math.floor(rnd() * 10) }),
      () => ({ rotateRequired: rnd() < 0.5 }),
      () => ({ stage: pick(['pending', 'complete'] as const) }),
      () => ({ idleTimeoutMs: pick([null, 1000, 1_800_000, 30 * 86_400_000]) }),
      () => ({ aal: undefined }),
      () => ({}),
    ];
    const cases = Array.from({ length: CASES }, () => {
      const record: SessionRecord = makeRecord(anyTime(), {
        version: pick([1, 2, 41, 2 ** 53 - 2, 1e16]),
        stage: pick(['pending', 'complete'] as const),
        roles: pick([[], ['user'], ['user', 'admin', 'ünïcödé ✓']]),
        tier: pick(['standard', 'remember'] as const),
        impersonatedBy: pick([null, 'admin-1']),
        idleTimeoutMs: pick([null, 60_000, 30 * 86_400_000]),
      });
      const changes: SessionChanges = Object.assign({}, ...Array.from({ length: Math.floor(rnd() * 4) }, () => pick(changeable)()));
      return { record, changes, bump: rnd() < 0.8 };
    });
    const answers = await lua(
      'applyChanges',
      cases.map(({ record, changes, bump }) => {
        const fields = encodeRecord(record);
        return [bump ? '1' : '0', fields.length / 2, ...fields, ...encodeChanges(changes, 'update')];
      }),
    );
    const fromLua = answers.map((answer) => {
      const [next, written] = answer.split(`${SEP}|${SEP}`);
      return { record: decodeRecord(next.split(SEP)), written: written === undefined || written === '' ? [] : written.split(SEP) };
    });
    const fromTs = cases.map(({ record, changes, bump }) => {
      const next = applyChanges(record, changes, bump);
      return { record: next, written: [...encodeChanges(changes, 'update'), ...(bump ? ['version', String(next.version)] : [])] };
    });
    expectSame('applyChanges', cases, fromLua, fromTs);
  });
});
