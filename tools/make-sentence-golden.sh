#!/usr/bin/env bash
# Records the golden outputs of Debian's fasttext 0.9.2 CLI for the sentences the server and session tests send:
# the demo model and every committed test model, through `fasttext predict-prob MODEL FILE K [TH]`.
#
#   tools/make-sentence-golden.sh [OUT_DIR]      (default: tests/data/fasttext/sentences)
#
# Needs: Debian package `fasttext` (0.9.2). Trains nothing: it reads the committed models
# (src/Sharpserve/Demo/langid.bin, tests/data/fasttext/models/*.bin), so a rerun gives the same files.
# Outputs (all committed):
#   OUT_DIR/input.txt          one sentence per line; each line is one input (the CLI appends </s> to it, as the
#                              server does to each text)
#   OUT_DIR/cases.txt          one line per CASE: "CASE K TH"
#   OUT_DIR/MODEL.CASE.txt     `fasttext predict-prob MODEL.bin input.txt K [TH]`; MODEL "langid" is the demo model
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${1:-$repo/tests/data/fasttext/sentences}"
fasttext="${FASTTEXT:-/usr/bin/fasttext}"

if [[ ! -x "$fasttext" ]]; then
    echo "error: $fasttext not found (apt-get install fasttext)" >&2
    exit 1
fi

mkdir -p "$out"
rm -f "$out"/*.txt

# The sentences of LabelServiceTests, ProcessModeServer and the README (demo model), then the texts of
# FastTextSessionTests (test models): an empty line, whitespace only, a literal label token, no-break space and
# the rarer separators (\v, \f, \0) inside a line. None contains '\n', so each stays one input.
{
    cat <<'SENTENCES'
Bonjour, je voudrais un café s'il vous plaît
Bonjour, je voudrais un café
Guten Morgen, wie geht es dir?
Buongiorno, vorrei un caffè
Guten Morgen, wie geht es dir heute?
The weather is lovely this afternoon
una cerveza por favor
x
GNU General Public License version 3
Permission is hereby granted, free of charge, to any person
Mozilla Public License лицензия свобода café 🙂

SENTENCES
    printf '   \t \n'
    printf 'zzyzx qqqq\n'
    printf '__label__GPL-3 free software __label__nope\n'
    printf 'a\302\240b THE SOFTWARE IS PROVIDED "AS IS"\n'
    printf 'Apache License\vVersion 2.0\fJanuary 2004\000x\n'
} > "$out/input.txt"

# CASE K TH ("-" = no threshold argument, i.e. the CLI default 0.0). k100 asks for more labels than any model has.
CASES=(
    "k1 1 -"
    "k3 3 -"
    "kall -1 -"
    "kall-th0.1 -1 0.1"
    "k100 100 -"
)
printf '%s\n' "${CASES[@]}" > "$out/cases.txt"

MODELS=("langid|$repo/src/Sharpserve/Demo/langid.bin")
for model in "$repo"/tests/data/fasttext/models/*.bin; do
    name="$(basename "$model" .bin)"
    MODELS+=("$name|$model")
done

for spec in "${MODELS[@]}"; do
    name="${spec%%|*}"
    model="${spec#*|}"
    for case in "${CASES[@]}"; do
        read -r cname k th <<< "$case"
        if [[ "$th" == "-" ]]; then
            "$fasttext" predict-prob "$model" "$out/input.txt" "$k" > "$out/$name.$cname.txt"
        else
            "$fasttext" predict-prob "$model" "$out/input.txt" "$k" "$th" > "$out/$name.$cname.txt"
        fi
    done
    echo "$name: $(wc -l < "$out/$name.k1.txt") lines per case"
done
