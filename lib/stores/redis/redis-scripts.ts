/**
 * Lua scripts behind {@link RedisSessionStore}: one script per store operation, so every operation is a single
 * atomic round trip (Redis runs a script to completion before serving any other command).
 *
 * Conventions shared by every script:
 * - `ARGV[1]` is the key prefix of this call. Scripts derive related keys from it (`s:<id>`, `u:<userId>`); the prefix
 *   carries a hash tag (`{nsk}:` on one Redis; `<prefix>{<user's routing tag>}:` on a cluster, where the store picks
 *   it per call), so every derived key lands in the same Redis Cluster slot as `KEYS[1]`.
 * - Every decision compares with the `now` passed in ARGV, never with Redis TIME, so the logic follows the
 *   module's clock (tests move it virtually). Key TTLs only collect garbage and always run past the logical
 *   expiry.
 * - Numbers cross the wire as strings produced by JavaScript (`String(n)`), and are stored as given. Numbers
 *   computed in Lua are written with `%.17g`, which round-trips a double exactly (Lua's default `%.14g`
 *   would silently round large values).
 * - Replies contain only strings and arrays: a Lua number would be truncated to an integer reply.
 *
 * A session is a hash holding the record's fields, with `data` kept as its JSON text: Lua never decodes it,
 * so the application's data is stored byte for byte (cjson would turn `[]` into `{}` and round numbers to 14
 * digits). A rotation pointer lives under the same `s:<id>` key as a hash `{ successor, graceUntil, until }`
 * (see `RotationPointer` in `lib/core/lifecycle.ts`), so one HGETALL tells a session, a pointer and an unknown id
 * apart.
 *
 * @internal Not part of the public API: the store is the only caller.
 */
import { SESSION_NUMBER_FIELDS, SESSION_STAGES, SESSION_TIERS } from '../../core/session-record';
import { PACKED_FIELDS, REQUIRED_TEXT_FIELDS } from './redis-record-codec';

/**
 * How long (ms) keys outlive their logical expiry before Redis deletes them: covers clock skew between app
 * instances, and lets a read shortly after expiry still answer `expired` (with the record) rather than
 * `missing`.
 */
export const GC_SLACK_MS = 60_000;

/** Index entries dropped per `create` (when there is no concurrency limit) whose session key is gone. */
export const PRUNE_ON_CREATE = 16;

/** A Lua table literal of strings. The values are field names from `lib/core`: no quoting to worry about. */
function luaList(values: readonly string[]): string {
  return `{ ${values.map((v) => `'${v}'`).join(', ')} }`;
}

/**
 * The code every script starts with: helpers, the record layout, and the lifecycle rules. Every definition is a
 * plain `local function` with no side effect, so a test can append its own `return ...` and EVAL the result to
 * call any of them (see `test/stores/redis-lua-mirror.spec.ts`). `PREFIX` is `ARGV[1]` in every script.
 *
 * @internal Exported for that test only.
 */
export const PRELUDE = `
local PREFIX = ARGV[1]
local SLACK = ${GC_SLACK_MS}
local NUMERIC = ${luaList(SESSION_NUMBER_FIELDS)}
local REQUIRED = ${luaList(REQUIRED_TEXT_FIELDS)}
local STAGES = ${luaList(SESSION_STAGES)}
local TIERS = ${luaList(SESSION_TIERS)}
local PACKED = ${luaList(PACKED_FIELDS)}

local function sessionKey(id) return PREFIX .. 's:' .. id end
local function userKey(userId) return PREFIX .. 'u:' .. userId end

-- A finite number, or nil: tonumber() alone accepts 'nan' and 'inf', which would break every comparison.
local function num(v)
  local n = tonumber(v)
  if n == nil or n ~= n or n == math.huge or n == -math.huge then return nil end
  return n
end

local function fmt(n) return string.format('%.17g', n) end

local function contains(list, v)
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

-- ---------------------------------------------------------------------------------------------------------
-- The lifecycle rules: a copy of lib/core/lifecycle.ts, function for function, with the same names and
-- arguments. It has to exist (a script decides atomically, without a round trip to TypeScript), and
-- test/stores/redis-lua-mirror.spec.ts runs both on the same generated cases. Change a rule there and here.
-- Records are field maps as stored: their numbers may still be strings, hence num().
-- ---------------------------------------------------------------------------------------------------------

local function expiresAt(r) return math.min(num(r.idleExpiresAt), num(r.absoluteExpiresAt)) end

local function isExpired(r, now)
  return now >= num(r.idleExpiresAt) or now >= num(r.absoluteExpiresAt)
end

local function idleDeadline(now, idleTimeoutMs, absoluteExpiresAt)
  return math.min(now + idleTimeoutMs, absoluteExpiresAt)
end

local function isTouchDue(lastSeenAt, now, touchIntervalMs) return now - lastSeenAt >= touchIntervalMs end

-- The record's own idle timeout; a legacy record has none (absent, or '' for null): the module's applies.
local function idleTimeoutOf(r, fallbackMs)
  local own = num(r.idleTimeoutMs)
  if own == nil then return fallbackMs end
  return own
end

-- The fields a due touch writes ({ lastSeenAt, idleExpiresAt } as numbers), or nil.
local function touchChanges(r, now, defaultIdleTimeoutMs, touchIntervalMs)
  local lastSeenAt = num(r.lastSeenAt)
  if not isTouchDue(lastSeenAt, now, touchIntervalMs) then return nil end
  local idle = idleDeadline(now, idleTimeoutOf(r, defaultIdleTimeoutMs), num(r.absoluteExpiresAt))
  if idle == num(r.idleExpiresAt) and now == lastSeenAt then return nil end
  return { lastSeenAt = now, idleExpiresAt = idle }
end

-- Roles compared as sets: 'elevation' (a role before lacked), 'demotion' (roles only removed) or 'same'.
local function rolesChange(before, after)
  local had, has = {}, {}
  for _, role in ipairs(before) do had[role] = true end
  for _, role in ipairs(after) do has[role] = true end
  for _, role in ipairs(after) do if not had[role] then return 'elevation' end end
  for _, role in ipairs(before) do if not has[role] then return 'demotion' end end
  return 'same'
end

-- Impersonation sessions (impersonatedBy set: not absent, not '') and pending ones neither count toward the limit
-- nor get evicted. A record without a stage (absent) is complete.
local function countsTowardLimit(r)
  return (r.impersonatedBy == nil or r.impersonatedBy == '') and r.stage ~= 'pending'
end

-- Whether a write from before to after makes the session start counting (a pending session completing).
local function startsCounting(before, after)
  return not countsTowardLimit(before) and countsTowardLimit(after)
end

-- changes: field/value pairs as a flat list (as they arrive in ARGV). Returns a new field map, and the pairs to
-- HSET (the changes, then the version when bumped). Never mutates r.
local function applyChanges(r, changes, bumpVersion)
  local next, written = {}, {}
  for k, v in pairs(r) do next[k] = v end
  for i = 1, #changes, 2 do
    next[changes[i]] = changes[i + 1]
    written[#written + 1] = changes[i]
    written[#written + 1] = changes[i + 1]
  end
  if bumpVersion then
    next.version = fmt(num(r.version) + 1)
    written[#written + 1] = 'version'
    written[#written + 1] = next.version
  end
  return next, written
end

-- 'until' is a Lua keyword: the field is always written p['until'].
local function pointerState(p, now)
  if now < num(p.graceUntil) then return 'grace' end
  if now < num(p['until']) then return 'tombstone' end
  return 'gone'
end

-- ---------------------------------------------------------------------------------------------------------
-- Storage: keys, TTLs, loading and writing records. Not lifecycle rules: TTLs only collect garbage after the
-- logical end that the functions above decide.
-- ---------------------------------------------------------------------------------------------------------

local function setTtl(key, ms) redis.call('PEXPIRE', key, string.format('%.0f', ms)) end

-- Raises a key's TTL to at least ms; never shortens it (the user index outlives every member).
local function extendTtl(key, ms)
  if redis.call('PTTL', key) < ms then setTtl(key, ms) end
end

-- PEXPIRE (deadline - now + slack), not PEXPIREAT deadline: the same instant when now is the wall clock, but
-- immune to skew between the app's and Redis' clocks, and to virtual clocks in tests (a deadline in the real
-- past would make PEXPIREAT delete a session that is logically alive).
local function ttlUntil(deadline, now) return math.max(math.ceil(deadline - now), 0) + SLACK end
local function sessionTtl(m, now) return ttlUntil(expiresAt(m), now) end
local function indexTtl(m, now) return ttlUntil(num(m.absoluteExpiresAt), now) end

-- Classifies what is stored under key: 'none', 'bad' (foreign or corrupted: treated as no session),
-- 'pointer' or 'record'. Also returns the HGETALL reply and a field map. Mirrors isSessionRecord() on what Lua
-- can check without decoding data; TypeScript checks the rest on every record it gets back.
local function load(key)
  local flat = redis.pcall('HGETALL', key)
  if type(flat) ~= 'table' or flat.err then return 'bad' end
  if #flat == 0 then return 'none' end
  local m = {}
  for i = 1, #flat, 2 do m[flat[i]] = flat[i + 1] end
  if m.successor ~= nil then
    -- A pointer written before 'until' existed is remembered for its grace window only.
    if m['until'] == nil then m['until'] = m.graceUntil end
    if m.successor ~= '' and num(m.graceUntil) and num(m['until']) then return 'pointer', flat, m end
    return 'bad'
  end
  for _, f in ipairs(NUMERIC) do if num(m[f]) == nil then return 'bad' end end
  for _, f in ipairs(REQUIRED) do if m[f] == nil then return 'bad' end end
  if m.userId == '' or m.handle == '' then return 'bad' end
  -- A record without a stage predates the field: it reads as complete. Likewise a tier ('' or absent: standard).
  if m.stage ~= nil and not contains(STAGES, m.stage) then return 'bad' end
  if m.tier ~= nil and m.tier ~= '' and not contains(TIERS, m.tier) then return 'bad' end
  return 'record', flat, m
end

-- Lua never parses data on reads (TypeScript validates the record there). Writes check it, so an update or a
-- rotation never carries along, or silently repairs, a record that reads as missing.
local function hasObjectData(m)
  return string.sub(m.data, 1, 1) == '{' and (pcall(cjson.decode, m.data))
end

-- Writes the field map back into the HGETALL reply, so the caller gets the record as stored now. Fields that
-- the map gained (a changed field the stored record lacked, e.g. stage on a legacy record) are appended.
local function flatten(m, flat)
  local seen = {}
  for i = 1, #flat, 2 do
    flat[i + 1] = m[flat[i]]
    seen[flat[i]] = true
  end
  for k, v in pairs(m) do
    if not seen[k] then
      flat[#flat + 1] = k
      flat[#flat + 1] = v
    end
  end
  return flat
end

-- The record's values in PACKED order, without the field names (decodePacked() in TypeScript): what the read
-- script sends back on every authenticated request. A missing field (stage, on a legacy record) is ''.
local function pack(m)
  local out = {}
  for i, f in ipairs(PACKED) do out[i] = m[f] or '' end
  return out
end

local function removeRecord(id, key, m)
  redis.call('DEL', key)
  redis.call('ZREM', userKey(m.userId), id)
end

-- Follows a pointer one hop: returns the successor's id, key, and load() result. A successor that is itself a
-- pointer is not followed further (it reads as no session).
local function follow(m)
  local id = m.successor
  local key = sessionKey(id)
  local kind, flat, sm = load(key)
  return id, key, kind, flat, sm
end

-- Live sessions of a user in index order (createdAt, then id). Drops index entries whose session is gone,
-- foreign or corrupted, and deletes sessions expired at now. full = false reads only the fields needed to
-- decide (no data), for counting.
local function liveMembers(uk, userId, now, full)
  local ids = redis.call('ZRANGE', uk, 0, -1)
  local live = {}
  for _, id in ipairs(ids) do
    local key = sessionKey(id)
    local kind, flat, m
    if full then
      kind, flat, m = load(key)
    else
      local h = redis.pcall('HMGET', key, 'userId', 'createdAt', 'idleExpiresAt', 'absoluteExpiresAt', 'successor', 'impersonatedBy',
        'stage')
      if type(h) == 'table' and not h.err and h[1] and not h[5]
        and num(h[2]) and num(h[3]) and num(h[4]) then
        kind = 'record'
        -- HMGET answers false for an absent field (a legacy record): no impersonation, complete.
        m = {
          userId = h[1], createdAt = h[2], idleExpiresAt = h[3], absoluteExpiresAt = h[4],
          impersonatedBy = h[6] or nil, stage = h[7] or nil,
        }
      end
    end
    if kind ~= 'record' or m.userId ~= userId then
      redis.call('ZREM', uk, id)
    elseif isExpired(m, now) then
      redis.call('DEL', key)
      redis.call('ZREM', uk, id)
    else
      live[#live + 1] = { id = id, key = key, flat = flat, m = m, createdAt = num(m.createdAt) }
    end
  end
  return live
end

-- The members of live that count toward the concurrent-session limit, in the same order.
local function counted(live)
  local out = {}
  for _, s in ipairs(live) do
    if countsTowardLimit(s.m) then out[#out + 1] = s end
  end
  return out
end

-- A stored roles list (JSON text), as a Lua list; absent or unreadable reads as none.
local function decodeRoles(v)
  if v == nil or v == '' then return {} end
  local ok, list = pcall(cjson.decode, v)
  if not ok or type(list) ~= 'table' then return {} end
  return list
end

-- ARGV from position first on, as a list (changes arrive as field/value pairs at the end of ARGV).
local function argvFrom(first)
  local out = {}
  for i = first, #ARGV do out[#out + 1] = ARGV[i] end
  return out
end
`;

/**
 * create. KEYS[1] = s:<id>, KEYS[2] = u:<userId>. ARGV = prefix, id, now, maxConcurrent, onLimit ('evict-oldest' |
 * 'deny-new'), then the record as field/value pairs. Reply: `{'exists'}`, `{'denied', live}` (nothing stored; live =
 * HGETALL replies of the counted live sessions, oldest first) or `{'created', evicted}` (HGETALL replies, oldest
 * first).
 */
export const CREATE_SCRIPT = `${PRELUDE}
local key, id, now, maxConcurrent, onLimit = KEYS[1], ARGV[2], num(ARGV[3]), num(ARGV[4]), ARGV[5]
if redis.call('EXISTS', key) == 1 then return { 'exists' } end
local m = {}
local fields = {}
for i = 6, #ARGV, 2 do
  m[ARGV[i]] = ARGV[i + 1]
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
local uk = KEYS[2]
-- A session that does not count toward the limit is never refused and evicts nothing.
local limited = maxConcurrent > 0 and countsTowardLimit(m)
if limited and onLimit == 'deny-new' then
  -- Counted and refused before anything is written: the count and the insert are one script.
  local live = counted(liveMembers(uk, m.userId, now, false))
  if #live >= maxConcurrent then
    local out = {}
    for i, s in ipairs(live) do out[i] = redis.call('HGETALL', s.key) end
    return { 'denied', out }
  end
end
redis.call('HSET', key, unpack(fields))
setTtl(key, sessionTtl(m, now))
redis.call('ZADD', uk, m.createdAt, id)
extendTtl(uk, indexTtl(m, now))

local evicted = {}
if limited and onLimit ~= 'deny-new' then
  local live = counted(liveMembers(uk, m.userId, now, false))
  -- The new session sorts after others created at the same instant: on a tie the older login goes first.
  local ordered, mine = {}, nil
  for _, s in ipairs(live) do
    if s.id == id then mine = s else ordered[#ordered + 1] = s end
  end
  if mine then
    local pos = #ordered + 1
    for i = #ordered, 1, -1 do
      if ordered[i].createdAt > mine.createdAt then pos = i else break end
    end
    table.insert(ordered, pos, mine)
  end
  for i = 1, #ordered - maxConcurrent do
    local s = ordered[i]
    evicted[#evicted + 1] = redis.call('HGETALL', s.key)
    redis.call('DEL', s.key)
    redis.call('ZREM', uk, s.id)
  end
elseif not limited then
  -- No limit to enforce, so no full scan: drop a few index entries whose session Redis has already expired,
  -- oldest first, so the index of a user who never logs out stays near the number of live sessions.
  for _, other in ipairs(redis.call('ZRANGE', uk, 0, ${PRUNE_ON_CREATE - 1})) do
    if redis.call('EXISTS', sessionKey(other)) == 0 then redis.call('ZREM', uk, other) end
  end
end
return { 'created', evicted }
`;

/**
 * read. KEYS[1] = s:<id>. ARGV = prefix, id, now, idleTimeoutMs, touchIntervalMs.
 * Reply: `{'missing'}`, `{'tombstone'}`, `{'expired', id, record}` or `{'active', id, viaGrace ('1'|'0'), values}`,
 * values being the live record without field names, in PACKED_FIELDS order (see `pack`).
 */
export const READ_SCRIPT = `${PRELUDE}
local key, id, now = KEYS[1], ARGV[2], num(ARGV[3])
local kind, flat, m = load(key)
local viaGrace = '0'
if kind == 'pointer' then
  local state = pointerState(m, now)
  if state == 'tombstone' then return { 'tombstone' } end
  if state ~= 'grace' then return { 'missing' } end
  id, key, kind, flat, m = follow(m)
  viaGrace = '1'
end
if kind ~= 'record' then return { 'missing' } end
if isExpired(m, now) then
  removeRecord(id, key, m)
  return { 'expired', id, flat }
end
-- The touch is part of the read: the steady-state cost of an authenticated request stays one command.
local touch = touchChanges(m, now, num(ARGV[4]), num(ARGV[5]))
if touch then
  m.lastSeenAt = fmt(touch.lastSeenAt)
  m.idleExpiresAt = fmt(touch.idleExpiresAt)
  redis.call('HSET', key, 'lastSeenAt', m.lastSeenAt, 'idleExpiresAt', m.idleExpiresAt)
  setTtl(key, sessionTtl(m, now))
end
return { 'active', id, viaGrace, pack(m) }
`;

/**
 * update (compare-and-set). KEYS[1] = s:<id>. ARGV = prefix, id, now, expectedVersion, then changes as
 * field/value pairs. A remembered pointer (grace or tombstone) is followed one hop: writes of requests that were
 * in flight during a rotation land on the successor (and conflict there, since the rotation bumped the version).
 * Reply: `{'missing'}`, `{'conflict', id, record}` or `{'ok', id, record}`, id being where the session lives.
 */
export const UPDATE_SCRIPT = `${PRELUDE}
local key, id, now = KEYS[1], ARGV[2], num(ARGV[3])
local kind, flat, m = load(key)
if kind == 'pointer' then
  if pointerState(m, now) == 'gone' then return { 'missing' } end
  id, key, kind, flat, m = follow(m)
end
if kind ~= 'record' or not hasObjectData(m) then return { 'missing' } end
if isExpired(m, now) then
  removeRecord(id, key, m)
  return { 'missing' }
end
if num(m.version) ~= num(ARGV[4]) then return { 'conflict', id, flat } end
local written
m, written = applyChanges(m, argvFrom(5), true)
redis.call('HSET', key, unpack(written))
setTtl(key, sessionTtl(m, now))
extendTtl(userKey(m.userId), indexTtl(m, now))
return { 'ok', id, flatten(m, flat) }
`;

/**
 * rotate. KEYS[1] = s:<oldId>, KEYS[2] = s:<newId>. ARGV = prefix, oldId, newId, now, graceUntil, until (from
 * pointerWindows() in lib/core/lifecycle.ts), maxConcurrent ('0' for no limit), onLimit ('evict-oldest' | 'deny-new'),
 * then changes as field/value pairs. The limit is held only when the changes make the session start counting
 * (startsCounting: a pending session completing). Reply: `{'missing'}`, `{'exists'}` (newId taken), `{'tombstone'}`,
 * `{'denied', live}` (nothing changed; live = HGETALL replies of the user's other counted live sessions, oldest
 * first), `{'rotated', record}`, `{'rotated', record, evicted}` (when the limit was held; HGETALL replies, oldest
 * first) or `{'superseded', successorId, record}`.
 */
export const ROTATE_SCRIPT = `${PRELUDE}
local oldKey, newKey, oldId, newId, now = KEYS[1], KEYS[2], ARGV[2], ARGV[3], num(ARGV[4])
local maxConcurrent, onLimit = num(ARGV[7]), ARGV[8]
local kind, flat, m = load(oldKey)
if kind == 'pointer' then
  -- Someone rotated first: name their successor, never mint a second one.
  local state = pointerState(m, now)
  if state == 'tombstone' then return { 'tombstone' } end
  if state ~= 'grace' then return { 'missing' } end
  local sid, _, skind, sflat, sm = follow(m)
  if skind ~= 'record' or isExpired(sm, now) then return { 'missing' } end
  return { 'superseded', sid, sflat }
end
if kind ~= 'record' or not hasObjectData(m) then return { 'missing' } end
if isExpired(m, now) then
  removeRecord(oldId, oldKey, m)
  return { 'missing' }
end
if redis.call('EXISTS', newKey) == 1 then return { 'exists' } end
local uk = userKey(m.userId)
local changed, written = applyChanges(m, argvFrom(9), true)
-- A pending session completing starts to count: the limit is decided before anything moves, so a refusal leaves
-- the session exactly as it was. The rotating session is never a victim (its completion is the newest sign-in).
local limited = maxConcurrent > 0 and startsCounting(m, changed)
local victims = {}
if limited then
  local others = {}
  for _, s in ipairs(counted(liveMembers(uk, m.userId, now, false))) do
    if s.id ~= oldId then others[#others + 1] = s end
  end
  local excess = #others + 1 - maxConcurrent
  if excess > 0 then
    if onLimit == 'deny-new' then
      local out = {}
      for i, s in ipairs(others) do out[i] = redis.call('HGETALL', s.key) end
      return { 'denied', out }
    end
    for i = 1, excess do victims[i] = others[i] end
  end
end
m = changed
-- RENAME moves the hash without sending the data through Lua.
redis.call('RENAME', oldKey, newKey)
redis.call('HSET', newKey, unpack(written))
setTtl(newKey, sessionTtl(m, now))
redis.call('ZREM', uk, oldId)
redis.call('ZADD', uk, m.createdAt, newId)
extendTtl(uk, indexTtl(m, now))
-- Always a pointer, even with no grace window: then it is a tombstone at once, which writes still follow and
-- which answers a losing request with 'tombstone' rather than 'missing'.
redis.call('HSET', oldKey, 'successor', newId, 'graceUntil', ARGV[5], 'until', ARGV[6])
setTtl(oldKey, ttlUntil(num(ARGV[6]), now))
if not limited then return { 'rotated', flatten(m, flat) } end
local evicted = {}
for _, s in ipairs(victims) do
  evicted[#evicted + 1] = redis.call('HGETALL', s.key)
  redis.call('DEL', s.key)
  redis.call('ZREM', uk, s.id)
end
return { 'rotated', flatten(m, flat), evicted }
`;

/**
 * destroy. KEYS[1] = s:<id>. ARGV = prefix, id. A pointer takes its successor with it. The contract gives destroy
 * no `now`, so every pointer still stored counts as remembered (its key lives until `until` plus the GC slack).
 * Reply: `{'none'}` or `{'deleted', record}`.
 */
export const DESTROY_SCRIPT = `${PRELUDE}
local key, id = KEYS[1], ARGV[2]
local kind, flat, m = load(key)
if kind == 'record' then
  removeRecord(id, key, m)
  return { 'deleted', flat }
end
if kind == 'pointer' then
  redis.call('DEL', key)
  local sid, skey, skind, sflat, sm = follow(m)
  if skind == 'record' then
    removeRecord(sid, skey, sm)
    return { 'deleted', sflat }
  end
  return { 'none' }
end
-- Corrupted data under the id being logged out: the caller asked for this exact key to go.
if kind == 'bad' then redis.call('DEL', key) end
return { 'none' }
`;

/**
 * listByUser. KEYS[1] = u:<userId>. ARGV = prefix, userId, now.
 * Reply: a list of `{id, record}`, oldest first.
 */
export const LIST_BY_USER_SCRIPT = `${PRELUDE}
local out = {}
for _, s in ipairs(liveMembers(KEYS[1], ARGV[2], num(ARGV[3]), true)) do
  out[#out + 1] = { s.id, s.flat }
end
return out
`;

/** countByUser. KEYS[1] = u:<userId>. ARGV = prefix, userId, now. Reply: the count, as a string. */
export const COUNT_BY_USER_SCRIPT = `${PRELUDE}
return tostring(#liveMembers(KEYS[1], ARGV[2], num(ARGV[3]), false))
`;

/**
 * destroyByUser. KEYS[1] = u:<userId>. ARGV = prefix, userId, exceptId ('' for none).
 * Reply: the deleted records.
 */
export const DESTROY_BY_USER_SCRIPT = `${PRELUDE}
local uk, userId, exceptId = KEYS[1], ARGV[2], ARGV[3]
local out = {}
for _, id in ipairs(redis.call('ZRANGE', uk, 0, -1)) do
  if id ~= exceptId then
    local key = sessionKey(id)
    local kind, flat, m = load(key)
    if kind == 'record' and m.userId == userId then
      redis.call('DEL', key)
      out[#out + 1] = flat
    end
    redis.call('ZREM', uk, id)
  end
end
return out
`;

/**
 * destroyByHandle. KEYS[1] = u:<userId>. ARGV = prefix, userId, handle.
 * Reply: `{'none'}` or `{'deleted', record}`.
 */
export const DESTROY_BY_HANDLE_SCRIPT = `${PRELUDE}
local uk, userId, handle = KEYS[1], ARGV[2], ARGV[3]
for _, id in ipairs(redis.call('ZRANGE', uk, 0, -1)) do
  local key = sessionKey(id)
  local h = redis.pcall('HMGET', key, 'handle', 'userId')
  if type(h) ~= 'table' or h.err or not h[2] then
    redis.call('ZREM', uk, id)
  elseif h[1] == handle and h[2] == userId then
    local kind, flat, m = load(key)
    if kind == 'record' then
      removeRecord(id, key, m)
      return { 'deleted', flat }
    end
    redis.call('ZREM', uk, id)
  end
end
return { 'none' }
`;

/**
 * requireRotationForUser. KEYS[1] = u:<userId>. ARGV = prefix, userId.
 * Reply: how many sessions were marked, as a string.
 */
export const REQUIRE_ROTATION_SCRIPT = `${PRELUDE}
local uk, userId = KEYS[1], ARGV[2]
local marked = 0
for _, id in ipairs(redis.call('ZRANGE', uk, 0, -1)) do
  local key = sessionKey(id)
  local kind, flat, m = load(key)
  if kind == 'record' and m.userId == userId then
    local _, written = applyChanges(m, { 'rotateRequired', '1', 'rolesVersion', fmt(num(m.rolesVersion) + 1) }, true)
    redis.call('HSET', key, unpack(written))
    marked = marked + 1
  else
    redis.call('ZREM', uk, id)
  end
end
return tostring(marked)
`;

/**
 * updateUserRoles. KEYS[1] = u:<userId>. ARGV = prefix, userId, now, roles (JSON text). Every live session of the
 * user whose roles differ as a set (rolesChange) gets the new roles, rolesVersion + 1 and version + 1, and, on an
 * elevation, rotateRequired; a demotion leaves rotateRequired as it was. Expired members are dropped on the way.
 * Reply: how many sessions changed, as a string.
 */
export const UPDATE_USER_ROLES_SCRIPT = `${PRELUDE}
local uk, userId, now, roles = KEYS[1], ARGV[2], num(ARGV[3]), ARGV[4]
local after = decodeRoles(roles)
local changed = 0
for _, s in ipairs(liveMembers(uk, userId, now, true)) do
  local change = rolesChange(decodeRoles(s.m.roles), after)
  if change ~= 'same' then
    local changes = { 'roles', roles, 'rolesVersion', fmt(num(s.m.rolesVersion) + 1) }
    if change == 'elevation' then
      changes[#changes + 1] = 'rotateRequired'
      changes[#changes + 1] = '1'
    end
    local _, written = applyChanges(s.m, changes, true)
    redis.call('HSET', s.key, unpack(written))
    changed = changed + 1
  end
end
return tostring(changed)
`;

/**
 * increment. KEYS[1] = c:<key>. ARGV = prefix, now, now + windowMs.
 * Reply: `{count, resetAt}` as strings.
 */
export const INCREMENT_SCRIPT = `${PRELUDE}
local key, now = KEYS[1], num(ARGV[2])
local cur = redis.pcall('HMGET', key, 'count', 'resetAt')
if type(cur) == 'table' and not cur.err then
  local count, resetAt = num(cur[1]), num(cur[2])
  if count and resetAt and now < resetAt then
    count = fmt(count + 1)
    redis.call('HSET', key, 'count', count)
    return { count, cur[2] }
  end
end
-- First hit, window over, or garbage under the key: a new window starts now.
redis.call('DEL', key)
redis.call('HSET', key, 'count', '1', 'resetAt', ARGV[3])
setTtl(key, ttlUntil(num(ARGV[3]), now))
return { '1', ARGV[3] }
`;
