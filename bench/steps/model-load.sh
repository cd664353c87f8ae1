#!/usr/bin/env bash
# Model load: launch → first answer for the large fastText model (~1.4 GB), with the file in the page cache
# (warm: read once just before) and evicted from it (cold: `dd iflag=nocache count=0`, vmtouch -e as a
# fallback; fincore checks what is left). Sharpserve serves a model image that it builds from the .bin on
# first use (`sharpserve prepare`), so it has a third case: first start, no image yet (built, then mapped).
# Cold evicts the .bin and the image. Then one second of random-text load right after ready, because a
# server that maps the file rather than reading it pays for a cold cache on its first requests instead.
# Environment (run.sh sets it): REPEATS, LOAD_SETUPS, DICT_ENTRIES (for the random texts)
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
trap stop_all_started EXIT

: "${REPEATS:=3}" "${DICT_ENTRIES:=5000000}"
# Sharpserve as issue 3 runs it (2 threads); gunicorn preload with one worker: the model is read once.
: "${LOAD_SETUPS:=sharpserve:2 gunicorn-preload:1}"
read -r -a setups <<<"$LOAD_SETUPS"

emit commands config=evict cmd="sync FILE; dd if=FILE iflag=nocache count=0   # FILE: the .bin and Sharpserve's image; fallback: vmtouch -e FILE; check: fincore --bytes FILE"

for rep in $(seq 1 "$REPEATS"); do
    for setup in "${setups[@]}"; do
        config="${setup%%:*}"; n="${setup#*:}"
        cases="cold warm"; [ "${config#sharpserve}" != "$config" ] && cases="no-image cold warm"
        for cache in $cases; do
            method=none
            case "$cache" in
                no-image) rm -f $(image_files "$LARGE_MODEL"); warm "$LARGE_MODEL" ;;
                cold) method=$(evict "$LARGE_MODEL") ;;
                warm) warm "$LARGE_MODEL" ;;
            esac
            resident_before=$(cached_bytes "$LARGE_MODEL")
            image_before=$(cached_bytes $(image_files "$LARGE_MODEL"))
            log "model load: rep $rep/$REPEATS, $config N=$n, page cache $cache"
            start_server "$config" "$n" "ft:$LARGE_MODEL"
            if ! ready=$(wait_server 300); then
                emit model_load config="$config" n="$n" rep="$rep" cache="$cache" failed=true; stop_server; continue
            fi
            resident_ready=$(cached_bytes "$LARGE_MODEL"); image_ready=$(cached_bytes $(image_files "$LARGE_MODEL"))
            first_second=$(run_wrk 16 1s "random:$DICT_ENTRIES:10")
            resident_after=$(cached_bytes "$LARGE_MODEL"); image_after=$(cached_bytes $(image_files "$LARGE_MODEL"))
            stop_server
            emit model_load config="$config" n="$n" rep="$rep" cache="$cache" eviction="$method" \
                file_bytes="$(stat -c %s "$LARGE_MODEL")" resident_before="$resident_before" \
                resident_at_ready="$resident_ready" resident_after="$resident_after" image_before="$image_before" \
                image_at_ready="$image_ready" image_after="$image_after" ready="$ready" first_second="$first_second"
        done
    done
done
