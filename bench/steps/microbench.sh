#!/usr/bin/env bash
# The in-process limit: the fastText backend's own predict cost with no server around it (BenchmarkDotNet,
# bench/Sharpserve.Microbenchmarks, in-process toolchain), and the fastText Python module's on the same inputs.
# Environment (run.sh sets it): QUICK (1: BenchmarkDotNet's Dry job), DICT_ENTRIES (random-text range)
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
: "${QUICK:=0}" "${DICT_ENTRIES:=5000000}"

log "micro-benchmark: building bench/Sharpserve.Microbenchmarks (not part of Sharpserve.sln)"
dotnet build "$BENCH_DIR/Sharpserve.Microbenchmarks" -c Release -o "$BENCH_DIR/out/microbench" \
    >"$LOGS/microbench-build.log" 2>&1 || { tail -20 "$LOGS/microbench-build.log" >&2; exit 1; }
extra=(); [ "$QUICK" = 1 ] && extra=(--quick)
# The server predicts from model images mapped read-only; so does the micro-benchmark.
demo_image=$("$SS_EXE" prepare "$DEMO_MODEL" | tail -1)
large_image=$("$SS_EXE" prepare "$LARGE_MODEL" | tail -1)
rel() { local a="$*"; echo "${a//$ROOT\//}"; }
emit commands config=microbench cmd="$(rel "$SS_EXE" prepare "$LARGE_MODEL")   # prints the image path; same for the demo model"
emit commands config=microbench cmd="$(rel dotnet build "$BENCH_DIR/Sharpserve.Microbenchmarks" -c Release -o "$BENCH_DIR/out/microbench")"
emit commands config=microbench cmd="$(rel dotnet "$BENCH_DIR/out/microbench/Sharpserve.Microbenchmarks.dll" --demo-image "$demo_image" --large-image "$large_image" --entries "$DICT_ENTRIES" --out "$RESULTS/microbench.json" --artifacts "$BENCH_DIR/out/bdn" "${extra[@]}")"
log "micro-benchmark: running (log: $LOGS/microbench.log)"
dotnet "$BENCH_DIR/out/microbench/Sharpserve.Microbenchmarks.dll" --demo-image "$demo_image" --large-image "$large_image" \
    --entries "$DICT_ENTRIES" --out "$RESULTS/microbench.json" --artifacts "$BENCH_DIR/out/bdn" "${extra[@]}" \
    >"$LOGS/microbench.log" 2>&1 || { tail -30 "$LOGS/microbench.log" >&2; exit 1; }
seconds=5; [ "$QUICK" = 1 ] && seconds=1
log "micro-benchmark: fastText Python module, same inputs"
emit commands config=microbench cmd="$(rel "$PY" "$BENCH_DIR/python/predict_cost.py" "$DEMO_MODEL" "$LARGE_MODEL" "$DICT_ENTRIES" "$seconds")"
"$PY" "$BENCH_DIR/python/predict_cost.py" "$DEMO_MODEL" "$LARGE_MODEL" "$DICT_ENTRIES" "$seconds" \
    >"$RESULTS/predict_cost_python.json"
