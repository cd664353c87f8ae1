#!/usr/bin/env bash
# Issue 3's memory and start-up check, as a benchmark (not a test), REPEATS times:
#  - with the model file in the page cache, start `sharpserve serve BIG.bin --threads 2` and time launch →
#    GET /v2/health/ready == 200;
#  - read the process's /proc/PID/smaps_rollup (Anonymous: heaps and other private non-file memory) at ready;
#  - send at least REQUESTS requests of random texts to /labelservice/ with wrk, in 1-second chunks (wrk
#    always runs to its -d duration, so a run is bounded by time and counted afterwards), and read it again.
# Targets (issue 3): Anonymous < 150 MiB after 10,000 requests; ready < 2 s with the file cached.
# Usage: bench/serve-memory.sh [MODEL.bin] [REQUESTS]   (bench/run.sh calls it; alone, it builds what it needs
# and prints a Markdown table)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
trap stop_all_started EXIT
model="${1:-$LARGE_MODEL}"
requests="${2:-10000}"
: "${REPEATS:=3}" "${DICT_ENTRIES:=5000000}"
standalone=false
if [ -z "${BENCH_RUN:-}" ]; then
    standalone=true
    [ -f "$model" ] || "$BENCH_DIR/make-large-model.sh" "$model" >&2
    dotnet publish "$ROOT/src/Sharpserve" -c Release -o "$BENCH_DIR/out/sharpserve" >/dev/null
    RESULTS="$(mktemp -d)"
fi

for rep in $(seq 1 "$REPEATS"); do
    log "issue 3: rep $rep/$REPEATS"
    warm "$model"
    start_server sharpserve 2 "ft:$model"
    ready=$(wait_server 60 health)
    at_ready=$(mem_once)
    sent=0; chunks=0; errors=0
    while [ "$sent" -lt "$requests" ] && [ "$chunks" -lt 20 ]; do
        r=$(run_wrk 16 1s "random:$DICT_ENTRIES:10")
        sent=$((sent + $(jq .requests <<<"$r"))); chunks=$((chunks + 1))
        errors=$((errors + $(jq '.errors_status + .errors_connect + .errors_read + .errors_timeout' <<<"$r")))
    done
    after=$(mem_once)
    stop_server
    emit serve_memory rep="$rep" file_bytes="$(stat -c %s "$model")" ready="$ready" at_ready="$at_ready" \
        after="$after" requests="$sent" errors="$errors"
done

if $standalone; then
    echo "| model size | launch → ready (page cache warm) | Anonymous at ready | requests (errors) | Anonymous after | Rss after | Pss after |"
    echo "|---|---|---|---|---|---|---|"
    jq -r '"| \(.file_bytes / 1048576 | floor) MiB | \(.ready.all_ready_ms) ms | \(.at_ready.anon_kb / 1024 | floor) MiB | \(.requests) (\(.errors)) | \(.after.anon_kb / 1024 | floor) MiB | \(.after.rss_kb / 1024 | floor) MiB | \(.after.pss_kb / 1024 | floor) MiB |"' \
        "$RESULTS/serve_memory.jsonl"
    rm -rf "$RESULTS"
fi
