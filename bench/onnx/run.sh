#!/usr/bin/env bash
# ONNX weight-sharing bench (issue #6): total PSS for 1, 2, 4 workers with ONNX Runtime's defaults (private
# prepacked copies) vs the baked shared form; p50/p99 at batch 1 and 16; time to ready with and without the
# baked cache. Results: bench/out/onnx/results.md. Usage: bench/onnx/run.sh [D H]  (default 4096 24576 = 768 MiB)
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${1:-4096}; H=${2:-24576}
MODELS=bench/models/onnx-matmul-$D-$H
OUT=bench/out/onnx
CACHE=$OUT/cache
mkdir -p "$OUT"
if ! /usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null; then apt-get install -y python3-onnx; fi
[ -f "$MODELS/matmul.onnx" ] || /usr/bin/python3 bench/onnx/make-matmul-model.py "$MODELS" "$D" "$H"
dotnet build src/Sharpserve/Sharpserve.csproj -c Release -v q -nologo >/dev/null
EXE=src/Sharpserve/bin/Release/net10.0/sharpserve.dll
PORT=18731
RESULTS=$OUT/results.md

now_ms() { date +%s%3N; }

# Sum of Pss and of Anonymous over the front and its worker children, in MiB.
memory() {
    local front=$1 pids
    pids="$front $(pgrep -P "$front" | tr '\n' ' ')"
    local pss=0 anon=0
    for p in $pids; do
        read -r a b < <(awk '/^Pss:/{p=$2} /^Anonymous:/{a=$2} END{print p, a}' "/proc/$p/smaps_rollup")
        pss=$((pss + a)); anon=$((anon + b))
    done
    echo "$((pss / 1024)) $((anon / 1024)) $(echo "$pids" | wc -w)"
}

# serve MODE WORKERS: starts the server, prints "ready_ms pid" once /v2/health/ready answers 200.
serve() {
    local mode=$1 workers=$2 start
    start=$(now_ms)
    SHARPSERVE_ONNX_SHARING=$mode dotnet "$EXE" serve "$MODELS/matmul.onnx" --port $PORT --workers "$workers" \
        --worker-threads 1 --cache-dir "$CACHE" --max-body-size 8m --request-timeout 300s >"$OUT/serve-$mode-$workers.log" 2>&1 &
    local pid=$!
    until curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null 2>&1; do
        kill -0 $pid 2>/dev/null || { echo "server exited; see $OUT/serve-$mode-$workers.log" >&2; exit 1; }
        sleep 0.05
    done
    echo "$(( $(now_ms) - start )) $pid"
}

stop() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }

{
echo "# ONNX weight sharing: $(date -u +%F), $(nproc) cores, weights $(( (2 * D * H * 4) >> 20 )) MiB (D=$D, H=$H)"
echo
echo "| mode | workers | processes | total PSS MiB | total anonymous MiB | ready s | batch 1 p50/p99 ms | batch 16 p50/p99 ms |"
echo "|---|---|---|---|---|---|---|---|"
} >"$RESULTS"

# Bake once (timed: ready without the baked cache), then every prepacked run reuses it.
rm -rf "$CACHE"
for mode in prepacked private; do
    for workers in 1 2 4; do
        read -r ready pid < <(serve $mode "$workers")
        lat1=$(/usr/bin/python3 bench/onnx/client.py "http://127.0.0.1:$PORT" matmul 1 "$D" 20)
        lat16=$(/usr/bin/python3 bench/onnx/client.py "http://127.0.0.1:$PORT" matmul 16 "$D" 10)
        read -r pss anon procs < <(memory "$pid")
        stop "$pid"
        echo "| $mode | $workers | $procs | $pss | $anon | $(awk "BEGIN{printf \"%.2f\", $ready/1000}") | ${lat1/ //} | ${lat16/ //} |" | tee -a "$RESULTS"
    done
done

# Time to ready, 1 worker, with and without the baked cache.
rm -rf "$CACHE"
read -r cold pid < <(serve prepacked 1); stop "$pid"
read -r warm pid < <(serve prepacked 1); stop "$pid"
{
echo
echo "Time to ready (prepacked, 1 worker): without the baked cache $(awk "BEGIN{printf \"%.2f\", $cold/1000}") s (includes baking), with it $(awk "BEGIN{printf \"%.2f\", $warm/1000}") s."
echo "Ready includes the server's HTTP warm-up rounds, which run the model's warm-up request on every round."
} | tee -a "$RESULTS"
