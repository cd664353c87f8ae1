#!/usr/bin/env bash
# ONNX weight-sharing bench (issue #6). For ONNX Runtime's defaults ("private": every process prepacks its own
# copy of the weights) and Sharpserve's baked shared form ("prepacked"):
#   1. total PSS and anonymous memory with 1, 2 and 4 workers, and time to ready with the baked cache;
#   2. batch-1 and batch-16 latency, the two modes side by side (one worker each, requests alternating A/B);
#   3. time to ready without and with the baked cache, thread mode and 1 and 4 workers.
# Writes bench/out/onnx/results.json, then bench/onnx/report.py puts a section and charts into
# docs/benchmarks.md (docs/benchmarks/onnx/). Usage: bench/onnx/run.sh [D H]  (default 4096 24576 = 768 MiB)
# Traffic goes to 127.0.0.1 only; every server started here is stopped here, by its PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${1:-4096}; H=${2:-24576}
MODELS=bench/models/onnx-matmul-$D-$H
OUT=bench/out/onnx
CACHE=$OUT/cache
mkdir -p "$OUT"
if ! /usr/bin/python3 -c 'import onnx, numpy, matplotlib' 2>/dev/null || ! command -v jq >/dev/null || ! command -v curl >/dev/null; then
    apt-get install -y python3-onnx python3-numpy python3-matplotlib jq curl
fi
[ -f "$MODELS/matmul.onnx" ] || /usr/bin/python3 bench/onnx/make-matmul-model.py "$MODELS" "$D" "$H"
dotnet build src/Sharpserve/Sharpserve.csproj -c Release -v q -nologo >/dev/null
EXE=src/Sharpserve/bin/Release/net10.0/sharpserve.dll
PORT_A=18731; PORT_B=18732
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; } # every server started here
for port in $PORT_A $PORT_B; do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "port $port is already in use; stop that server first" >&2; exit 1; fi
done
trap cleanup EXIT

now_ms() { date +%s%3N; }

# Sum of Pss and of Anonymous (MiB) over the front and its worker children, and the process count.
memory() {
    local front=$1 pids pss=0 anon=0
    pids="$front $(pgrep -P "$front" | tr '\n' ' ' || true)"
    for p in $pids; do
        read -r a b < <(awk '/^Pss:/{p=$2} /^Anonymous:/{a=$2} END{print p, a}' "/proc/$p/smaps_rollup")
        pss=$((pss + a)); anon=$((anon + b))
    done
    echo "$((pss / 1024)) $((anon / 1024)) $(echo "$pids" | wc -w)"
}

# serve SHARING WORKERS PORT: starts a server (WORKERS 0: thread mode) and prints "ready_ms pid" once
# /v2/health/ready answers 200.
serve() {
    local sharing=$1 workers=$2 port=$3 start mode
    if [ "$workers" = 0 ]; then mode=(--threads 1); else mode=(--workers "$workers" --worker-threads 1); fi
    start=$(now_ms)
    SHARPSERVE_ONNX_SHARING=$sharing dotnet "$EXE" serve "$MODELS/matmul.onnx" --port "$port" "${mode[@]}" \
        --cache-dir "$CACHE" --max-body-size 8m --request-timeout 300s >"$OUT/serve-$sharing-$workers.log" 2>&1 &
    local pid=$!
    until curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1; do
        kill -0 $pid 2>/dev/null || { echo "server exited; see $OUT/serve-$sharing-$workers.log" >&2; exit 1; }
        sleep 0.02
    done
    echo "$(( $(now_ms) - start )) $pid"
}

# stop PID: SIGTERM, then wait (bounded) until the front and its workers are gone, so the next start does not
# share the cores with their shutdown. The server runs in a process substitution, so it is not this shell's
# child and `wait` cannot be used.
stop() {
    local pid=$1 kids i
    kids=$(pgrep -P "$pid" | tr '\n' ' ' || true) # none in thread mode
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 600); do
        local alive=0
        for p in $pid $kids; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && return 0
        sleep 0.05
    done
    echo "server $pid or its workers did not stop within 30 s" >&2
}

# all_ready PORT START_MS: process mode is ready with its first worker; waits (bounded) until every worker is Ready
# and prints the ms since START_MS.
all_ready() {
    local port=$1 start=$2 deadline=$(( $(date +%s) + 120 ))
    until curl -sf "http://127.0.0.1:$port/status" | jq -e \
        'all(.models[]; (.target_workers // 0) == ([.workers[]? | select(.state == "ready")] | length))' >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "workers never all ready" >&2; exit 1; }
        sleep 0.01
    done
    echo "$(( $(now_ms) - start ))"
}

record() { echo "$1" | tee -a "$RESULTS"; }

# Bake once, so every prepacked run below starts with the baked cache.
rm -rf "$CACHE"
read -r bake pid < <(serve prepacked 1 $PORT_A); PIDS+=("$pid"); stop "$pid"

# 1. Memory and ready per worker count.
for sharing in prepacked private; do
    for workers in 1 2 4; do
        start=$(now_ms)
        read -r ready pid < <(serve $sharing "$workers" $PORT_A); PIDS+=("$pid")
        all=$(all_ready $PORT_A "$start")
        /usr/bin/python3 bench/onnx/client.py matmul 16 "$D" 5 "http://127.0.0.1:$PORT_A" >/dev/null # touch every page in use
        read -r pss anon procs < <(memory "$pid")
        stop "$pid"
        record "{\"kind\":\"memory\",\"sharing\":\"$sharing\",\"workers\":$workers,\"processes\":$procs,\"pss_mib\":$pss,\"anon_mib\":$anon,\"ready_ms\":$ready,\"all_ready_ms\":$all}"
    done
done

# 2. Latency, side by side: one worker of each mode, requests alternating between them.
read -r _ pid_a < <(serve prepacked 1 $PORT_A); PIDS+=("$pid_a")
read -r _ pid_b < <(serve private 1 $PORT_B); PIDS+=("$pid_b")
all_ready $PORT_A "$(now_ms)" >/dev/null; all_ready $PORT_B "$(now_ms)" >/dev/null
for batch in 1 16; do
    n=$([ "$batch" = 1 ] && echo 60 || echo 40)
    read -r a50 a99 b50 b99 < <(/usr/bin/python3 bench/onnx/client.py matmul "$batch" "$D" "$n" "http://127.0.0.1:$PORT_A" "http://127.0.0.1:$PORT_B")
    record "{\"kind\":\"latency\",\"batch\":$batch,\"requests\":$n,\"prepacked_p50\":$a50,\"prepacked_p99\":$a99,\"private_p50\":$b50,\"private_p99\":$b99}"
done
stop "$pid_a"; stop "$pid_b"; PIDS=()

# 3. Time to ready, without the baked cache (includes baking) and with it.
for workers in 0 1 4; do
    rm -rf "$CACHE"
    read -r cold pid < <(serve prepacked "$workers" $PORT_A); PIDS+=("$pid"); stop "$pid"
    sync # the fresh bake's 1.5 GB of dirty pages would otherwise be written back during the next start
    start=$(now_ms)
    read -r warm pid < <(serve prepacked "$workers" $PORT_A); PIDS+=("$pid")
    all=$(all_ready $PORT_A "$start"); stop "$pid"
    record "{\"kind\":\"ready\",\"workers\":$workers,\"cold_ms\":$cold,\"warm_ms\":$warm,\"all_ready_ms\":$all}"
done

/usr/bin/python3 - "$RESULTS" "$OUT/results.json" "$D" "$H" "$(nproc)" "$(git rev-parse --short HEAD)" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump({"d": int(sys.argv[3]), "h": int(sys.argv[4]), "cores": int(sys.argv[5]), "commit": sys.argv[6], "rows": rows},
          open(sys.argv[2], "w"), indent=1)
PY
/usr/bin/python3 bench/onnx/report.py "$OUT/results.json"
