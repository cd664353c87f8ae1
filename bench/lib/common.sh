# Shared helpers for bench/*.sh: logging, ports, starting and stopping the servers under test, probes.
# Sourced, not run. Every server is started by us, remembered by PID and stopped by PID (with the gunicorn
# workers found as that PID's descendants); nothing is ever stopped by name.

PY=/usr/bin/python3                       # Debian's modules (flask, fasttext, matplotlib) import only here
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
SS_EXE="${SS_EXE:-$BENCH_DIR/out/sharpserve/sharpserve}"
DEMO_MODEL="$ROOT/src/Sharpserve/Demo/langid.bin"
LARGE_MODEL="${LARGE_MODEL:-$BENCH_DIR/models/large.bin}"
: "${RESULTS:=$BENCH_DIR/out/results}"   # JSON lines, one file per experiment, read by report/make_report.py
: "${LOGS:=$BENCH_DIR/out/logs}"
# Sharpserve serves a model image (`sharpserve prepare`) that it builds on first use in its cache directory;
# the benchmark keeps its own, so it can time a first start without one and evict it from the page cache.
export SHARPSERVE_CACHE_DIR="${SHARPSERVE_CACHE_DIR:-$BENCH_DIR/out/cache}"
mkdir -p "$RESULTS" "$LOGS"

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }

# Appends one JSON object (built by jq from NAME=VALUE pairs; numbers and JSON stay typed) to RESULTS/$1.jsonl.
# Usage: emit memory config=gunicorn-preload n=4 ready="$json" ...
emit() {
    local file="$RESULTS/$1.jsonl"; shift
    local args=() obj="{}" kv k v
    for kv in "$@"; do
        k="${kv%%=*}"; v="${kv#*=}"
        if [ -n "$v" ] && jq -n --argjson x "$v" true >/dev/null 2>&1; then args+=(--argjson "$k" "$v"); else args+=(--arg "$k" "$v"); fi
        obj="$obj + {\"$k\": \$$k}"
    done
    jq -nc "${args[@]}" "$obj" >>"$file"
}

# Fixed, unusual ports, one per server start (so a previous server's TIME_WAIT sockets never matter);
# a port that answers already is skipped.
NEXT_PORT="${BENCH_PORT_BASE:-18400}"
pick_port() {
    while (exec 3<>"/dev/tcp/127.0.0.1/$NEXT_PORT") 2>/dev/null; do NEXT_PORT=$((NEXT_PORT + 1)); done
    PORT=$NEXT_PORT
    NEXT_PORT=$((NEXT_PORT + 1))
    [ "$NEXT_PORT" -lt 18900 ] || NEXT_PORT="${BENCH_PORT_BASE:-18400}"
}

descendants() {  # PIDs of every descendant of $1
    local p c
    for p in /proc/"$1"/task/*/children; do
        for c in $(cat "$p" 2>/dev/null); do echo "$c"; descendants "$c"; done
    done
}

STARTED_PIDS=()
# Starts a server and returns at once; its command goes to RESULTS/${COMMANDS_FILE:-commands}.jsonl.
# Sets SERVER_PID (the process we launched: sharpserve, or the gunicorn master), SERVER_T0 (launch time, ns),
# SERVER_LOG, SERVER_STATS (gunicorn per-worker statistics), PORT.
#   start_server CONFIG N MODEL        CONFIG: sharpserve | sharpserve-proc | sharpserve-python |
#                                              gunicorn-per-worker | gunicorn-preload | gunicorn-freeze
#                                      MODEL:  ft:PATH (a fastText .bin) | dict:ENTRIES | sklearn:VOCAB (the
#                                              Python models: gunicorn and sharpserve-python only)
#   Optional environment: FULL_GC_AT (gunicorn: one full gc.collect() per worker after that many requests);
#                         SS_EXTRA_ARGS (sharpserve: more serve options, e.g. --access-log FILE)
start_server() {
    local config="$1" n="$2" model="$3" tag
    pick_port
    tag="${config}-n${n}-p${PORT}"
    SERVER_LOG="$LOGS/$tag.log"
    SERVER_STATS="$LOGS/$tag.workers.jsonl"
    SERVER_READY_FILE="$LOGS/$tag.ready"
    rm -f "$SERVER_STATS" "$SERVER_READY_FILE"
    SERVER_CONFIG="$config"; SERVER_N="$n"
    local cmd=() env=()
    case "$config" in
        sharpserve)
            local extra_args
            read -r -a extra_args <<<"${SS_EXTRA_ARGS:-}"
            cmd=("$SS_EXE" serve "${model#ft:}" --threads "$n" --port "$PORT" --log-level warning
                 --graceful-timeout 5s "${extra_args[@]}")
            ;;
        sharpserve-proc)
            # Process mode: N worker processes (one executor thread each, its default) mapping one model image.
            local proc_args extra_args
            read -r -a proc_args <<<"${SS_PROC_ARGS:---workers $n}"
            read -r -a extra_args <<<"${SS_EXTRA_ARGS:-}"
            cmd=("$SS_EXE" serve "${model#ft:}" "${proc_args[@]}" --port "$PORT" --log-level warning
                 --graceful-timeout 5s "${extra_args[@]}")
            ;;
        sharpserve-python)
            # serve --python: one zygote loads the model (bench/python/sharpserve_models.py), N workers are
            # forked from it. The same one-thread variables the front sets for the zygote are given to gunicorn.
            local entry extra_args
            case "$model" in
                dict:*) entry=sharpserve_models:Dict; env=(BENCH_DICT_ENTRIES="${model#dict:}") ;;
                sklearn:*) entry=sharpserve_models:Sklearn; env=(BENCH_SKLEARN_VOCAB="${model#sklearn:}") ;;
                *) log "sharpserve-python serves dict:ENTRIES or sklearn:VOCAB, not $model"; return 2 ;;
            esac
            read -r -a extra_args <<<"${SS_EXTRA_ARGS:-}"
            cmd=("$SS_EXE" serve --python "$entry" --python-path "$BENCH_DIR/python" --python-exe "$PY"
                 --workers "$n" --port "$PORT" --log-level warning --graceful-timeout 5s "${extra_args[@]}")
            ;;
        gunicorn-*)
            local conf spec  # conf is absolute: gunicorn reads -c before it applies --chdir
            case "$config" in
                gunicorn-per-worker) conf="$BENCH_DIR/python/gunicorn_per_worker.conf.py" ;;
                gunicorn-preload) conf="$BENCH_DIR/python/gunicorn_preload.conf.py" ;;
                gunicorn-freeze) conf="$BENCH_DIR/python/gunicorn_preload_freeze.conf.py" ;;
                *) log "unknown server config $config"; return 2 ;;
            esac
            case "$model" in
                ft:*) spec="fasttext:${model#ft:}" ;;
                dict:*|sklearn:*) spec="$model" ;;
            esac
            env=(PYTHONPATH="$BENCH_DIR/python" BENCH_MODEL="$spec" BENCH_FULL_GC_AT="${FULL_GC_AT:-0}"
                 BENCH_STATS_FILE="$SERVER_STATS" BENCH_READY_FILE="$SERVER_READY_FILE")
            # numpy's BLAS threads started in a preloading master would hang its forked workers; one thread
            # each, as Sharpserve sets for its zygote (docs/python-backend.md, section 5).
            [ "${model%%:*}" = sklearn ] && env+=(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1)
            cmd=("$PY" -m gunicorn --chdir "$BENCH_DIR/python" -c "$conf" -w "$n" -b "127.0.0.1:$PORT"
                 label_service:app)
            ;;
        *) log "unknown server config $config"; return 2 ;;
    esac
    # The exact command, for the report (paths made relative to the repository); recorded before the clock starts.
    local line="${env[*]} ${cmd[*]}"
    emit "${COMMANDS_FILE:-commands}" config="$config" n="$n" model="${model%%:*}" cmd="${line//$ROOT\//}"
    SERVER_T0=$(now_ns)
    env "${env[@]}" "${cmd[@]}" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
}

# Waits (bounded) until the server answers and, for gunicorn, until all N workers have booted. Prints JSON:
#   first_response_ms  launch → first 200 from POST /labelservice/ (polled every 5 ms)
#   all_ready_ms       gunicorn: launch → every worker up (the times its post_worker_init hook wrote);
#                      Sharpserve: answers inference only once ready (503 before), so its first answer marks
#                      ready, within the polling interval; with "health", launch → GET /v2/health/ready 200
#   first_request_ms   that first 200's own latency, and steady_p50_ms: the median of the later half of the
#                      200 requests the probe sends right after it, one after the other (no idle gap)
#   after_idle_ms      with "idle": {gap ms: median latency of warm requests after that idle gap} (probe.py)
#   wait_server TIMEOUT_S [health|idle]     health: Sharpserve only, poll the readiness endpoint instead
wait_server() {
    local timeout="${1:-300}" out all=null
    if [ "${2:-}" = health ]; then
        out=$("$PY" "$BENCH_DIR/python/probe.py" ready "$PORT" "$SERVER_T0" "$timeout" "$SERVER_PID" health) || {
            log "server $SERVER_CONFIG n=$SERVER_N never became ready; log: $SERVER_LOG"; return 1; }
        jq -c '{all_ready_ms: .ms}' <<<"$out"
        wait_all_workers "$timeout" >/dev/null || return 1
        return 0
    fi
    out=$("$PY" "$BENCH_DIR/python/probe.py" ready "$PORT" "$SERVER_T0" "$timeout" "$SERVER_PID" follow=200) || {
        log "server $SERVER_CONFIG n=$SERVER_N never answered; log: $SERVER_LOG"; tail -5 "$SERVER_LOG" >&2
        return 1; }
    case "$SERVER_CONFIG" in
        gunicorn-*)
            local deadline=$(( $(date +%s) + timeout ))
            while [ "$(wc -l <"$SERVER_READY_FILE" 2>/dev/null || echo 0)" -lt "$SERVER_N" ]; do
                [ "$(date +%s)" -lt "$deadline" ] || { log "workers never all booted"; return 1; }
                sleep 0.02
            done
            all=$(awk -v t0="$SERVER_T0" '$2 > m {m = $2} END {printf "%.1f", (m - t0) / 1e6}' "$SERVER_READY_FILE")
            ;;
        sharpserve-proc|sharpserve-python) all=$(wait_all_workers "$timeout") || return 1 ;;
        *) all=$(jq .ms <<<"$out") ;;
    esac
    if [ "${2:-}" = idle ]; then
        # After every worker is up, so the gaps measure the machine, not a worker still starting.
        out=$(jq -c --argjson i "$("$PY" "$BENCH_DIR/python/probe.py" idle "$PORT")" '. + $i' <<<"$out") || return 1
    fi
    jq -c --argjson a "$all" '{first_response_ms: .ms, all_ready_ms: $a, first_request_ms, steady_p50_ms, next_ms, after_idle_ms}' \
        <<<"$out"
}

# Sharpserve process mode (and serve --python) is ready once its first worker is; the others start after it. Waits (bounded) until
# every model's workers are all Ready (GET /status), so measurements run at full capacity, and prints the time
# from launch in ms. Other configs: prints nothing, returns at once.
wait_all_workers() {
    case "$SERVER_CONFIG" in sharpserve-proc|sharpserve-python) ;; *) return 0 ;; esac
    local timeout="${1:-300}" deadline
    deadline=$(( $(date +%s) + timeout ))
    until curl -sf "http://127.0.0.1:$PORT/status" | jq -e \
        'all(.models[]; .target_workers == ([.workers[] | select(.state == "ready")] | length))' >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || { log "workers never all ready; log: $SERVER_LOG"; return 1; }
        sleep 0.01
    done
    awk -v t0="$SERVER_T0" -v t1="$(now_ns)" 'BEGIN {printf "%.1f", (t1 - t0) / 1e6}'
}

# Stops the server we started: SIGTERM to its PID, a bounded wait, then SIGKILL to it and its descendants.
stop_server() {
    local pid="${1:-$SERVER_PID}" kids i
    kids=$(descendants "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then
        log "server $pid did not stop in 10 s; killing it and its children"
        kill -KILL "$pid" $kids 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for i in $kids; do kill -0 "$i" 2>/dev/null && kill -KILL "$i" 2>/dev/null; done
    local rest=()
    for i in "${STARTED_PIDS[@]}"; do [ "$i" = "$pid" ] || rest+=("$i"); done
    STARTED_PIDS=("${rest[@]}")
}

stop_all_started() {
    local p
    for p in "${STARTED_PIDS[@]}"; do stop_server "$p"; done
}

mem_once() { "$PY" "$BENCH_DIR/python/memsample.py" once "${1:-$SERVER_PID}"; }

# wrk load, bounded by duration; prints wrk's JSON summary (bench/lua/bench.lua).
#   run_wrk CONNECTIONS DURATION TEXTS      TEXTS: lang | random:ENTRIES:WORDS
run_wrk() {
    local c="$1" d="$2" texts="$3" t=2 out
    [ "$c" -ge 2 ] || t=1
    out="$(mktemp)"
    local commands="${COMMANDS_FILE:-commands}"
    [ -s "$RESULTS/$commands.jsonl" ] && grep -qF "BENCH_TEXTS=$texts " "$RESULTS/$commands.jsonl" ||
        emit "$commands" config=wrk cmd="BENCH_TEXTS=$texts wrk -t$t -c$c -d$d --timeout 10s -s bench/lua/bench.lua http://127.0.0.1:PORT/labelservice/"
    BENCH_TEXTS="$texts" BENCH_JSON="$out" wrk -t"$t" -c"$c" -d"$d" --timeout 10s \
        -s "$BENCH_DIR/lua/bench.lua" "http://127.0.0.1:$PORT/labelservice/" >/dev/null
    cat "$out"; rm -f "$out"
}

# Sharpserve's image(s) of a model in the cache directory (named after the model file).
image_files() { find "$SHARPSERVE_CACHE_DIR" -maxdepth 1 -name "$(basename "${1%.bin}")-*.ssimg" 2>/dev/null || true; }

# Bytes of the given files resident in the page cache (fincore, util-linux); 0 for no file.
cached_bytes() {
    local total=0 f
    for f in "$@"; do
        [ -f "$f" ] && total=$((total + $(fincore --bytes --noheadings --output RES "$f" | tr -d ' ')))
    done
    echo "$total"
}

# Evicts FILE and Sharpserve's image of it from the page cache: GNU dd's iflag=nocache with count=0 asks the
# kernel (posix_fadvise DONTNEED) to drop a whole file; vmtouch -e is the fallback. Prints the method that
# worked, checked with fincore.
evict() {
    local files=("$1") f
    mapfile -t -O 1 files < <(image_files "$1")
    sync "${files[@]}"
    for f in "${files[@]}"; do dd if="$f" iflag=nocache count=0 status=none 2>/dev/null || true; done
    if [ "$(cached_bytes "${files[@]}")" -lt 1048576 ]; then echo "dd iflag=nocache count=0"; return 0; fi
    if command -v vmtouch >/dev/null; then
        vmtouch -qe "${files[@]}"
        if [ "$(cached_bytes "${files[@]}")" -lt 1048576 ]; then echo "vmtouch -e"; return 0; fi
    fi
    echo "none (still $(cached_bytes "${files[@]}") bytes cached)"
}

# Reads FILE and Sharpserve's image of it into the page cache.
warm() {
    local f
    for f in "$1" $(image_files "$1"); do cat "$f" >/dev/null; done
}

sharpserve_has_process_mode() { "$SS_EXE" serve --help 2>&1 | grep -q -- '--workers'; }
