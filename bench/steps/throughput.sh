#!/usr/bin/env bash
# Throughput, latency and first requests, on the demo model (language id, 10 labels) with the eight demo
# sentences. For each repeat and each server setup (interleaved): launch and time launch → first answer
# (cold start) and, in the same probe, the first request after ready against the 200 that follow it
# (bench/lib/common.sh wait_server); the gunicorn workers time their own first request; a short unrecorded
# warm-up load; then one wrk run per concurrency level, with the server tree's CPU time before and after.
# Environment (run.sh sets it): REPEATS, TP_CONNS, TP_DURATION_S, TP_WARMUP_S, TP_SETUPS
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
trap stop_all_started EXIT

: "${REPEATS:=3}" "${TP_CONNS:=1 16 64}" "${TP_DURATION_S:=5}" "${TP_WARMUP_S:=1}"
cores=$(nproc)
# Setups: CONFIG:N. Sharpserve with one executor thread per core (its default); gunicorn's original
# per-worker setup (the demo model is small, so the three gunicorn setups serve alike) with one worker per
# core, and with twice that, since sync workers idle while the kernel moves bytes.
: "${TP_SETUPS:=sharpserve:$cores gunicorn-per-worker:$cores gunicorn-per-worker:$((2 * cores))}"
read -r -a setups <<<"$TP_SETUPS"
sharpserve_has_process_mode && setups+=("sharpserve-proc:$cores")

for rep in $(seq 1 "$REPEATS"); do
    for setup in "${setups[@]}"; do
        config="${setup%%:*}"; n="${setup#*:}"
        log "throughput: rep $rep/$REPEATS, $config N=$n"
        start_server "$config" "$n" "ft:$DEMO_MODEL"
        if ! ready=$(wait_server 120 idle); then
            emit coldstart config="$config" n="$n" rep="$rep" failed=true; stop_server; continue
        fi
        run_wrk 16 "${TP_WARMUP_S}s" lang >/dev/null
        for c in $TP_CONNS; do
            before=$(mem_once | jq .cpu_s)
            result=$(run_wrk "$c" "${TP_DURATION_S}s" lang)
            after=$(mem_once | jq .cpu_s)
            emit throughput config="$config" n="$n" rep="$rep" conns="$c" wrk="$result" \
                cpu_s="$(jq -n "$after - $before")"
        done
        stop_server
        workers='[]'; [ -s "$SERVER_STATS" ] && workers=$(jq -sc . "$SERVER_STATS")
        emit coldstart config="$config" n="$n" rep="$rep" model=demo ready="$ready" \
            workers="$workers"
    done
done
