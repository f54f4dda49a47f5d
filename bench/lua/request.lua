-- One request shape for every scenario, driven by environment variables set by the harness:
--   BENCH_METHOD, BENCH_PATH, BENCH_BODY, BENCH_TOKEN, BENCH_CONTENT_TYPE, BENCH_IF_MATCH
--   BENCH_IDS   a file of task ids, one a line; "{id}" in the path is replaced by the next id;
--               a line "<id> <token>" also sends that token (the id's owner) with the request
--   BENCH_TOKENS  a file of tokens, one a line, taken in turn, one per request (many users)
--   BENCH_ONCE  "1": each id is used once (delete, complete); else ids are reused round robin
--   BENCH_KEY_PREFIX  send a fresh Idempotency-Key per request: prefix, thread, counter
-- "{n}" in the body becomes a per-thread counter, so every PATCH really changes the task.
-- done() prints one JSON line that the harness parses (wrk's own summary goes before it).

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter - 1)
  table.insert(threads, thread)
end

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local body = os.getenv("BENCH_BODY")
local once = os.getenv("BENCH_ONCE") == "1"
local key_prefix = os.getenv("BENCH_KEY_PREFIX")
local headers = {}
local ids = {}
local owners = {}  -- owners[i]: the token sent with ids[i], if its line named one
local tokens = {}
local next_id = 1
local n = 0
non2xx = 0
exhausted = 0

function init(args)
  local token = os.getenv("BENCH_TOKEN")
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  local content_type = os.getenv("BENCH_CONTENT_TYPE")
  if content_type and content_type ~= "" then headers["Content-Type"] = content_type end
  local file = os.getenv("BENCH_IDS")
  if file and file ~= "" then
    local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
    local line_no = 0
    for line in io.lines(file) do
      -- each thread takes every nthreads-th line, so no id is used by two threads
      if line_no % nthreads == tid then
        local id, owner = line:match("^(%S+)%s*(%S*)$")
        table.insert(ids, id)
        table.insert(owners, owner)
      end
      line_no = line_no + 1
    end
  end
  local token_file = os.getenv("BENCH_TOKENS")
  if token_file and token_file ~= "" then
    for line in io.lines(token_file) do table.insert(tokens, line) end
  end
end

local function take_id()
  if ids[next_id] == nil then
    exhausted = exhausted + 1
    next_id = 1
  end
  local id, owner = ids[next_id], owners[next_id]
  next_id = next_id + 1
  if not once and next_id > #ids then next_id = 1 end
  return id, owner
end

function request()
  n = n + 1
  local p = path
  if #tokens > 0 then headers["Authorization"] = "Bearer " .. tokens[n % #tokens + 1] end
  if #ids > 0 then
    local id, owner = take_id()
    p = string.gsub(path, "{id}", id)
    if owner ~= "" then headers["Authorization"] = "Bearer " .. owner end
  end
  local b = body
  if b then b = string.gsub(b, "{n}", tostring(n)) end
  if key_prefix and key_prefix ~= "" then
    headers["Idempotency-Key"] = key_prefix .. "-" .. tostring(tid) .. "-" .. tostring(n)
  end
  return wrk.format(method, p, headers, b)
end

function response(status, hdrs, resp_body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local bad, ran_out = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    ran_out = ran_out + thread:get("exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    '\nBENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "non2xx": %d, "socket_errors": %d, "ids_exhausted": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, bad,
    e.connect + e.read + e.write + e.timeout, ran_out))
end
