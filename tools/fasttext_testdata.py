#!/usr/bin/python3
"""Deterministic data for the fastText backend tests (called by make-fasttext-test-models.sh).

  fasttext_testdata.py train OUT   writes labelled training lines from /usr/share/common-licenses
  fasttext_testdata.py input OUT   writes the prediction input with the edge cases of the fact sheet (section 7)

Everything is seeded, so the same Debian files give the same bytes.
"""

import os
import random
import sys

LICENSE_DIR = "/usr/share/common-licenses"
# Real files only (GPL, LGPL and GFDL are symlinks to these). One label per file.
LICENSES = [
    "Apache-2.0", "Artistic", "BSD", "CC0-1.0", "GFDL-1.2", "GFDL-1.3", "GPL-1", "GPL-2", "GPL-3",
    "LGPL-2", "LGPL-2.1", "LGPL-3", "MPL-1.1", "MPL-2.0",
]

# Non-ASCII words: Latin accents, Greek, Cyrillic, CJK, emoji, and a word with NBSP inside.
EXOTIC = [
    "café", "naïve", "über", "façade", "señal", "λόγος", "άδεια", "лицензия", "свобода",
    "许可证", "自由软件", "ライセンス", "🙂", "🚀launch", "smörgåsbord", "Ærø", "niño",
    "coöperate", "déjà", "Straße", "ﬁle", "a\u00a0b",
]


def license_lines(name):
    with open(os.path.join(LICENSE_DIR, name), "rb") as f:
        data = f.read()
    lines = []
    for raw in data.split(b"\n"):
        text = raw.decode("utf-8", "replace").strip()
        if text:
            lines.append(text)
    return lines


def write_train(path):
    rng = random.Random(20240601)
    out = []
    for index, name in enumerate(LICENSES):
        # Each label prefers a few exotic words, so they carry signal.
        preferred = [EXOTIC[(index * 3 + j) % len(EXOTIC)] for j in range(3)]
        for line in license_lines(name):
            words = line.split()
            if rng.random() < 0.3:
                words.insert(rng.randrange(len(words) + 1), rng.choice(preferred))
            if rng.random() < 0.05:
                words.insert(rng.randrange(len(words) + 1), rng.choice(EXOTIC))
            out.append("__label__" + name + " " + " ".join(words))
    rng.shuffle(out)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in out:
            f.write(line + "\n")


def write_input(path):
    rng = random.Random(7)
    pool = []
    for name in LICENSES:
        pool.extend(license_lines(name))
    vocab = sorted({w for line in pool for w in line.split()})

    lines = []  # list of bytes, each WITHOUT its terminator
    # Plain license lines, some lowercased or shuffled.
    for _ in range(260):
        line = rng.choice(pool)
        r = rng.random()
        if r < 0.15:
            line = line.lower()
        elif r < 0.3:
            words = line.split()
            rng.shuffle(words)
            line = " ".join(words)
        elif r < 0.4:
            line = line.upper()
        lines.append(line.encode("utf-8"))
    # Random word salads from the vocabulary, with exotic and OOV words.
    for i in range(80):
        words = [rng.choice(vocab) for _ in range(rng.randrange(1, 14))]
        if rng.random() < 0.5:
            words.insert(rng.randrange(len(words) + 1), rng.choice(EXOTIC))
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words) + 1), "oovword%03d" % i)
        lines.append(" ".join(words).encode("utf-8"))

    nasty = [
        b"",
        b"   ",
        b"\t\t",
        b" \x0b \x0c ",
        b"software license\r",                       # CRLF
        b"\r",                                       # CR alone then LF
        b"the\rsoftware\rfree",                      # CR as a separator inside a line
        b"free\x00software\x00foundation",           # NUL separators
        b"copyright\x0bnotice\x0cand\tpermission",   # \v \f \t separators
        b"\x80\x80abc license",                      # stray continuation bytes
        b"\xbf license \x80",                        # continuation bytes alone
        b"\xff\xfe invalid \xc3 utf8 \xe2\x82",      # invalid UTF-8
        b"caf\xc3 licen\xc3\xa9",                    # truncated sequence then valid
        b"__label__GPL-3 this is a license",         # label token in vocabulary
        b"free __label__MPL-2.0 software",           # label between words (bigram spans it)
        b"__label__NotALabel software",              # label-like OOV token
        b"__label__",                                # bare prefix
        b"__label__GPL-2",                           # only a label
        b"hello </s> world",                         # literal </s> ends a record
        b"</s>",
        b"</s> </s>",
        b"license</s>",                              # not a separate token
        b"zzyzx qqqq xyzzy plugh",                   # OOV only
        b"A" * 300,                                  # 300-byte token
        b"license " + b"\xc3\xa9" * 150 + b" free",  # 300-byte non-ASCII token
        "GNU General Public License version 3 café λόγος 许可证 🙂".encode("utf-8"),
        "Mozilla Public License лицензия свобода".encode("utf-8"),
        "a\u00a0b non-breaking\u00a0space and\u2003em space".encode("utf-8"),
        b"   leading and trailing spaces   ",
        b"multiple     spaces\t\tand tabs",
        b"THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND",
        b"Permission is hereby granted, free of charge,\r",
        b"x",
        b"<",
        b">",
        b"<>",
        b"<s>",
        b"\xf0\x9f\x99\x82\xf0\x9f\x99\x82\xf0\x9f\x99\x82",
    ]
    for item in nasty:
        lines.insert(rng.randrange(len(lines) + 1), item)
    # A few blank lines in a row and a CRLF block.
    at = rng.randrange(len(lines))
    lines[at:at] = [b"", b"", b"   "]
    at = rng.randrange(len(lines))
    lines[at:at] = [b"GNU Lesser General Public License\r", b"\r", b"Apache License Version 2.0\r"]

    with open(path, "wb") as f:
        f.write(b"\n".join(lines))
        f.write(b"\n")
        # The last line has no newline, so it gets no </s>; it is a lone OOV word, so models without
        # subwords have no feature at all and print an empty line.
        f.write(b"zzyzx_last_line_without_newline")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("train", "input"):
        sys.stderr.write(__doc__)
        return 2
    if sys.argv[1] == "train":
        write_train(sys.argv[2])
    else:
        write_input(sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
