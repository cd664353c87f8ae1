#!/usr/bin/env bash
# Which .NET GC mode suits the front and the workers: requests/s and memory of the demo model served in thread
# mode (--threads 2, the front does everything) and in process mode (--workers 2) under Server or Workstation GC,
# concurrent on or off, chosen with the runtime's own DOTNET_gcServer / DOTNET_gcConcurrent (which workers inherit).
# A benchmark, not a test: prints a markdown table; docs/benchmarks.md ("GC mode per role") keeps the result.
#
#   bench/gc-modes.sh [DURATION]     default 10s per load; needs wrk, curl, jq and a Release build
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10s}"
dll="${SHARPSERVE_DLL:-src/Sharpserve/bin/Release/net10.0/sharpserve.dll}"
[ -f "$dll" ] || dotnet build src/Sharpserve -c Release >/dev/null
cache="$(mktemp -d -t sharpserve-gc-bench.XXXXXX)"
trap 'rm -rf "$cache"' EXIT
port=18431

# Sum of a field of /proc/PID/smaps_rollup over PIDs, in MiB.
sum_mib() {
    local field="$1"; shift
    local kb=0 pid value
    for pid in "$@"; do
        value=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/smaps_rollup")
        kb=$((kb + value))
    done
    awk -v kb="$kb" 'BEGIN { printf "%.1f", kb / 1024 }'
}

uss_mib() {
    local kb=0 pid a b
    for pid in "$@"; do
        a=$(awk '$1 == "Private_Clean:" { print $2 }' "/proc/$pid/smaps_rollup")
        b=$(awk '$1 == "Private_Dirty:" { print $2 }' "/proc/$pid/smaps_rollup")
        kb=$((kb + a + b))
    done
    awk -v kb="$kb" 'BEGIN { printf "%.1f", kb / 1024 }'
}

echo "| mode | GC | concurrent | requests/s | front PSS MiB | front private MiB | worker PSS MiB (each) | worker private MiB (each) |"
echo "|---|---|---|---|---|---|---|---|"
for mode in thread process; do
    for server in 1 0; do
        for concurrent in 0 1; do
            if [ "$mode" = thread ]; then args=(--threads 2); else args=(--workers 2); fi
            SHARPSERVE_CACHE_DIR="$cache" DOTNET_gcServer=$server DOTNET_gcConcurrent=$concurrent \
                dotnet "$dll" serve --port "$port" "${args[@]}" --log-level warning >/dev/null 2>&1 &
            front=$!
            for _ in $(seq 1 300); do
                curl -fs "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1 && break
                sleep 0.1
            done
            workers=()
            if [ "$mode" = process ]; then
                for _ in $(seq 1 100); do
                    mapfile -t workers < <(curl -fs "http://127.0.0.1:$port/status" | jq -r '.models[0].workers[] | select(.state == "ready") | .pid')
                    [ "${#workers[@]}" -eq 2 ] && break
                    sleep 0.1
                done
            fi
            rps=$(BENCH_JSON=/dev/null wrk -t2 -c16 -d"$duration" -s bench/lua/bench.lua "http://127.0.0.1:$port/labelservice/" 2>/dev/null \
                | awk '/^Requests\/sec/ { printf "%.0f", $2 }')
            front_pss=$(sum_mib Pss "$front")
            front_uss=$(uss_mib "$front")
            worker_pss="-"; worker_uss="-"
            if [ "${#workers[@]}" -gt 0 ]; then
                worker_pss=$(awk -v t="$(sum_mib Pss "${workers[@]}")" -v n="${#workers[@]}" 'BEGIN { printf "%.1f", t / n }')
                worker_uss=$(awk -v t="$(uss_mib "${workers[@]}")" -v n="${#workers[@]}" 'BEGIN { printf "%.1f", t / n }')
            fi
            gc=$([ "$server" = 1 ] && echo Server || echo Workstation)
            echo "| $mode | $gc | $([ "$concurrent" = 1 ] && echo on || echo off) | $rps | $front_pss | $front_uss | $worker_pss | $worker_uss |"
            kill "$front"
            wait "$front" 2>/dev/null || true
        done
    done
done
