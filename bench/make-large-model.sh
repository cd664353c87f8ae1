#!/usr/bin/env bash
# Makes a large fastText supervised model (default ~1.4 GB) for memory and start-up benchmarks, by training
# Debian's fasttext on local text with a large -bucket: the input matrix is (nwords + bucket) x dim floats.
# Usage: bench/make-large-model.sh [OUT.bin] [BUCKET] [DIM]     (needs: apt-get install fasttext)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/models/large.bin}"
bucket="${2:-7000000}"
dim="${3:-50}"
command -v fasttext >/dev/null || { echo "needs Debian's fasttext: apt-get install fasttext" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Training text: every licence text shipped in Debian's base-files, one label per file.
for f in /usr/share/common-licenses/*; do
    [ -f "$f" ] || continue
    label="$(basename "$f" | tr -c 'A-Za-z0-9.\n-' '_')"
    tr -s '[:space:]' ' ' <"$f" | fold -w 200 -s | sed "s/^/__label__$label /" >>"$work/train.txt"
done

fasttext supervised -input "$work/train.txt" -output "$work/large" -dim "$dim" -bucket "$bucket" \
    -wordNgrams 2 -minn 3 -maxn 5 -epoch 1 -thread 2 -verbose 0
mv "$work/large.bin" "$out"
ls -l "$out"
