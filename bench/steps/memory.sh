#!/usr/bin/env bash
# Memory vs workers, on the large models: for each N and each server setup, start the server, sample the
# whole process tree's memory (PSS, USS, Anonymous; bench/python/memsample.py) when every worker is up, every
# MEM_INTERVAL seconds during a MEM_LOAD_S-second load of random texts (wrk, MEM_CONNS connections), and once
# more MEM_SETTLE_S seconds after it. Also records the size of one copy of each model, and cold-start
# times (launch → first answer) on the large models. Runs are interleaved: repeat → N → setup.
# Environment (run.sh sets it): REPEATS, MEM_NS, MEM_LOAD_S, MEM_CONNS, MEM_INTERVAL, MEM_SETTLE_S,
#   DICT_ENTRIES, DICT_PER_WORKER_MAX_N, FULL_GC_AT
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
trap stop_all_started EXIT

: "${REPEATS:=3}" "${MEM_NS:=1 2 4 8}" "${MEM_LOAD_S:=6}" "${MEM_CONNS:=16}" "${MEM_INTERVAL:=0.5}"
: "${MEM_SETTLE_S:=2}" "${DICT_ENTRIES:=5000000}" "${DICT_PER_WORKER_MAX_N:=2}" "${FULL_GC_AT:=300}"
export FULL_GC_AT
mkdir -p "$RESULTS/samples"
texts="random:$DICT_ENTRIES:10"

# One copy of each model, measured alone in one process (anonymous memory after loading minus before).
warm "$LARGE_MODEL"
ft_ref=$("$PY" - "$LARGE_MODEL" <<'PYEOF'
import json, sys
def anon():
    with open("/proc/self/smaps_rollup") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("Anonymous:"))
import fasttext
fasttext.FastText.eprint = lambda *a, **k: None
before = anon()
m = fasttext.load_model(sys.argv[1])
print(json.dumps({"model_kb": anon() - before}))
PYEOF
)
image=$("$SS_EXE" prepare "$LARGE_MODEL" | tail -1)  # what Sharpserve maps; built once, reused by every run
emit memory_reference model=fasttext file_bytes="$(stat -c %s "$LARGE_MODEL")" image_bytes="$(stat -c %s "$image")" \
    python="$ft_ref"
emit memory_reference model=dict file_bytes=null python="$("$PY" "$BENCH_DIR/python/dict_model.py" "$DICT_ENTRIES")"

setups=(sharpserve:fasttext gunicorn-per-worker:fasttext gunicorn-preload:fasttext gunicorn-freeze:fasttext
        gunicorn-per-worker:dict gunicorn-preload:dict gunicorn-freeze:dict)
sharpserve_has_process_mode && setups=(sharpserve-proc:fasttext "${setups[@]}")

for rep in $(seq 1 "$REPEATS"); do
    for n in $MEM_NS; do
        for setup in "${setups[@]}"; do
            config="${setup%%:*}"; kind="${setup#*:}"
            # Per-worker with the dict model is N full builds on 2 cores: measured only at small N.
            if [ "$setup" = gunicorn-per-worker:dict ] && [ "$n" -gt "$DICT_PER_WORKER_MAX_N" ]; then continue; fi
            model="ft:$LARGE_MODEL"; [ "$kind" = dict ] && model="dict:$DICT_ENTRIES"
            log "memory: rep $rep/$REPEATS, N=$n, $config ($kind)"
            start_server "$config" "$n" "$model"
            if ! ready=$(wait_server 300); then
                emit memory config="$config" model="$kind" n="$n" rep="$rep" failed=true log="$SERVER_LOG"
                stop_server; continue
            fi
            at_ready=$(mem_once)
            samples="$RESULTS/samples/memory-$config-$kind-n$n-r$rep.jsonl"
            rm -f "$samples"
            "$PY" "$BENCH_DIR/python/memsample.py" watch "$SERVER_PID" "$(now_ns)" "$MEM_INTERVAL" "$samples" &
            sampler=$!
            load=$(run_wrk "$MEM_CONNS" "${MEM_LOAD_S}s" "$texts")
            sleep "$MEM_SETTLE_S"
            after=$(mem_once)
            kill -TERM "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
            stop_server
            workers='[]'; [ -s "$SERVER_STATS" ] && workers=$(jq -sc . "$SERVER_STATS")
            emit memory config="$config" model="$kind" n="$n" rep="$rep" ready="$ready" at_ready="$at_ready" \
                load="$load" after="$after" workers="$workers" samples="$(basename "$samples")" \
                load_s="$MEM_LOAD_S" settle_s="$MEM_SETTLE_S" conns="$MEM_CONNS" full_gc_at="$FULL_GC_AT"
        done
    done
done
