-- wrk script for bench/load.py. Script arguments: mode [prefix] [targets] [pace_ms]
--   get        the request given on the command line, as it is
--   subscribe  POST /api/subscribe/ with a new address every request
--   flood      POST /api/subscribe/ cycling over `targets` addresses (one sender, list bombing)
--   viral      POST /api/subscribe/, a new address from a new client address (X-Forwarded-For,
--              as a trusted proxy would add it) every request, waiting pace_ms before each
-- Prints one JSON line at the end: counts per status, p50/p99 latency, errors.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  mode = args[1] or "get"
  prefix = args[2] or "load"
  targets = tonumber(args[3] or "1")
  pace = tonumber(args[4] or "0")
  counter = 0
  statuses = {}
end

function delay()
  return pace
end

function request()
  if mode == "get" then
    return wrk.format()
  end
  counter = counter + 1
  local email
  if mode == "flood" then
    email = string.format("%s-target%d@example.org", prefix, counter % targets)
  else
    email = string.format("%s-%d-%d@example.org", prefix, id, counter)
  end
  local body = '{"email": "' .. email .. '", "consent": true}'
  local headers = {["Content-Type"] = "application/json"}
  if mode == "viral" then
    local n = id * 100000 + counter
    headers["X-Forwarded-For"] = string.format("100.%d.%d.%d",
      64 + math.floor(n / 65536) % 64, math.floor(n / 256) % 256, n % 256)
  end
  return wrk.format("POST", "/api/subscribe/", headers, body)
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do
      counts[code] = (counts[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout, table.concat(parts, ", ")))
end
