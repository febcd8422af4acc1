/**
 * Budget counters as one Lua script per decision (redis-budget-ledger.ts), so every replica's
 * reserve and settle is atomic over all the budgets of a request.
 *
 * Keys (one hash tag, the team, so a request's budgets share a Redis Cluster slot):
 * KEYS[1] ZSET of reservation ids scored by expiry (ms); KEYS[2] HASH reservation id →
 * "<amount> <counter key> <counter key>…" (what to give back when it expires);
 * KEYS[3..] one HASH per budget window {s: spent, r: reserved}, whole picodollars.
 *
 * Amounts stay exact: counters change only through HINCRBY (Redis 64-bit integers), and
 * comparisons are done on their decimal strings (Lua numbers are doubles, exact only up to
 * 2^53 pUSD ≈ $9,007, below a large monthly budget).
 *
 * ARGV[1] mode ('reserve' | 'settle'); ARGV[2] now in ms, '' for Redis TIME (tests pass a clock);
 * ARGV[3] reservation id.
 * reserve: ARGV[4] amount, ARGV[5] hold ms, then per counter: hard limit ('' none), expire-at ms
 *   ('' never: lifetime). Returns {allowed 0/1, rejected counter (1-based, 0 none), then spent
 *   and reserved per counter as decimal strings}.
 * settle: ARGV[4] actual cost, then per counter: soft limit ('' none), expire-at ms. Returns {held 0/1, then
 *   crossed 0/1 and spent per counter}. A settle whose reservation already expired still adds
 *   its cost to spent (the money was spent) but takes nothing from reserved (expiry did).
 * Every call first drops up to 64 expired reservations of the team. The two reservation keys have
 * no TTL on purpose: an expired reservation must still be found to be taken out of `reserved`
 * (a lifetime counter would otherwise stay inflated for ever); Redis deletes them when empty.
 */
export const budgetLua = `
if redis.replicate_commands then redis.replicate_commands() end
local mode = ARGV[1]
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[2])
end
local id = ARGV[3]

local function strip(a)
  if a == false or a == nil or a == '' or string.sub(a, 1, 1) == '-' then return '0' end
  local s = string.gsub(a, '^0+', '')
  if s == '' then return '0' end
  return s
end
local function add(a, b)
  a = strip(a); b = strip(b)
  local out = {}
  local carry = 0
  local i, j = #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry
    if i > 0 then d = d + string.byte(a, i) - 48 end
    if j > 0 then d = d + string.byte(b, j) - 48 end
    out[#out + 1] = string.char(48 + d % 10)
    carry = math.floor(d / 10)
    i = i - 1
    j = j - 1
  end
  return strip(string.reverse(table.concat(out)))
end
local function le(a, b)
  a = strip(a); b = strip(b)
  if #a ~= #b then return #a < #b end
  return a <= b
end

local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 64)
for _, gone in ipairs(expired) do
  local v = redis.call('HGET', KEYS[2], gone)
  if v then
    local amount = nil
    for part in string.gmatch(v, '%S+') do
      -- A counter that expired meanwhile (an idle team, a window long over) is not recreated.
      if amount == nil then amount = part elseif amount ~= '0' and redis.call('EXISTS', part) == 1 then redis.call('HINCRBY', part, 'r', '-' .. amount) end
    end
    redis.call('HDEL', KEYS[2], gone)
  end
  redis.call('ZREM', KEYS[1], gone)
end

local n = #KEYS - 2
if mode == 'reserve' then
  local amount = ARGV[4]
  local hold = tonumber(ARGV[5])
  local out = { 1, 0 }
  local rejected = 0
  for i = 1, n do
    local key = KEYS[i + 2]
    local limit = ARGV[4 + 2 * i]
    local h = redis.call('HMGET', key, 's', 'r')
    local s, r = strip(h[1]), strip(h[2])
    if rejected == 0 and limit ~= '' and not le(add(add(s, r), amount), limit) then rejected = i end
    out[#out + 1] = s
    out[#out + 1] = r
  end
  if rejected ~= 0 then
    out[1] = 0
    out[2] = rejected
    return out
  end
  local held = { amount }
  for i = 1, n do
    local key = KEYS[i + 2]
    redis.call('HINCRBY', key, 'r', amount)
    out[2 + 2 * i] = strip(redis.call('HGET', key, 'r'))
    local expireAt = ARGV[5 + 2 * i]
    if expireAt ~= '' then redis.call('PEXPIREAT', key, expireAt) end
    held[#held + 1] = key
  end
  redis.call('ZADD', KEYS[1], now + hold, id)
  redis.call('HSET', KEYS[2], id, table.concat(held, ' '))
  return out
end

-- settle
local actual = ARGV[4]
local v = redis.call('HGET', KEYS[2], id)
local amount = nil
if v then
  amount = string.match(v, '^%S+')
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
end
local out = { v and 1 or 0 }
for i = 1, n do
  local key = KEYS[i + 2]
  if amount and amount ~= '0' then redis.call('HINCRBY', key, 'r', '-' .. amount) end
  local before = strip(redis.call('HGET', key, 's'))
  redis.call('HINCRBY', key, 's', actual)
  local after = strip(redis.call('HGET', key, 's'))
  local expireAt = ARGV[4 + 2 * i]
  if expireAt ~= '' then redis.call('PEXPIREAT', key, expireAt) end
  local soft = ARGV[3 + 2 * i]
  local crossed = 0
  if soft ~= '' and not le(soft, before) and le(soft, after) then crossed = 1 end
  out[#out + 1] = crossed
  out[#out + 1] = after
end
return out
`;
