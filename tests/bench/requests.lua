-- wrk script for tests/bench/bench_webhooks.py: sends precomputed raw HTTP
-- requests read from a file, and prints one JSON line of results.
--
-- Environment (read by every Lua state wrk makes):
--   BENCH_REQUESTS  the file: for each request "<length>\n<raw bytes>"
--                   (the request line, headers with Host and
--                   Content-Length, the body), as bench_webhooks.py
--                   writes them
--   BENCH_THREADS   wrk's -t: thread i keeps requests i, i + T, i + 2T...,
--                   so no two threads send the same one
--   BENCH_DELAY_MS  if set, each connection waits this long before each
--                   request (a moderate, steady rate for the soak)
--   BENCH_STATUSES  if set, count the answers by HTTP status (costs wrk
--                   some CPU: only for the overload runs)
--   BENCH_BACKOFF_MS  if set (with BENCH_STATUSES), after a 429 or 503 the
--                   thread's next request waits this long, as a provider
--                   backs off; without it wrk sends the next at once
--
-- A thread that has sent all of its requests starts again from its first
-- and counts the wrap (the driver sizes the file so that it does not).

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("id", #threads)
end

function init(args)
  local path = os.getenv("BENCH_REQUESTS")
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  reqs, next_req, wraps, statuses = {}, 0, 0, {}
  local pos, i = 1, 0
  while pos <= #data do
    local nl = data:find("\n", pos, true)
    local len = tonumber(data:sub(pos, nl - 1))
    if i % nthreads == id - 1 then
      reqs[#reqs + 1] = data:sub(nl + 1, nl + len)
    end
    i = i + 1
    pos = nl + 1 + len
  end
  -- A thread without requests would leave its connections silent.
  assert(#reqs > 0, "no requests for wrk thread " .. id)
  data = nil
  collectgarbage()
  if not os.getenv("BENCH_STATUSES") then
    response = nil
  end
end

local refused = 0
if os.getenv("BENCH_DELAY_MS") then
  local ms = tonumber(os.getenv("BENCH_DELAY_MS"))
  function delay()
    return ms
  end
elseif os.getenv("BENCH_BACKOFF_MS") then
  local ms = tonumber(os.getenv("BENCH_BACKOFF_MS"))
  function delay()
    if refused > 0 then
      refused = refused - 1
      return ms
    end
    return 0
  end
end

function request()
  next_req = next_req + 1
  if next_req > #reqs then
    next_req = 1
    wraps = wraps + 1
  end
  return reqs[next_req]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 429 or status == 503 then
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local out, codes, wrapped = {}, {}, 0
  for _, t in ipairs(threads) do
    wrapped = wrapped + (t:get("wraps") or 0)
    for code, n in pairs(t:get("statuses") or {}) do
      codes[#codes + 1] = string.format('[%d, %d]', code, n)
    end
  end
  local e = summary.errors
  out[#out + 1] = string.format('"requests": %d, "duration_us": %d',
    summary.requests, summary.duration)
  out[#out + 1] = string.format('"errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}', e.connect, e.read,
    e.write, e.status, e.timeout)
  out[#out + 1] = string.format('"latency_us": {"mean": %.1f, ' ..
    '"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d}',
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max)
  out[#out + 1] = '"statuses": [' .. table.concat(codes, ", ") .. ']'
  out[#out + 1] = string.format('"wraps": %d', wrapped)
  io.write("BENCH_JSON {" .. table.concat(out, ", ") .. "}\n")
end
