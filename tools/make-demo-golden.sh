#!/usr/bin/env bash
# Records the golden outputs of Debian's fasttext 0.9.2 CLI for the demo model (src/Sharpserve/Demo/langid.bin), which
# the worker conformance suite (tests/Sharpserve.WorkerConformance.Tests) compares the C# worker's answers with.
#
#   tools/make-demo-golden.sh [OUT_DIR]      (default: tests/data/fasttext/demo)
#
# Needs: Debian package `fasttext` (0.9.2). Outputs (all committed):
#   OUT_DIR/input.txt            one text per line: the demo model's sanity sentences, shorter ones, an empty line
#   OUT_DIR/cases.txt            one line per CASE: "CASE K TH" ("-" = no threshold argument, the CLI default 0.0)
#   OUT_DIR/langid.CASE.txt      `fasttext predict-prob langid.bin input.txt K [TH]`
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${1:-$repo/tests/data/fasttext/demo}"
fasttext="${FASTTEXT:-/usr/bin/fasttext}"
model="$repo/src/Sharpserve/Demo/langid.bin"

if [[ ! -x "$fasttext" ]]; then
    echo "error: $fasttext not found (apt-get install fasttext)" >&2
    exit 1
fi

mkdir -p "$out"
rm -f "$out"/langid.*.txt

# The sanity sentences of make-demo-model.sh, short texts, non-ASCII, repeated spaces and tabs, and an empty line.
cat > "$out/input.txt" <<'TEXTS'
Bonjour, je voudrais un café s'il vous plaît
The weather is nice today and I would like a cup of coffee
Guten Morgen, ich hätte gern einen Kaffee mit Milch
Buongiorno, vorrei un caffè con latte per favore
Buenos días, quisiera un café con leche por favor
Bom dia, eu queria um café com leite, por favor
Goedemorgen, ik wil graag een kopje koffie met melk
God morgon, jag skulle vilja ha en kopp kaffe med mjölk
Dzień dobry, poproszę filiżankę kawy z mlekiem
Godmorgen, jeg vil gerne have en kop kaffe med mælk
Guten Morgen, wie geht es dir?
Où est la gare ?
merci	beaucoup   mon ami

TEXTS

# kall comes first: its lines hold every label, which tells the tests the model's label count.
CASES=(
    "kall -1 -"
    "k1 1 -"
    "k3 3 -"
    "k3-th0.1 3 0.1"
    "kall-th0.2 -1 0.2"
)
printf '%s\n' "${CASES[@]}" > "$out/cases.txt"

for case in "${CASES[@]}"; do
    read -r name k th <<< "$case"
    if [[ "$th" == "-" ]]; then
        "$fasttext" predict-prob "$model" "$out/input.txt" "$k" > "$out/langid.$name.txt"
    else
        "$fasttext" predict-prob "$model" "$out/input.txt" "$k" "$th" > "$out/langid.$name.txt"
    fi
done
echo "wrote $out: $(wc -l < "$out/input.txt") texts x ${#CASES[@]} cases"
