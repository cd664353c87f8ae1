#!/usr/bin/python3
"""Synthesises language-identification training lines from Debian's /usr/share/dict wordlists.

  langid_training_data.py OUT [LINES_PER_LANGUAGE]

Each line is "__label__xx w1 w2 ..." with words drawn (seeded, so the output is deterministic) from one
language's wordlist. Short words are drawn more often, as in real text, and the words are sometimes
capitalised, upper-cased or followed by punctuation, because the server feeds raw text: it does not lowercase
or strip punctuation. Called by make-demo-model.sh.
"""

import random
import sys

# label -> (wordlist, encoding). Debian packages: wamerican wfrench wngerman witalian wspanish wportuguese
# wdutch wswedish wpolish wdanish.
LANGUAGES = {
    "en": ("/usr/share/dict/american-english", "utf-8"),
    "fr": ("/usr/share/dict/french", "utf-8"),
    "de": ("/usr/share/dict/ngerman", "utf-8"),
    "it": ("/usr/share/dict/italian", "utf-8"),
    "es": ("/usr/share/dict/spanish", "utf-8"),
    "pt": ("/usr/share/dict/portuguese", "utf-8"),
    "nl": ("/usr/share/dict/dutch", "utf-8"),
    "sv": ("/usr/share/dict/swedish", "latin-1"),
    "pl": ("/usr/share/dict/polish", "utf-8"),
    "da": ("/usr/share/dict/danish", "utf-8"),
}

PUNCTUATION = [",", ",", ",", ".", ".", "!", "?", ":", ";"]


def load_words(path, encoding):
    words = set()
    with open(path, "rb") as f:
        for raw in f:
            text = raw.decode(encoding, "replace").strip()
            for word in text.split():
                # Single letters are shared by most languages and carry no signal.
                if len(word) > 1:
                    words.add(word)
    return sorted(words)


def cumulative_weights(words):
    # Zipf-like preference for short words: real text is mostly short, frequent words.
    total = 0.0
    cumulative = []
    for word in words:
        total += 1.0 / (len(word) ** 2)
        cumulative.append(total)
    return cumulative


def main():
    if len(sys.argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    out_path = sys.argv[1]
    lines_per_language = int(sys.argv[2]) if len(sys.argv) == 3 else 30000
    rng = random.Random(1234)
    lines = []
    for label, (path, encoding) in sorted(LANGUAGES.items()):
        words = load_words(path, encoding)
        cumulative = cumulative_weights(words)
        for _ in range(lines_per_language):
            count = rng.randint(3, 14)
            picked = rng.choices(words, cum_weights=cumulative, k=count)
            tokens = []
            for i, word in enumerate(picked):
                r = rng.random()
                if r < 0.03:
                    word = word.upper()
                elif r < 0.15 or (i == 0 and r < 0.6):
                    word = word[:1].upper() + word[1:]
                if rng.random() < 0.12:
                    word += rng.choice(PUNCTUATION)
                tokens.append(word)
            lines.append("__label__" + label + " " + " ".join(tokens))
    rng.shuffle(lines)
    with open(out_path, "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
