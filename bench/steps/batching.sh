#!/usr/bin/env bash
# Issue 15, dynamic batching: requests/s, p50 and p99 latency and the mean batch size, with batching off and on at a
# few delays, at 1, 16 and 64 connections (wrk, one row a request over OIP JSON), on the bench's ONNX MLP
# (bench/onnx/make-matmul-model.py: y = relu(x @ W1) @ W2, 768 MiB of weights by default) and a small, fast model
# (tests/data/onnx/mlp_classifier.onnx: 8 inputs, 16 hidden units). Thread mode, --threads 2. Each (model, setting)
# gets one server; every connection count runs against it after an unrecorded warm-up; the mean batch size is read
# from /status before and after each run. Appends JSON lines to RESULTS/batching.jsonl and prints a table.
# Not part of run.sh's full run yet: run it alone, e.g. on a quiet machine
#   bench/steps/batching.sh
#   BATCH_SECONDS=1 BATCH_WARMUP_S=1 BATCH_CONNS="1 16" BATCH_ONNX_D=64 BATCH_ONNX_H=128 bench/steps/batching.sh   (smoke)
# Environment: BATCH_MODELS ("onnx small"), BATCH_SETTINGS ("off 1ms 2ms 5ms": off, or the --batch-delay with
# batching on), BATCH_MAX (--max-batch-size, 64), BATCH_CONNS ("1 16 64"), BATCH_SECONDS (5), BATCH_WARMUP_S (1),
# BATCH_REPEATS (1), BATCH_THREADS (2), BATCH_ONNX_D / BATCH_ONNX_H (4096 / 24576).
# Loopback only; every server is started here and stopped here, by its PID.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
trap stop_all_started EXIT

: "${BATCH_MODELS:=onnx small}" "${BATCH_SETTINGS:=off 1ms 2ms 5ms}" "${BATCH_MAX:=64}" "${BATCH_CONNS:=1 16 64}"
: "${BATCH_SECONDS:=5}" "${BATCH_WARMUP_S:=1}" "${BATCH_REPEATS:=1}" "${BATCH_THREADS:=2}"
: "${BATCH_ONNX_D:=4096}" "${BATCH_ONNX_H:=24576}"
command -v wrk >/dev/null && command -v jq >/dev/null && command -v curl >/dev/null \
    || { echo "needs wrk, jq and curl (apt-get install -y wrk jq curl)" >&2; exit 1; }
if [ ! -x "$SS_EXE" ]; then
    log "batching: publishing Sharpserve to $(dirname "$SS_EXE") (run.sh does this for a full run)"
    dotnet publish "$ROOT/src/Sharpserve" -c Release -o "$(dirname "$SS_EXE")" >"$LOGS/publish.log" 2>&1 \
        || { tail -20 "$LOGS/publish.log" >&2; exit 1; }
fi

# A model's file, its OIP name and one request body of one random row (seeded: every run sends the same row).
prepare_model() {
    local kind="$1" dim
    case "$kind" in
        onnx)
            local dir="$BENCH_DIR/models/onnx-matmul-$BATCH_ONNX_D-$BATCH_ONNX_H"
            [ -f "$dir/matmul.onnx" ] || "$PY" "$BENCH_DIR/onnx/make-matmul-model.py" "$dir" "$BATCH_ONNX_D" "$BATCH_ONNX_H" >&2
            MODEL_FILE="$dir/matmul.onnx" MODEL_NAME=matmul INPUT=x dim=$BATCH_ONNX_D ;;
        small)
            MODEL_FILE="$ROOT/tests/data/onnx/mlp_classifier.onnx" MODEL_NAME=mlp_classifier INPUT=input dim=8 ;;
        *) echo "BATCH_MODELS: unknown model '$kind' (onnx, small)" >&2; exit 2 ;;
    esac
    BODY_FILE="$LOGS/batching-$kind-body.json"
    "$PY" -c 'import json, random, sys
random.seed(15)
name, dim = sys.argv[1], int(sys.argv[2])
row = [round(random.uniform(-1, 1), 4) for _ in range(dim)]
print(json.dumps({"inputs": [{"name": name, "datatype": "FP32", "shape": [1, dim], "data": row}]}))' "$INPUT" "$dim" >"$BODY_FILE"
}

# Model calls and requests in batches so far: "calls requests" from /status (0 0 with batching off).
batch_totals() {
    curl -sf "http://127.0.0.1:$PORT/status" | jq -r '.models[0].batching // {batches: 0, mean_batch_size: 0}
        | "\(.batches) \(.batches * .mean_batch_size)"'
}

# Runs wrk against the model's infer URL: run_oip CONNECTIONS DURATION; prints wrk's JSON summary.
run_oip() {
    local c="$1" d="$2" t=2 out
    [ "$c" -ge 2 ] || t=1
    out="$(mktemp)"
    BENCH_BODY_FILE="$BODY_FILE" BENCH_JSON="$out" wrk -t"$t" -c"$c" -d"$d" --timeout 30s \
        -s "$BENCH_DIR/lua/oip.lua" "http://127.0.0.1:$PORT/v2/models/$MODEL_NAME/infer" >/dev/null
    cat "$out"; rm -f "$out"
}

emit batching_commands cmd="sharpserve serve MODEL --threads $BATCH_THREADS --port PORT --log-level warning [--max-batch-size $BATCH_MAX --batch-delay DELAY]"
emit batching_commands cmd="BENCH_BODY_FILE=BODY wrk -tT -cC -d${BATCH_SECONDS}s --timeout 30s -s bench/lua/oip.lua http://127.0.0.1:PORT/v2/models/NAME/infer"
for rep in $(seq 1 "$BATCH_REPEATS"); do
    for kind in $BATCH_MODELS; do
        prepare_model "$kind"
        for setting in $BATCH_SETTINGS; do
            batching=()
            [ "$setting" = off ] || batching=(--max-batch-size "$BATCH_MAX" --batch-delay "$setting")
            pick_port
            SERVER_LOG="$LOGS/batching-$kind-$setting-p$PORT.log"
            "$SS_EXE" serve "$MODEL_FILE" --threads "$BATCH_THREADS" --port "$PORT" --grpc-port off --log-level warning \
                --graceful-timeout 5s "${batching[@]}" >"$SERVER_LOG" 2>&1 &
            SERVER_PID=$!
            STARTED_PIDS+=("$SERVER_PID")
            ready=0
            for _ in $(seq 1 1200); do  # at most 120 s (the large model is baked on its first start)
                curl -sf -o /dev/null "http://127.0.0.1:$PORT/v2/health/ready" && { ready=1; break; }
                kill -0 "$SERVER_PID" 2>/dev/null || break
                sleep 0.1
            done
            if [ "$ready" != 1 ]; then
                log "batching: $kind $setting: the server never became ready; log: $SERVER_LOG"; tail -5 "$SERVER_LOG" >&2
                emit batching rep="$rep" model="$kind" setting="$setting" failed=true; stop_server; continue
            fi

            for c in $BATCH_CONNS; do
                log "batching: rep $rep, $kind, batching $setting, $c connections"
                run_wrk_warm="$(run_oip "$c" "${BATCH_WARMUP_S}s")"
                read -r calls0 requests0 < <(batch_totals)
                load0="$(cut -d' ' -f1-3 /proc/loadavg)"
                result="$(run_oip "$c" "${BATCH_SECONDS}s")"
                read -r calls1 requests1 < <(batch_totals)
                mean=$(jq -n --argjson c "$((calls1 - calls0))" --argjson r "$(jq -n "$requests1 - $requests0")" 'if $c > 0 then $r / $c else 1 end')
                emit batching rep="$rep" model="$kind" setting="$setting" max_batch_size="$BATCH_MAX" conns="$c" \
                    seconds="$BATCH_SECONDS" loadavg="$load0" mean_batch_size="$mean" wrk="$result"
                : "$run_wrk_warm"
            done
            stop_server
        done
    done
done

# The table of this run: model, setting, connections, req/s, p50 and p99 ms, mean batch size.
log "batching: results (RESULTS/batching.jsonl)"
jq -rs 'map(select(.failed | not)) | .[] |
    [.model, .setting, .conns, ((.wrk.requests / (.wrk.duration_us / 1e6)) | floor),
     (.wrk.lat_p50_us / 1000), (.wrk.lat_p99_us / 1000), ((.mean_batch_size * 100 | round) / 100),
     (.wrk.errors_status + .wrk.errors_timeout + .wrk.errors_connect + .wrk.errors_read)]
    | @tsv' "$RESULTS/batching.jsonl" \
    | (printf 'model\tsetting\tconns\treq/s\tp50 ms\tp99 ms\tmean batch\terrors\n'; cat) | column -t -s $'\t' >&2
