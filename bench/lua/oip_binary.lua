-- wrk script for bench/steps/protocols.sh: replays one OIP binary tensor data request (written byte for byte by
-- `Sharpserve.LoadClient body --case http-binary`) against POST /v2/models/{model}/infer, and checks every answer:
-- 200, binary (the Inference-Header-Content-Length header) and longer than its JSON part. wrk counts non-2xx
-- itself; "bad" counts 200s that fail the other checks. Writes the JSON summary bench.lua writes, plus "bad".
--
-- Environment:
--   BENCH_BODY           the request body file
--   BENCH_HEADER_LENGTH  its JSON part's length (what `body` printed), sent as Inference-Header-Content-Length
--   BENCH_JSON           file that done() writes the summary to (one JSON object)

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(assert(os.getenv("BENCH_BODY"), "BENCH_BODY is not set"), "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/octet-stream"
  wrk.headers["Inference-Header-Content-Length"] = assert(os.getenv("BENCH_HEADER_LENGTH"), "BENCH_HEADER_LENGTH is not set")
  bad = 0
end

function response(status, headers, body)
  if status == 200 then
    local json = tonumber(headers["Inference-Header-Content-Length"] or headers["inference-header-content-length"])
    if json == nil or #body <= json then
      bad = bad + 1
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local bad_total = 0
  for _, thread in ipairs(threads) do
    bad_total = bad_total + (thread:get("bad") or 0)
  end
  local out = string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
    '"errors_status":%d,"errors_timeout":%d,"bad":%d,"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,' ..
    '"lat_p99_us":%d,"lat_p999_us":%d,"lat_max_us":%d}',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout, bad_total,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max)
  local path = os.getenv("BENCH_JSON")
  if path then
    local f = assert(io.open(path, "w"))
    f:write(out, "\n")
    f:close()
  else
    io.write(out, "\n")
  end
end
