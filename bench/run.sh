#!/usr/bin/env bash
# One command for Sharpserve's benchmarks against the Python stack it replaces (Flask + gunicorn + fastText).
#   bench/run.sh            full run (about 50 minutes on 2 cores): rewrites docs/benchmarks.md and
#                           docs/benchmarks/*.png
#   bench/run.sh --quick    smoke run (a few minutes once built): one repeat, short loads, fewer N; writes
#                           docs/benchmarks/quick/benchmarks.md and its charts (git-ignored), so a smoke run
#                           never overwrites the committed full results
#   bench/run.sh [--quick] --only python
#                           only the Python-models step (about 25 minutes full): keeps the other records and
#                           replaces only the "Python models" section of the document (between its markers)
#   bench/run.sh [--quick] --only protocols
#                           only issue 14's protocols step (about 7.5 minutes full): replaces only the
#                           "Protocols" section of the document
# Loopback only; every server is started and stopped by this script, by PID. See bench/README.md.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"

mode=full only=
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    arg="${args[$i]}"
    case "$arg" in
        --quick) mode=quick ;;
        --only) i=$((i + 1)); only="${args[$i]:-}"
                case "$only" in python|protocols) ;; *) echo "--only takes: python, protocols" >&2; exit 2 ;; esac ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

source "$BENCH_DIR/lib/deps.sh"
ensure_packages
command -v dotnet >/dev/null || { echo "needs the .NET 10 SDK (dotnet) on PATH" >&2; exit 1; }

export RESULTS="$BENCH_DIR/out/results-$mode" LOGS="$BENCH_DIR/out/logs-$mode" BENCH_RUN=1
if [ -z "$only" ]; then
    rm -rf "$RESULTS" "$LOGS"
else
    # Only this step's records are replaced; the others stay for the report.
    rm -f "$RESULTS/$only"*.jsonl "$RESULTS/${only}_machine.json"
    [ "$only" != python ] || rm -f "$RESULTS"/samples/python-*.jsonl
fi
source "$BENCH_DIR/lib/common.sh"
started=$(date +%s)

if [ "$mode" = quick ]; then
    export QUICK=1 REPEATS=1
    export MEM_NS="2" MEM_LOAD_S=1 MEM_SETTLE_S=1 DICT_ENTRIES=1000000 DICT_PER_WORKER_MAX_N=0 FULL_GC_AT=100
    export TP_CONNS="16" TP_DURATION_S=1 TP_WARMUP_S=1
    export PY_NS="2" PY_LOAD_S=3 PY_SETTLE_S=1 PY_INTERVAL=0.5 PY_DICT_ENTRIES=300000 PY_SKLEARN_VOCAB=100000
    export PY_REPEATS=1 PY_PER_WORKER_MAX_N=2 PY_BURST_PER_CONN=20
    export PROTO_REPEATS=1 PROTO_SECONDS=1 PROTO_WARMUP_S=1
    report_md="$ROOT/docs/benchmarks/quick/benchmarks.md"; charts="$ROOT/docs/benchmarks/quick"
else
    export QUICK=0 REPEATS=3
    export MEM_NS="1 2 4 8" MEM_LOAD_S=5 MEM_SETTLE_S=1 DICT_ENTRIES=5000000 DICT_PER_WORKER_MAX_N=2 FULL_GC_AT=300
    export TP_CONNS="1 16 64" TP_DURATION_S=5 TP_WARMUP_S=1
    # Python models: one repeat (a 60-second load per run, 20 runs: about 25 minutes on 2 cores).
    export PY_NS="2 4 8" PY_LOAD_S=60 PY_SETTLE_S=2 PY_INTERVAL=1 PY_DICT_ENTRIES=2000000 PY_SKLEARN_VOCAB=600000
    export PY_REPEATS=1 PY_PER_WORKER_MAX_N=2 PY_BURST_PER_CONN=40
    # Protocols (issue 14): 3 repeats of 15 loads of 4 s, each after 3 s unrecorded (the server's JSON path takes
    # seconds of traffic to reach full speed: tiered JIT); about 7.5 minutes on 2 cores.
    export PROTO_REPEATS=3 PROTO_SECONDS=4 PROTO_WARMUP_S=3
    report_md="$ROOT/docs/benchmarks.md"; charts="$ROOT/docs/benchmarks"
fi

log "building Sharpserve (dotnet publish src/Sharpserve -c Release -o bench/out/sharpserve)"
dotnet publish "$ROOT/src/Sharpserve" -c Release -o "$BENCH_DIR/out/sharpserve" >"$LOGS/publish.log" 2>&1 \
    || { tail -20 "$LOGS/publish.log" >&2; exit 1; }
[ -n "$only" ] || [ -f "$LARGE_MODEL" ] || { log "making the large model (bench/make-large-model.sh)"; "$BENCH_DIR/make-large-model.sh" >&2; }

# Machine facts, recorded before any load (the load average shows whether something else was running).
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
machine_file="$RESULTS/machine.json"
[ -z "$only" ] || machine_file="$RESULTS/${only}_machine.json"
jq -n --arg mode "$mode" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg nproc "$(nproc)" \
    --arg mem "$(awk '/MemTotal/ {print $2}' /proc/meminfo)" --arg kernel "$(uname -r)" \
    --arg cpu "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" \
    --arg os "$(. /etc/os-release && echo "$PRETTY_NAME")" \
    --arg dotnet "$(dotnet --version)" --arg sharpserve "$("$SS_EXE" --version 2>&1 | head -1)" \
    --arg commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)" \
    --arg dirty "$(git -C "$ROOT" status --porcelain -- src 2>/dev/null | wc -l)" \
    --arg python "$("$PY" --version 2>&1)" --arg gunicorn "$(pkgver gunicorn)" \
    --arg flask "$(pkgver python3-flask)" --arg fasttext "$(pkgver python3-fasttext)" \
    --arg wrk "$(pkgver wrk)" --arg loadavg "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --arg model_bytes "$(stat -c %s "$LARGE_MODEL" 2>/dev/null || echo 0)" \
    --arg sklearn "$(pkgver python3-sklearn)" --arg numpy "$(pkgver python3-numpy)" \
    '$ARGS.named' >"$machine_file"

# Steps, cheapest first; each appends JSON lines to $RESULTS (read by bench/report/make_report.py).
steps=(steps/microbench.sh steps/throughput.sh steps/protocols.sh steps/access-log.sh steps/memory.sh steps/python.sh
       steps/model-load.sh serve-memory.sh)
[ -z "$only" ] || steps=("steps/$only.sh")
for step in "${steps[@]}"; do
    t0=$(date +%s) load0="$(cut -d' ' -f1-3 /proc/loadavg)"
    "$BENCH_DIR/$step"
    if [ "$step" = steps/python.sh ]; then
        # The Python section states its own run (it may come from a run of this step alone).
        emit python_run seconds="$(( $(date +%s) - t0 ))" loadavg_start="$load0" \
            loadavg_end="$(cut -d' ' -f1-3 /proc/loadavg)" date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    fi
    [ -n "$only" ] || emit steps step="$step" seconds="$(( $(date +%s) - t0 ))"
done

mkdir -p "$charts"
if [ -n "$only" ]; then
    log "writing the $only section of $report_md"
    "$PY" "$BENCH_DIR/report/make_report.py" --results "$RESULTS" --out "$report_md" --charts "$charts" --mode "$mode" \
        --section "$only"
    log "done in $(( $(date +%s) - started )) s"
    exit 0
fi
emit steps step=total seconds="$(( $(date +%s) - started ))" loadavg_end="$(cut -d' ' -f1-3 /proc/loadavg)"

log "writing $report_md"
"$PY" "$BENCH_DIR/report/make_report.py" --results "$RESULTS" --out "$report_md" --charts "$charts" --mode "$mode"
log "done in $(( $(date +%s) - started )) s"
