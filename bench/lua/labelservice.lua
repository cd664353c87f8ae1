-- wrk script: POST a rotating set of texts to /labelservice/ and stop after a bounded number of requests.
-- Each wrk thread stops itself after max_requests / threads responses, so a run is bounded in count and time.
local texts = {
  "Bonjour, je voudrais un café s'il vous plaît",
  "Guten Morgen, wie geht es dir heute?",
  "The weather is lovely this afternoon",
  "Buenos días, ¿cómo estás?",
  "Buongiorno, vorrei un caffè per favore",
  "Bom dia, tudo bem com você?",
  "Goedemorgen, hoe gaat het met je?",
  "God morgon, hur mår du idag?",
}

local max_requests = tonumber(os.getenv("MAX_REQUESTS") or "10000")
local threads_total = tonumber(os.getenv("WRK_THREADS") or "2")
local per_thread = math.ceil(max_requests / threads_total)
local counter = 0
local i = 0
local non2xx = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain; charset=utf-8"

request = function()
  i = i + 1
  return wrk.format(nil, wrk.path, nil, texts[(i % #texts) + 1])
end

response = function(status, headers, body)
  counter = counter + 1
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  if counter >= per_thread then wrk.thread:stop() end
end
