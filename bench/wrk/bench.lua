-- One script for every workload (the path is wrk's URL), configured by environment
-- variables that bench/run.py sets: BENCH_METHOD, BENCH_TOKENS (comma-separated
-- bearers, rotated per request), BENCH_BODY (json: unique resource bodies,
-- item: unique bodies of the FastAPI template's item, login: sign-ins rotated
-- over BENCH_EMAILS, form_login: the same as the template's OAuth2 form),
-- BENCH_HOST, BENCH_EXPECT (status).
-- done() prints one JSON line that run.py parses.

local method = os.getenv("BENCH_METHOD") or "GET"
local body_kind = os.getenv("BENCH_BODY") or ""
local expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
local password = os.getenv("BENCH_PASSWORD") or ""

local function split(text)
  local items = {}
  for item in string.gmatch(text or "", "[^,]+") do
    items[#items + 1] = item
  end
  return items
end

local tokens = split(os.getenv("BENCH_TOKENS"))
local emails = split(os.getenv("BENCH_EMAILS"))
local base_headers = {}
if os.getenv("BENCH_HOST") then
  base_headers["Host"] = os.getenv("BENCH_HOST")
end
if os.getenv("BENCH_FORWARDED_PROTO") then
  -- What the production proxy in front of the web server adds (Render terminates TLS).
  base_headers["X-Forwarded-Proto"] = os.getenv("BENCH_FORWARDED_PROTO")
end
if body_kind == "form_login" then
  base_headers["Content-Type"] = "application/x-www-form-urlencoded"
elseif body_kind ~= "" then
  base_headers["Content-Type"] = "application/json"
end

-- Per-thread state; done() reads it back through thread:get().
unexpected = 0
last_unexpected = 0
sent = 0
thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  threads[#threads + 1] = thread
end

local filler = string.rep("x", 120)

function request()
  sent = sent + 1
  local headers = {}
  for name, value in pairs(base_headers) do
    headers[name] = value
  end
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(sent % #tokens) + 1]
  end
  local body = nil
  if body_kind == "json" then
    body = string.format(
      '{"title":"bench %d-%d","description":"%s","data":{"n":%d}}',
      thread_id, sent, filler, sent
    )
  elseif body_kind == "item" then
    -- The template's item has no free-form field: its description carries the
    -- filler and the counter, so the body stays about the size of the json one.
    body = string.format(
      '{"title":"bench %d-%d","description":"%s n=%d"}', thread_id, sent, filler, sent
    )
  elseif body_kind == "login" then
    body = string.format(
      '{"email":"%s","password":"%s"}', emails[(sent % #emails) + 1], password
    )
  elseif body_kind == "form_login" then
    local email = (emails[(sent % #emails) + 1]:gsub("@", "%%40"))
    body = "username=" .. email .. "&password=" .. password
  end
  return wrk.format(method, nil, headers, body)
end

function response(status, headers, body)
  if status ~= expect then
    unexpected = unexpected + 1
    last_unexpected = status
  end
end

function done(summary, latency, requests)
  local wrong, last = 0, 0
  for _, thread in ipairs(threads) do
    wrong = wrong + (thread:get("unexpected") or 0)
    if (thread:get("last_unexpected") or 0) ~= 0 then
      last = thread:get("last_unexpected")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"unexpected_status":%d,"last_unexpected_status":%d,"status_errors":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, wrong, last, e.status, e.connect, e.read, e.write, e.timeout
  ))
end
