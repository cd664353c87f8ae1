#!/usr/bin/env bash
# What the access log costs: requests/s at 16 connections on the demo model, thread and process mode, with no
# access log and with --access-log FILE (combined and json), interleaved per repeat so drift hits all alike.
# Environment (run.sh sets it): REPEATS, TP_DURATION_S, TP_WARMUP_S
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
trap stop_all_started EXIT

: "${REPEATS:=3}" "${TP_DURATION_S:=5}" "${TP_WARMUP_S:=1}"
cores=$(nproc)
log_file="$(mktemp -d)/access.log"
configs=(sharpserve)
sharpserve_has_process_mode && configs+=(sharpserve-proc)
for rep in $(seq 1 "$REPEATS"); do
    for config in "${configs[@]}"; do
        for variant in none combined json; do
            log "access log: rep $rep/$REPEATS, $config, $variant"
            rm -f "$log_file"
            extra=""
            [ "$variant" = none ] || extra="--access-log $log_file --access-log-format $variant"
            SS_EXTRA_ARGS="$extra" start_server "$config" "$cores" "ft:$DEMO_MODEL"
            if ! wait_server 120 idle >/dev/null; then
                emit access_log config="$config" variant="$variant" rep="$rep" failed=true; stop_server; continue
            fi
            run_wrk 16 "${TP_WARMUP_S}s" lang >/dev/null
            result=$(run_wrk 16 "${TP_DURATION_S}s" lang)
            stop_server
            lines=0; [ -f "$log_file" ] && lines=$(wc -l <"$log_file")
            emit access_log config="$config" variant="$variant" rep="$rep" conns=16 wrk="$result" log_lines="$lines"
        done
    done
done
rm -rf "$(dirname "$log_file")"
