/**
 * The token bucket of memory-limiter.ts, as one Lua script so that a decision over several
 * buckets is atomic in Redis. The arithmetic is the same IEEE-754 double arithmetic, in the same
 * order, so both limiters give identical answers (the shared contract suite checks it).
 *
 * Time comes from Redis (`TIME`), so every replica sees one clock per key and replica clock
 * skew changes nothing. Only a test may pass an explicit time (ARGV[1]); see RedisRateLimiter.
 *
 * Each bucket is a hash {t: tokens, u: updated-at ms}. A full bucket is deleted (a missing key
 * means "full", exactly as in memory), and every other key expires once it would be full again,
 * plus a slack, so no key outlives its meaning.
 *
 * KEYS: the distinct bucket keys of this call (one hash slot: they share a hash tag).
 * ARGV[1]: '' for Redis TIME, else the time in ms (tests only). ARGV[2]: TTL slack in ms.
 * ARGV[3]: 'consume' or 'adjust'. Then per check: key index (1-based), capacity, refill per
 * second, cost (for adjust: one check, cost = delta).
 * Returns consume: {allowed 0/1, retryAfterMs, rejected check index (0 = none), impossible 0/1,
 * then remaining and resetMs per check}; adjust: {}.
 */
export const tokenBucketLua = `
if redis.replicate_commands then redis.replicate_commands() end
local EPS = 1e-9
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
else
  now = tonumber(ARGV[1])
end
local slack = tonumber(ARGV[2])
local mode = ARGV[3]

local function refill(tokens, elapsed, cap, rate)
  local gained = (math.max(0, elapsed) * rate) / 1000
  return math.min(cap, tokens + gained)
end

local function canPay(available, cost)
  return available - cost >= -EPS
end

local function msUntil(available, needed, cap, rate)
  if canPay(available, needed) then return 0 end
  local estimate = ((needed - available - EPS) * 1000) / rate
  local wait = math.max(1, math.ceil(estimate))
  for _ = 1, 3 do
    if canPay(refill(available, wait, cap, rate), needed) then break end
    wait = wait + 1
  end
  return wait
end

local function load(key, cap, rate)
  local h = redis.call('HMGET', key, 't', 'u')
  if not h[1] then return cap end
  return refill(tonumber(h[1]), now - tonumber(h[2]), cap, rate)
end

local function store(key, tokens, cap, rate)
  if tokens >= cap then
    redis.call('DEL', key)
    return
  end
  redis.call('HSET', key, 't', string.format('%.17g', tokens), 'u', string.format('%.17g', now))
  redis.call('PEXPIRE', key, msUntil(tokens, cap, cap, rate) + slack)
end

local checks = {}
local n = (#ARGV - 3) / 4
for i = 1, n do
  local b = 3 + (i - 1) * 4
  checks[i] = { k = tonumber(ARGV[b + 1]), cap = tonumber(ARGV[b + 2]), rate = tonumber(ARGV[b + 3]), cost = tonumber(ARGV[b + 4]) }
end

if mode == 'adjust' then
  local c = checks[1]
  local key = KEYS[c.k]
  local tokens = math.min(c.cap, load(key, c.cap, c.rate) - c.cost)
  store(key, tokens, c.cap, c.rate)
  return {}
end

local before = {}
for i = 1, n do
  local c = checks[i]
  if before[c.k] == nil then before[c.k] = load(KEYS[c.k], c.cap, c.rate) end
end
local after = {}
for k, v in pairs(before) do after[k] = v end
local retry = 0
local rejected = 0
local impossible = 0
for i = 1, n do
  local c = checks[i]
  local available = after[c.k]
  local tooBig = c.cost > c.cap
  if (not tooBig) and canPay(available, c.cost) then
    after[c.k] = available - c.cost
  else
    if tooBig then impossible = 1 end
    if rejected == 0 then rejected = i end
    local needed = c.cost
    if tooBig then needed = c.cap end
    retry = math.max(retry, msUntil(available, needed, c.cap, c.rate))
  end
end
local final = after
if rejected ~= 0 then final = before end
local out = { rejected == 0 and 1 or 0, rejected == 0 and 0 or retry, rejected, impossible }
for i = 1, n do
  local c = checks[i]
  local tokens = final[c.k]
  store(KEYS[c.k], tokens, c.cap, c.rate)
  out[#out + 1] = math.max(0, math.floor(tokens + EPS))
  out[#out + 1] = msUntil(tokens, c.cap, c.cap, c.rate)
end
return out
`;
