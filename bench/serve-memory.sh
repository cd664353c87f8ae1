#!/usr/bin/env bash
# Issue 3's memory and start-up check, as a benchmark (not a test):
#  - start `sharpserve serve BIG.bin --threads 2` and time launch → /v2/health/ready == 200 (page cache warm);
#  - send 10,000 requests to /labelservice/ with wrk (loopback only, bounded in count and time);
#  - read the server's /proc/PID/smaps_rollup: Anonymous (heap and other private non-file memory), Rss, Pss.
# Usage: bench/serve-memory.sh [MODEL.bin] [REQUESTS]   (prints a Markdown table row block on stdout)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
model="${1:-$here/models/large.bin}"
requests="${2:-10000}"
port="${PORT:-18181}"
[ -f "$model" ] || "$here/make-large-model.sh" "$model" >&2

dotnet publish "$root/src/Sharpserve" -c Release -o "$here/out/sharpserve" >/dev/null
exe="$here/out/sharpserve/sharpserve"

# Page cache warm: read the file once so start-up measures mapping, not the disk.
cat "$model" >/dev/null

kb() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$2/smaps_rollup"; }
start_ns=$(date +%s%N)
"$exe" serve "$model" --threads 2 --port "$port" --log-level warning >"$here/out/serve.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 3000); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/health/ready" || true)
    [ "$code" = "200" ] && break
    sleep 0.01
done
ready_ns=$(date +%s%N)
[ "$code" = "200" ] || { echo "server never became ready" >&2; cat "$here/out/serve.log" >&2; exit 1; }
ready_ms=$(( (ready_ns - start_ns) / 1000000 ))
anon_ready=$(kb Anonymous $pid)

MAX_REQUESTS=$requests WRK_THREADS=2 wrk -t2 -c16 -d120s -s "$here/lua/labelservice.lua" \
    "http://127.0.0.1:$port/labelservice/" >"$here/out/wrk.txt"
anon_after=$(kb Anonymous $pid); rss_after=$(kb Rss $pid); pss_after=$(kb Pss $pid)
sent=$(awk '/requests in/ {print $1}' "$here/out/wrk.txt")
errors=$(awk '/Non-2xx/ {print $NF}' "$here/out/wrk.txt"); errors=${errors:-0}
kill -TERM $pid; wait $pid || true; trap - EXIT

size_mb=$(( $(stat -c %s "$model") / 1048576 ))
echo "| model size | start → ready (page cache warm) | Anonymous at ready | requests sent (non-2xx) | Anonymous after | Rss after | Pss after |"
echo "|---|---|---|---|---|---|---|"
echo "| ${size_mb} MiB | ${ready_ms} ms | $((anon_ready / 1024)) MiB | ${sent} (${errors}) | $((anon_after / 1024)) MiB | $((rss_after / 1024)) MiB | $((pss_after / 1024)) MiB |"
