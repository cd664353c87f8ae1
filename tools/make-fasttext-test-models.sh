#!/usr/bin/env bash
# Trains the small fastText test models and records the golden outputs of Debian's fasttext 0.9.2 CLI.
#
#   tools/make-fasttext-test-models.sh [OUT_DIR]      (default: tests/data/fasttext)
#
# Needs: Debian packages `fasttext` (0.9.2) and `base-files` (/usr/share/common-licenses), /usr/bin/python3.
# Outputs (all committed):
#   OUT_DIR/models/NAME.bin             one model per loss / feature combination (see MODELS below)
#   OUT_DIR/models/softmax-ng2.ftz      a quantized model (the backend refuses it with a clear message)
#   OUT_DIR/input.txt                   prediction input with the edge cases of shared/formats/fasttext.md §7
#   OUT_DIR/golden/NAME.CASE.txt        `fasttext predict-prob NAME.bin input.txt K [TH]` for each CASE
#   OUT_DIR/cases.txt                   one line per CASE: "CASE K TH"
# Training uses -thread 1 and a fixed -seed, so a rerun on the same Debian release gives the same files.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${1:-$repo/tests/data/fasttext}"
fasttext="${FASTTEXT:-/usr/bin/fasttext}"
python="${PYTHON:-/usr/bin/python3}"

if [[ ! -x "$fasttext" ]]; then
    echo "error: $fasttext not found (apt-get install fasttext)" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$out/models" "$out/golden"
rm -f "$out"/models/*.bin "$out"/models/*.ftz "$out"/golden/*.txt

"$python" "$here/fasttext_testdata.py" train "$work/train.txt"
"$python" "$here/fasttext_testdata.py" input "$out/input.txt"

# NAME|extra fasttext arguments. Every model is small (dim 4-12, bucket <= 12007) so the set stays < 4 MB.
# hs-one-label is trained on the BSD lines only: with one label the tree's root is its only leaf.
grep '^__label__BSD ' "$work/train.txt" > "$work/train-one-label.txt"
MODELS=(
    "softmax-ng2|-loss softmax -dim 10 -wordNgrams 2 -bucket 10007 -epoch 10 -lr 0.5"
    "softmax-default|-loss softmax -dim 12 -epoch 10 -lr 0.5"
    "hs-sub|-loss hs -dim 8 -minn 3 -maxn 5 -bucket 8009 -epoch 10 -lr 0.5"
    "hs-sharp|-loss hs -dim 8 -minn 3 -maxn 5 -bucket 5003 -epoch 50 -lr 1.0"
    "ova-sub-ng3|-loss ova -dim 8 -minn 2 -maxn 4 -wordNgrams 3 -bucket 12007 -epoch 10 -lr 0.5"
    "ns-sub-ng2|-loss ns -dim 8 -minn 1 -maxn 3 -wordNgrams 2 -bucket 9001 -epoch 10 -lr 0.5 -neg 5"
    "hs-one-label|-loss hs -dim 4 -minn 2 -maxn 3 -bucket 1009 -epoch 5"
)

# CASE K TH ("-" = no threshold argument, i.e. the CLI default 0.0)
CASES=(
    "k1 1 -"
    "k3 3 -"
    "kall -1 -"
    "k3-th0.05 3 0.05"
    "kall-th0.2 -1 0.2"
)
printf '%s\n' "${CASES[@]}" > "$out/cases.txt"

for spec in "${MODELS[@]}"; do
    name="${spec%%|*}"
    args="${spec#*|}"
    train="$work/train.txt"
    [[ "$name" == "hs-one-label" ]] && train="$work/train-one-label.txt"
    # shellcheck disable=SC2086 # $args is a list of arguments on purpose
    "$fasttext" supervised -input "$train" -output "$work/$name" -thread 1 -seed 1 -verbose 0 $args
    cp "$work/$name.bin" "$out/models/$name.bin"
    for case in "${CASES[@]}"; do
        read -r cname k th <<< "$case"
        if [[ "$th" == "-" ]]; then
            "$fasttext" predict-prob "$out/models/$name.bin" "$out/input.txt" "$k" > "$out/golden/$name.$cname.txt"
        else
            "$fasttext" predict-prob "$out/models/$name.bin" "$out/input.txt" "$k" "$th" > "$out/golden/$name.$cname.txt"
        fi
    done
    echo "$name: $(stat -c %s "$out/models/$name.bin") bytes"
done

# A quantized copy of softmax-ng2, only to check that .ftz files are recognised and refused.
cp "$work/softmax-ng2.bin" "$work/quantized.bin"
"$fasttext" quantize -input "$work/train.txt" -output "$work/quantized" -cutoff 1000 -verbose 0
cp "$work/quantized.ftz" "$out/models/softmax-ng2.ftz"
echo "softmax-ng2.ftz: $(stat -c %s "$out/models/softmax-ng2.ftz") bytes"

du -sh "$out"
