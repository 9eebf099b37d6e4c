/**
 * Lua scripts behind {@link RedisTokenStore}: one script per operation that reads and writes, so each is a single
 * atomic round trip (Redis runs a script to completion before any other command). `checkAccess` needs no script:
 * it is one MGET.
 *
 * Conventions (those of the session store's scripts, `redis-scripts.ts`):
 * - `ARGV[1]` is the key prefix; scripts derive the user's keys from it and from the user id that the router key
 *   (`KEYS[1]`) holds. See the key layout in `redis-token.store.ts`.
 * - Every decision compares with the `now` passed in ARGV, never Redis TIME. Key TTLs are `deadline - now` (ms,
 *   at least 1), so no key outlives its logical end, and a virtual clock in tests never deletes a live key.
 * - Numbers computed in Lua are written with `%.17g` (exact for a double); replies hold strings and arrays only.
 *
 * @internal Not part of the public API.
 */

/** Index entries checked per `createFamily` for a family Redis has already expired (see the script). */
export const PRUNE_ON_CREATE = 16;

/** Helpers every token script starts with. `PREFIX` is `ARGV[1]`. */
const PRELUDE = `
local PREFIX = ARGV[1]
local function num(v)
  local n = tonumber(v)
  if n == nil or n ~= n or n == math.huge or n == -math.huge then return nil end
  return n
end
local function fmt(n) return string.format('%.17g', n) end
local function userPart(userId) return PREFIX .. '{u:' .. userId .. '}:' end
-- A string key's value, or nil when absent or of another type (corrupted data reads as missing).
local function get(key)
  local v = redis.pcall('GET', key)
  if type(v) ~= 'string' or v == '' then return nil end
  return v
end
local function ttl(deadline, now) return string.format('%.0f', math.max(math.ceil(deadline - now), 1)) end

local function hash(key)
  local flat = redis.pcall('HGETALL', key)
  if type(flat) ~= 'table' or flat.err or #flat == 0 then return nil, nil end
  local m = {}
  for i = 1, #flat, 2 do m[flat[i]] = flat[i + 1] end
  return m, flat
end

-- A family as stored, or nil when absent or unreadable (corrupted data reads as missing).
local FAMILY_NUMBERS = { 'aal', 'authTime', 'createdAt', 'absoluteExpiresAt' }
local function loadFamily(U, familyId, userId)
  local f, flat = hash(U .. 'f:' .. familyId)
  if not f then return nil end
  for _, k in ipairs(FAMILY_NUMBERS) do if num(f[k]) == nil then return nil end end
  if f.familyId ~= familyId or f.userId ~= userId or f.clientId == nil or f.scope == nil then return nil end
  if f.revokedAt ~= '' and num(f.revokedAt) == nil then return nil end
  return f, flat
end

local function isLive(f, now) return f.revokedAt == '' and now < num(f.absoluteExpiresAt) end

local function revoke(U, f, now)
  redis.call('HSET', U .. 'f:' .. f.familyId, 'revokedAt', fmt(now))
  redis.call('ZREM', U .. 'fams', f.familyId)
end

-- A refresh token as stored, or nil when absent or unreadable.
local function loadToken(U, tokenId)
  local t = hash(U .. 't:' .. tokenId)
  if not t or t.familyId == nil or t.familyId == '' or num(t.idleExpiresAt) == nil then return nil end
  if t.usedAt ~= '' and (num(t.usedAt) == nil or num(t.graceUntil) == nil or t.successorId == nil or t.sealedSuccessor == nil) then
    return nil
  end
  return t
end

-- Stores a fresh refresh token of family f (hash under the user's tag, router to the user), both expiring at its
-- idle deadline (capped at the family's absolute deadline).
local function putToken(U, userId, tokenId, familyId, idleExpiresAt, now)
  local key = U .. 't:' .. tokenId
  redis.call('HSET', key, 'familyId', familyId, 'idleExpiresAt', fmt(idleExpiresAt), 'usedAt', '', 'graceUntil', '',
    'successorId', '', 'sealedSuccessor', '')
  redis.call('PEXPIRE', key, ttl(idleExpiresAt, now))
  redis.call('SET', PREFIX .. 'r:' .. tokenId, userId, 'PX', ttl(idleExpiresAt, now))
end
`;

/**
 * createFamily. KEYS[1] = r:<tokenId>, KEYS[2] = f:<familyId> (routers). ARGV = prefix, now, idleTimeoutMs, tokenId,
 * then the family's fields as field/value pairs (familyId, userId, clientId, scope, aal, authTime, createdAt,
 * absoluteExpiresAt). Reply: 'exists' or 'created'.
 */
export const CREATE_FAMILY_SCRIPT = `${PRELUDE}
local now, idleTimeoutMs, tokenId = num(ARGV[2]), num(ARGV[3]), ARGV[4]
local f, fields = {}, {}
for i = 5, #ARGV, 2 do
  f[ARGV[i]] = ARGV[i + 1]
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
end
local U = userPart(f.userId)
local familyKey = U .. 'f:' .. f.familyId
if redis.call('EXISTS', KEYS[1], KEYS[2], familyKey, U .. 't:' .. tokenId) > 0 then return 'exists' end
local absolute = num(f.absoluteExpiresAt)
redis.call('HSET', familyKey, 'revokedAt', '', unpack(fields))
redis.call('PEXPIRE', familyKey, ttl(absolute, now))
redis.call('SET', KEYS[2], f.userId, 'PX', ttl(absolute, now))
local index = U .. 'fams'
-- Drop a few index entries whose family Redis has already expired, oldest first, so the index of a user who signs in
-- often and never lists or logs out everywhere stays near the number of live families.
for _, other in ipairs(redis.call('ZRANGE', index, 0, ${PRUNE_ON_CREATE - 1})) do
  if redis.call('EXISTS', U .. 'f:' .. other) == 0 then redis.call('ZREM', index, other) end
end
redis.call('ZADD', index, f.createdAt, f.familyId)
if redis.call('PTTL', index) < absolute - now then redis.call('PEXPIRE', index, ttl(absolute, now)) end
putToken(U, f.userId, tokenId, f.familyId, math.min(now + idleTimeoutMs, absolute), now)
return 'created'
`;

/**
 * rotateRefresh. KEYS[1] = r:<tokenId>. ARGV = prefix, tokenId, successorId, sealedSuccessor, now, idleTimeoutMs,
 * graceMs. Reply: {'missing'}, {'exists'} (the successor id is taken), {'expired'|'rotated'|'reused', family} or
 * {'grace', family, successorId, sealedSuccessor}; family is the family hash's HGETALL reply.
 *
 * Order of the checks: the family (gone, revoked or past its absolute deadline: expired), then a used token
 * (within its grace window: the stored successor; after it: reuse, unless the token idled out meanwhile), then the
 * idle deadline of an unused token.
 */
export const ROTATE_REFRESH_SCRIPT = `${PRELUDE}
local tokenId, successorId, sealed = ARGV[2], ARGV[3], ARGV[4]
local now, idleTimeoutMs, graceMs = num(ARGV[5]), num(ARGV[6]), num(ARGV[7])
local userId = get(KEYS[1])
if not userId then return { 'missing' } end
local U = userPart(userId)
local t = loadToken(U, tokenId)
if not t then return { 'missing' } end
local f, flat = loadFamily(U, t.familyId, userId)
if not f then return { 'missing' } end
if not isLive(f, now) then return { 'expired', flat } end
if t.usedAt ~= '' then
  if now < num(t.graceUntil) then return { 'grace', flat, t.successorId, t.sealedSuccessor } end
  if now >= num(t.idleExpiresAt) then return { 'expired', flat } end
  revoke(U, f, now)
  return { 'reused', flat }
end
if now >= num(t.idleExpiresAt) then return { 'expired', flat } end
if redis.call('EXISTS', PREFIX .. 'r:' .. successorId, U .. 't:' .. successorId) > 0 then return { 'exists' } end
local graceUntil = now + graceMs
local key = U .. 't:' .. tokenId
redis.call('HSET', key, 'usedAt', fmt(now), 'graceUntil', fmt(graceUntil), 'successorId', successorId, 'sealedSuccessor', sealed)
-- The used token is kept to its idle deadline (to detect reuse), or through its grace window if that is later.
local keep = math.max(num(t.idleExpiresAt), graceUntil)
redis.call('PEXPIRE', key, ttl(keep, now))
redis.call('PEXPIRE', KEYS[1], ttl(keep, now))
putToken(U, userId, successorId, f.familyId, math.min(now + idleTimeoutMs, num(f.absoluteExpiresAt)), now)
redis.call('HSET', U .. 'f:' .. f.familyId, 'live', successorId)
return { 'rotated', flat }
`;

/**
 * revokeFamilyOfToken (KEYS[1] = r:<tokenId>, ARGV = prefix, now, tokenId) and revokeFamily (KEYS[1] = f:<familyId>,
 * ARGV = prefix, now, '', familyId): ends the live family the router leads to. Reply: {'none'} or {'revoked', family}.
 */
export const REVOKE_FAMILY_SCRIPT = `${PRELUDE}
local now = num(ARGV[2])
local userId = get(KEYS[1])
if not userId then return { 'none' } end
local U = userPart(userId)
local familyId = ARGV[4]
if ARGV[3] ~= '' then
  local t = loadToken(U, ARGV[3])
  if not t then return { 'none' } end
  familyId = t.familyId
end
local f, flat = loadFamily(U, familyId, userId)
if not f or not isLive(f, now) then return { 'none' } end
revoke(U, f, now)
return { 'revoked', flat }
`;

/**
 * revokeAllForUser. KEYS[1] = {u:<userId>}:fams, KEYS[2] = {u:<userId>}:nb. ARGV = prefix, userId, notBefore, until,
 * now. Ends every live family of the user and moves the user's cut-off forward (never back): notBefore and until
 * each become the later of the stored and the given value. Reply: the number of live families ended (a string).
 */
export const REVOKE_ALL_SCRIPT = `${PRELUDE}
local userId, notBefore, untilMs, now = ARGV[2], num(ARGV[3]), num(ARGV[4]), num(ARGV[5])
local U = userPart(userId)
local ended = 0
for _, familyId in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f = loadFamily(U, familyId, userId)
  if f and isLive(f, now) then
    revoke(U, f, now)
    ended = ended + 1
  end
end
redis.call('DEL', KEYS[1])
local stored = get(KEYS[2])
if stored then
  local nb, u = string.match(stored, '^([^:]+):([^:]+)$')
  if num(nb) and num(u) and num(u) > now then
    notBefore = math.max(notBefore, num(nb))
    untilMs = math.max(untilMs, num(u))
  end
end
if untilMs > now then
  redis.call('SET', KEYS[2], fmt(notBefore) .. ':' .. fmt(untilMs), 'PX', ttl(untilMs, now))
end
return tostring(ended)
`;

/**
 * listFamilies. KEYS[1] = {u:<userId>}:fams. ARGV = prefix, userId, now. Drops index entries of families that are
 * gone, unreadable, revoked or past their absolute deadline. Reply: the live families' HGETALL replies, in index
 * order (createdAt, then familyId).
 */
export const LIST_FAMILIES_SCRIPT = `${PRELUDE}
local userId, now = ARGV[2], num(ARGV[3])
local U = userPart(userId)
local out = {}
for _, familyId in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f, flat = loadFamily(U, familyId, userId)
  if f and isLive(f, now) then out[#out + 1] = flat else redis.call('ZREM', KEYS[1], familyId) end
end
return out
`;

/**
 * denyAccessToken and denySession. KEYS[1] = j:<jti> or s:<sid>. ARGV = prefix, until, now. Keeps the later of the
 * stored and the given deadline (idempotent, never shortened). Reply: '1'.
 */
export const DENY_SCRIPT = `${PRELUDE}
local untilMs, now = num(ARGV[2]), num(ARGV[3])
local stored = num(get(KEYS[1]))
if stored and stored >= untilMs then return '1' end
if untilMs > now then redis.call('SET', KEYS[1], fmt(untilMs), 'PX', ttl(untilMs, now)) end
return '1'
`;
