-- wrk script for every load in bench/run.sh: POST /labelservice/ texts, and write a JSON summary.
-- Runs are bounded by wrk's -d duration (wrk keeps its clock running to -d even after wrk.thread:stop(), so
-- counting requests in Lua does not shorten a run; run.sh uses short durations instead).
--
-- Environment:
--   BENCH_TEXTS  "lang" (default): eight fixed sentences in the demo model's languages, in rotation;
--                "random:ENTRIES:WORDS": each request is WORDS tokens "w<hex i>" with i drawn at random in
--                [0, ENTRIES), the keys of bench/python/dict_model.py, so requests touch the whole model
--                (deterministic: each wrk thread seeds its generator with its index)
--   BENCH_JSON   file that done() writes the summary to (one JSON object)

local lang_texts = {
  "Bonjour, je voudrais un café s'il vous plaît",
  "Guten Morgen, wie geht es dir heute?",
  "The weather is lovely this afternoon",
  "Buenos días, ¿cómo estás?",
  "Buongiorno, vorrei un caffè per favore",
  "Bom dia, tudo bem com você?",
  "Goedemorgen, hoe gaat het met je?",
  "God morgon, hur mår du idag?",
}

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

local mode, entries, words
local i = 0

function init(args)
  local spec = os.getenv("BENCH_TEXTS") or "lang"
  local m, e, w = spec:match("^(random):(%d+):(%d+)$")
  if m then
    mode, entries, words = "random", tonumber(e), tonumber(w)
  else
    mode = "lang"
  end
  math.randomseed(1000 + (index or 0))
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/plain; charset=utf-8"
end

function request()
  i = i + 1
  local body
  if mode == "random" then
    local parts = {}
    for j = 1, words do parts[j] = string.format("w%x", math.random(0, entries - 1)) end
    body = table.concat(parts, " ")
  else
    body = lang_texts[(i % #lang_texts) + 1]
  end
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  local out = string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
    '"errors_status":%d,"errors_timeout":%d,"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,' ..
    '"lat_p99_us":%d,"lat_p999_us":%d,"lat_max_us":%d}',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
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
