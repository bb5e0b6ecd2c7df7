"""The Lua scripts of the Redis engine: each runs atomically, so no write of another process
can come between its reads and its writes (compare-and-set without WATCH loops)."""

# Seed (ARGV[1] "seed": only if the marker KEYS[1] is missing, and never over a key that exists)
# or replace (ARGV[1] "replace": delete every part first). KEYS: marker, settings, preferences,
# outbox, pending, dedupe set, dedupe order, inbox users, methods. ARGV[2] the generation,
# ARGV[3] the inbox key prefix, then counted groups (see RedisState._state_args).
WRITE_STATE = """
if ARGV[1] == 'replace' then
  for _, user in ipairs(redis.call('SMEMBERS', KEYS[8])) do redis.call('DEL', ARGV[3] .. user) end
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9])
  redis.call('SET', KEYS[1], ARGV[2])
elseif not redis.call('SET', KEYS[1], ARGV[2], 'NX') then
  return 0
end
local i = 4
local function count() i = i + 1; return tonumber(ARGV[i - 1]) end
redis.call('SET', KEYS[2], ARGV[i], 'NX'); i = i + 1
for _ = 1, count() do redis.call('HSETNX', KEYS[3], ARGV[i], ARGV[i + 1]); i = i + 2 end
for k = 4, 5 do
  local fresh = redis.call('EXISTS', KEYS[k]) == 0
  for _ = 1, count() do
    if fresh then redis.call('RPUSH', KEYS[k], ARGV[i]) end
    i = i + 1
  end
end
for _ = 1, count() do
  local key = ARGV[3] .. ARGV[i]
  local fresh = redis.call('EXISTS', key) == 0
  redis.call('SADD', KEYS[8], ARGV[i]); i = i + 1
  for _ = 1, count() do
    if fresh then redis.call('RPUSH', key, ARGV[i]) end
    i = i + 1
  end
end
for _ = 1, count() do redis.call('HSETNX', KEYS[9], ARGV[i], ARGV[i + 1]); i = i + 2 end
for _ = 1, count() do
  if redis.call('SADD', KEYS[6], ARGV[i]) == 1 then redis.call('RPUSH', KEYS[7], ARGV[i]) end
  i = i + 1
end
return 1
"""

# Store the settings unless they are stored already: 1 for the one writer that changed them.
CHANGE_SETTINGS = """
if (redis.call('GET', KEYS[1]) or '') == ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""

# Merge changes into a user's rows in place (first-stored order kept) and return them all.
UPSERT = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local rows = raw and cjson.decode(raw) or {}
local at = {}
for i, row in ipairs(rows) do at[row.id] = i end
for _, change in ipairs(cjson.decode(ARGV[3])) do
  local row = {id = change[1], disabled = change[2], updated_at = ARGV[2]}
  if at[change[1]] then rows[at[change[1]]] = row else
    rows[#rows + 1] = row
    at[change[1]] = #rows
  end
end
local encoded = '[]'
if #rows > 0 then encoded = cjson.encode(rows) end
redis.call('HSET', KEYS[1], ARGV[1], encoded)
return encoded
"""

# Append messages sent and held and inbox rows at once, unless the dedupe key (ARGV[1]) is
# known; then drop the oldest beyond the limits, counting them in KEYS[6].
# KEYS: outbox, pending, dedupe set, inbox users, dedupe order, dropped, then one per inbox row.
# ARGV: key, #sent, #held, outbox limit, inbox limit, dedupe limit, the sent, the held, then
# (user id, row) per inbox row.
RECORD = """
local function trim(key, limit, part)
  local over = redis.call('LLEN', key) - limit
  if over > 0 then
    redis.call('LTRIM', key, over, -1)
    redis.call('HINCRBY', KEYS[6], part, over)
  end
end
if ARGV[1] ~= '' then
  if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then return 0 end
  redis.call('RPUSH', KEYS[5], ARGV[1])
  if redis.call('LLEN', KEYS[5]) > tonumber(ARGV[6]) then
    redis.call('SREM', KEYS[3], redis.call('LPOP', KEYS[5]))
    redis.call('HINCRBY', KEYS[6], 'dedupe', 1)
  end
end
local i = 7
for _ = 1, tonumber(ARGV[2]) do redis.call('RPUSH', KEYS[1], ARGV[i]); i = i + 1 end
for _ = 1, tonumber(ARGV[3]) do redis.call('RPUSH', KEYS[2], ARGV[i]); i = i + 1 end
trim(KEYS[1], tonumber(ARGV[4]), 'outbox')
trim(KEYS[2], tonumber(ARGV[4]), 'pending')
for k = 7, #KEYS do
  redis.call('SADD', KEYS[4], ARGV[i]); redis.call('RPUSH', KEYS[k], ARGV[i + 1]); i = i + 2
  trim(KEYS[k], tonumber(ARGV[5]), 'inbox')
end
return 1
"""

# Append one journal entry and keep the newest ARGV[2], counting what falls out in KEYS[2].
JOURNAL_APPEND = """
redis.call('RPUSH', KEYS[1], ARGV[1])
local over = redis.call('LLEN', KEYS[1]) - tonumber(ARGV[2])
if over > 0 then
  redis.call('LTRIM', KEYS[1], over, -1)
  redis.call('HINCRBY', KEYS[2], 'journal', over)
end
"""

# Count one firing of a limited fault: calls left after it, or -1 when another process used it up.
COUNT_DOWN = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
local left = redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]); redis.call('HDEL', KEYS[2], ARGV[1]) end
return left
"""
