#!/usr/bin/env bash
# One command for Sharpserve's benchmarks against the Python stack it replaces (Flask + gunicorn + fastText).
#   bench/run.sh            full run (about 25 minutes on 2 cores): rewrites docs/benchmarks.md and
#                           docs/benchmarks/*.png
#   bench/run.sh --quick    smoke run (under 2 minutes once built): one repeat, short loads, fewer N; writes
#                           docs/benchmarks/quick/benchmarks.md and its charts (git-ignored), so a smoke run
#                           never overwrites the committed full results
# Loopback only; every server is started and stopped by this script, by PID. See bench/README.md.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"

mode=full
for arg in "$@"; do
    case "$arg" in
        --quick) mode=quick ;;
        -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

source "$BENCH_DIR/lib/deps.sh"
ensure_packages
command -v dotnet >/dev/null || { echo "needs the .NET 10 SDK (dotnet) on PATH" >&2; exit 1; }

export RESULTS="$BENCH_DIR/out/results-$mode" LOGS="$BENCH_DIR/out/logs-$mode" BENCH_RUN=1
rm -rf "$RESULTS" "$LOGS"
source "$BENCH_DIR/lib/common.sh"
started=$(date +%s)

if [ "$mode" = quick ]; then
    export QUICK=1 REPEATS=1
    export MEM_NS="2" MEM_LOAD_S=1 MEM_SETTLE_S=1 DICT_ENTRIES=1000000 DICT_PER_WORKER_MAX_N=0 FULL_GC_AT=100
    export TP_CONNS="16" TP_DURATION_S=1 TP_WARMUP_S=1
    report_md="$ROOT/docs/benchmarks/quick/benchmarks.md"; charts="$ROOT/docs/benchmarks/quick"
else
    export QUICK=0 REPEATS=3
    export MEM_NS="1 2 4 8" MEM_LOAD_S=5 MEM_SETTLE_S=1 DICT_ENTRIES=5000000 DICT_PER_WORKER_MAX_N=2 FULL_GC_AT=300
    export TP_CONNS="1 16 64" TP_DURATION_S=5 TP_WARMUP_S=1
    report_md="$ROOT/docs/benchmarks.md"; charts="$ROOT/docs/benchmarks"
fi

log "building Sharpserve (dotnet publish src/Sharpserve -c Release -o bench/out/sharpserve)"
dotnet publish "$ROOT/src/Sharpserve" -c Release -o "$BENCH_DIR/out/sharpserve" >"$LOGS/publish.log" 2>&1 \
    || { tail -20 "$LOGS/publish.log" >&2; exit 1; }
[ -f "$LARGE_MODEL" ] || { log "making the large model (bench/make-large-model.sh)"; "$BENCH_DIR/make-large-model.sh" >&2; }

# Machine facts, recorded before any load (the load average shows whether something else was running).
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
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
    --arg model_bytes "$(stat -c %s "$LARGE_MODEL")" \
    '$ARGS.named' >"$RESULTS/machine.json"

# Steps, cheapest first; each appends JSON lines to $RESULTS (read by bench/report/make_report.py).
for step in steps/microbench.sh steps/throughput.sh steps/access-log.sh steps/memory.sh steps/model-load.sh serve-memory.sh; do
    t0=$(date +%s)
    "$BENCH_DIR/$step"
    emit steps step="$step" seconds="$(( $(date +%s) - t0 ))"
done
emit steps step=total seconds="$(( $(date +%s) - started ))" loadavg_end="$(cut -d' ' -f1-3 /proc/loadavg)"

log "writing $report_md"
mkdir -p "$charts"
"$PY" "$BENCH_DIR/report/make_report.py" --results "$RESULTS" --out "$report_md" --charts "$charts" --mode "$mode"
log "done in $(( $(date +%s) - started )) s"
