#!/usr/bin/env bash
# Trains the demo language-identification model embedded in the server: src/Sharpserve/Demo/langid.bin.
#
#   tools/make-demo-model.sh [OUT]
#
# Needs: Debian packages fasttext (0.9.2) and the wordlists wamerican wfrench wngerman witalian wspanish
# wportuguese wdutch wswedish wpolish wdanish (/usr/share/dict), and /usr/bin/python3.
# Training lines are synthesised from the wordlists (tools/langid_training_data.py, seeded) and the model uses
# char n-grams (minn 2, maxn 4), dim 16 and a small bucket so the file stays under ~4 MB. Training runs on one
# thread with a fixed seed, so a rerun on the same Debian release gives the same file.
# The script fails unless the sanity sentences below are classified correctly.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${1:-$repo/src/Sharpserve/Demo/langid.bin}"
fasttext="${FASTTEXT:-/usr/bin/fasttext}"
python="${PYTHON:-/usr/bin/python3}"
lines_per_language="${LINES_PER_LANGUAGE:-30000}"

if [[ ! -x "$fasttext" ]]; then
    echo "error: $fasttext not found (apt-get install fasttext)" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$python" "$here/langid_training_data.py" "$work/train.txt" "$lines_per_language"
"$fasttext" supervised -input "$work/train.txt" -output "$work/langid" \
    -loss softmax -dim 16 -minn 2 -maxn 4 -bucket 50000 -minCount 20 -wordNgrams 1 \
    -epoch 10 -lr 0.5 -thread 1 -seed 1 -verbose 0

# One simple sentence per language: "expected-label<TAB>sentence". The French one is the README's example.
cat > "$work/sanity.tsv" <<'SENTENCES'
fr	Bonjour, je voudrais un café s'il vous plaît
en	The weather is nice today and I would like a cup of coffee
de	Guten Morgen, ich hätte gern einen Kaffee mit Milch
it	Buongiorno, vorrei un caffè con latte per favore
es	Buenos días, quisiera un café con leche por favor
pt	Bom dia, eu queria um café com leite, por favor
nl	Goedemorgen, ik wil graag een kopje koffie met melk
sv	God morgon, jag skulle vilja ha en kopp kaffe med mjölk
pl	Dzień dobry, poproszę filiżankę kawy z mlekiem
da	Godmorgen, jeg vil gerne have en kop kaffe med mælk
SENTENCES

cut -f2 "$work/sanity.tsv" > "$work/sanity.txt"
"$fasttext" predict-prob "$work/langid.bin" "$work/sanity.txt" 1 > "$work/predictions.txt"

failed=0
while IFS=$'\t' read -r expected sentence && read -r label prob <&3; do
    if [[ "$label" == "__label__$expected" ]]; then
        mark="ok  "
    else
        mark="FAIL"
        failed=$((failed + 1))
    fi
    printf '%s %-12s %-8s %s\n' "$mark" "$label" "$prob" "$sentence"
done < "$work/sanity.tsv" 3< "$work/predictions.txt"

french="$(head -n 1 "$work/predictions.txt" | cut -d' ' -f1)"
if [[ "$french" != "__label__fr" ]]; then
    echo "error: the French sanity sentence was classified as $french" >&2
    exit 1
fi
if (( failed > 0 )); then
    echo "error: $failed sanity sentence(s) misclassified" >&2
    exit 1
fi

mkdir -p "$(dirname "$out")"
cp "$work/langid.bin" "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
