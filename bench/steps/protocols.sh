#!/usr/bin/env bash
# Issue 14, protocols: the same inference over OIP JSON, the binary tensor data extension and gRPC ModelInfer
# (raw_input_contents), on the embedded demo model (`sharpserve serve` with no model, --threads 2), against the
# in-process rate of the same request, measured in the same run; and single-text requests/s over gRPC next to
# HTTP at 1, 16 and 64 connections. One client drives all of Sharpserve's protocols (bench/Sharpserve.LoadClient:
# closed loop, bounded by time); wrk drives HTTP as bench/steps/throughput.sh does; wrk and h2load (C) also replay
# the 256-text binary and gRPC requests, at a fraction of the .NET client's CPU per request. Each repeat: the in-process
# rate first (no server running), then one server, every case against it, then the server is stopped.
# Environment (run.sh sets it): PROTO_REPEATS, PROTO_TEXTS, PROTO_BIG_CONNS, PROTO_SINGLE_CONNS, PROTO_SECONDS,
#                               PROTO_WARMUP_S
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
trap stop_all_started EXIT
export COMMANDS_FILE=protocols_commands  # run_wrk records its command here too

: "${PROTO_REPEATS:=3}" "${PROTO_TEXTS:=256}" "${PROTO_BIG_CONNS:=1,2}" "${PROTO_SINGLE_CONNS:=1,16,64}"
: "${PROTO_SECONDS:=4}" "${PROTO_WARMUP_S:=3}"
threads=2
lc_dir="$BENCH_DIR/out/loadclient"
rel() { local a="$*"; echo "${a//$ROOT\//}"; }

log "protocols: building bench/Sharpserve.LoadClient (not part of Sharpserve.sln)"
dotnet build "$BENCH_DIR/Sharpserve.LoadClient" -c Release -o "$lc_dir" >"$LOGS/loadclient-build.log" 2>&1 \
    || { tail -20 "$LOGS/loadclient-build.log" >&2; exit 1; }
lc=(dotnet "$lc_dir/Sharpserve.LoadClient.dll")
# The in-process case maps the model image the server maps (`sharpserve prepare` prints its path).
demo_image=$("$SS_EXE" prepare "$DEMO_MODEL" | tail -1)
common=(--warmup "$PROTO_WARMUP_S" --seconds "$PROTO_SECONDS")
emit protocols_commands cmd="$(rel dotnet build "$BENCH_DIR/Sharpserve.LoadClient" -c Release -o "$lc_dir")"
emit protocols_commands cmd="$(rel "${lc[@]}") inproc --image IMAGE --texts $PROTO_TEXTS --conns $PROTO_BIG_CONNS ${common[*]}   # IMAGE: sharpserve prepare src/Sharpserve/Demo/langid.bin"
emit protocols_commands cmd="$(rel "$SS_EXE") serve --threads $threads --port PORT --grpc-port GRPC_PORT --log-level warning --graceful-timeout 5s"
emit protocols_commands cmd="$(rel "${lc[@]}") http-json|http-binary --url http://127.0.0.1:PORT --texts $PROTO_TEXTS --conns $PROTO_BIG_CONNS ${common[*]}"
emit protocols_commands cmd="$(rel "${lc[@]}") grpc --url http://127.0.0.1:GRPC_PORT --texts $PROTO_TEXTS --conns $PROTO_BIG_CONNS ${common[*]}"
emit protocols_commands cmd="$(rel "${lc[@]}") grpc|http-json --url http://127.0.0.1:GRPC_PORT|PORT --texts 1 --conns $PROTO_SINGLE_CONNS ${common[*]}"
emit protocols_commands cmd="BENCH_TEXTS=lang wrk -tT -cC -d${PROTO_SECONDS}s --timeout 10s -s bench/lua/bench.lua http://127.0.0.1:PORT/labelservice/   # after ${PROTO_WARMUP_S%.*} s at 16 connections"

# Runs the load client and appends its JSON lines to protocols.jsonl with the repeat and the load average.
client() {
    local rep="$1" label="$2" load0 line; shift 2
    load0="$(cut -d' ' -f1-3 /proc/loadavg)"
    "${lc[@]}" "$@" "${common[@]}" --label "$label" 2>>"$LOGS/loadclient.log" | while read -r line; do
        emit protocols tool=loadclient rep="$rep" loadavg="$load0" result="$line"
    done || log "protocols: the load client failed ($label); log: $LOGS/loadclient.log"
}

# The same 256-text requests, replayed byte for byte by load generators written in C: wrk (HTTP/1.1, the binary
# tensor data request, every answer checked by bench/lua/oip_binary.lua) and h2load (HTTP/2, the gRPC ModelInfer
# message; answers checked by their total size, bench/lib/h2load_summary.py). On two cores the client's CPU is taken
# from the server: these cost a fraction of the .NET client's CPU per request.
bodies="$(mktemp -d)"
binary_header_length=$("${lc[@]}" body --case http-binary --texts "$PROTO_TEXTS" --out "$bodies/binary.bin")
"${lc[@]}" body --case grpc --texts "$PROTO_TEXTS" --out "$bodies/grpc.bin"
trap 'stop_all_started; rm -rf "$bodies"' EXIT
grpc_headers=(-H 'content-type: application/grpc' -H 'te: trailers')
grpc_path=/inference.GRPCInferenceService/ModelInfer
emit protocols_commands cmd="$(rel "${lc[@]}") body --case http-binary|grpc --texts $PROTO_TEXTS --out BODY   # prints the binary request's JSON length, LEN"
emit protocols_commands cmd="BENCH_BODY=BODY BENCH_HEADER_LENGTH=LEN wrk -t1 -cC -d${PROTO_SECONDS}s --timeout 10s -s bench/lua/oip_binary.lua http://127.0.0.1:PORT/v2/models/langid/infer   # after ${PROTO_WARMUP_S%.*} s of the same"
emit protocols_commands cmd="h2load -cC -m1 -D${PROTO_SECONDS%.*} -H 'content-type: application/grpc' -H 'te: trailers' -d BODY --log-file LOG http://127.0.0.1:GRPC_PORT$grpc_path   # after ${PROTO_WARMUP_S%.*} s of the same"

# wrk_binary REP PORT CONNS: a warm-up, then the measured run, recorded as tool=wrk-binary.
wrk_binary() {
    local rep="$1" port="$2" c="$3" out l
    out="$(mktemp)"
    BENCH_BODY="$bodies/binary.bin" BENCH_HEADER_LENGTH="$binary_header_length" wrk -t1 -c"$c" -d"${PROTO_WARMUP_S%.*}s" \
        --timeout 10s -s "$BENCH_DIR/lua/oip_binary.lua" "http://127.0.0.1:$port/v2/models/langid/infer" >/dev/null
    l="$(cut -d' ' -f1-3 /proc/loadavg)"
    BENCH_BODY="$bodies/binary.bin" BENCH_HEADER_LENGTH="$binary_header_length" BENCH_JSON="$out" wrk -t1 -c"$c" \
        -d"${PROTO_SECONDS%.*}s" --timeout 10s -s "$BENCH_DIR/lua/oip_binary.lua" "http://127.0.0.1:$port/v2/models/langid/infer" >/dev/null
    emit protocols tool=wrk-binary rep="$rep" conns="$c" texts="$PROTO_TEXTS" loadavg="$l" wrk="$(cat "$out")"
    rm -f "$out"
}

# h2load_grpc REP PORT CONNS: one request alone (the size of a whole answer), a warm-up, then the measured run,
# recorded as tool=h2load.
h2load_grpc() {
    local rep="$1" port="$2" c="$3" url="http://127.0.0.1:$2$grpc_path" answer l
    answer=$(h2load -n1 -c1 "${grpc_headers[@]}" -d "$bodies/grpc.bin" "$url" | sed -n 's/^traffic: .*(\([0-9]*\)) data$/\1/p')
    h2load -c"$c" -m1 -D"${PROTO_WARMUP_S%.*}" "${grpc_headers[@]}" -d "$bodies/grpc.bin" "$url" >/dev/null
    l="$(cut -d' ' -f1-3 /proc/loadavg)"
    h2load -c"$c" -m1 -D"${PROTO_SECONDS%.*}" "${grpc_headers[@]}" -d "$bodies/grpc.bin" --log-file="$bodies/h2.log" \
        "$url" >"$bodies/h2.out"
    emit protocols tool=h2load rep="$rep" conns="$c" texts="$PROTO_TEXTS" loadavg="$l" \
        h2load="$(/usr/bin/python3 "$BENCH_DIR/lib/h2load_summary.py" "$bodies/h2.out" "$bodies/h2.log" "${answer:-0}" "$PROTO_SECONDS")"
}

for rep in $(seq 1 "$PROTO_REPEATS"); do
    load0="$(cut -d' ' -f1-3 /proc/loadavg)"
    log "protocols: rep $rep/$PROTO_REPEATS, in-process, $PROTO_TEXTS texts a request"
    client "$rep" inproc inproc --image "$demo_image" --texts "$PROTO_TEXTS" --conns "$PROTO_BIG_CONNS"

    pick_port; http_port=$PORT
    pick_port; grpc_port=$PORT
    SERVER_LOG="$LOGS/protocols-p$http_port.log" SERVER_CONFIG=sharpserve SERVER_N=$threads
    "$SS_EXE" serve --threads "$threads" --port "$http_port" --grpc-port "$grpc_port" --log-level warning \
        --graceful-timeout 5s >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    STARTED_PIDS+=("$SERVER_PID")
    ready=0
    for _ in $(seq 1 600); do  # at most 60 s
        curl -sf -o /dev/null "http://127.0.0.1:$http_port/v2/health/ready" && { ready=1; break; }
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ "$ready" != 1 ]; then
        log "protocols: server never became ready; log: $SERVER_LOG"; tail -5 "$SERVER_LOG" >&2
        emit protocols tool=server rep="$rep" failed=true; stop_server; continue
    fi

    log "protocols: rep $rep, $PROTO_TEXTS texts a request over OIP JSON, binary tensor data, gRPC"
    client "$rep" http-json http-json --url "http://127.0.0.1:$http_port" --texts "$PROTO_TEXTS" --conns "$PROTO_BIG_CONNS"
    client "$rep" http-binary http-binary --url "http://127.0.0.1:$http_port" --texts "$PROTO_TEXTS" --conns "$PROTO_BIG_CONNS"
    client "$rep" grpc grpc --url "http://127.0.0.1:$grpc_port" --texts "$PROTO_TEXTS" --conns "$PROTO_BIG_CONNS"

    log "protocols: rep $rep, $PROTO_TEXTS texts a request replayed by C load generators: binary (wrk), gRPC (h2load)"
    for c in ${PROTO_BIG_CONNS//,/ }; do
        wrk_binary "$rep" "$http_port" "$c"
        h2load_grpc "$rep" "$grpc_port" "$c"
    done

    log "protocols: rep $rep, one text a request: gRPC and OIP JSON (load client), /labelservice/ (wrk)"
    client "$rep" grpc-single grpc --url "http://127.0.0.1:$grpc_port" --texts 1 --conns "$PROTO_SINGLE_CONNS"
    client "$rep" http-json-single http-json --url "http://127.0.0.1:$http_port" --texts 1 --conns "$PROTO_SINGLE_CONNS"
    PORT=$http_port
    run_wrk 16 "${PROTO_WARMUP_S%.*}s" lang >/dev/null
    for c in ${PROTO_SINGLE_CONNS//,/ }; do
        l="$(cut -d' ' -f1-3 /proc/loadavg)"
        emit protocols tool=wrk rep="$rep" conns="$c" loadavg="$l" wrk="$(run_wrk "$c" "${PROTO_SECONDS}s" lang)"
    done
    stop_server
    emit protocols_run rep="$rep" loadavg_start="$load0" loadavg_end="$(cut -d' ' -f1-3 /proc/loadavg)"
done
