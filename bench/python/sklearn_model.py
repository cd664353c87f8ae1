"""A scikit-learn text classifier: TfidfVectorizer + SGDClassifier, trained by load() on a synthetic corpus.

Why it exists: the dict model (dict_model.py) is all Python objects; a real Python model is usually a mix. This
one holds a vocabulary dict of about VOCAB Python strings and ints (the vectorizer's `vocabulary_`) next to numpy
arrays (`idf_`, the classifier's `coef_`: 10 x VOCAB float64), a few hundred MB in all at the default size.
After a fork the numpy arrays stay shared until written (nothing writes them), while every lookup in the
vocabulary writes reference counts into the pages it touches.

The corpus is deterministic (numpy's generator with a fixed seed; SGDClassifier with random_state=0): DOCS
documents of WORDS tokens "w<hex i>", i in [0, VOCAB), the same token shape as the dict model's keys, so the
load generator's random texts (bench/lua/bench.lua, BENCH_TEXTS=random:VOCAB:10) are made of known words. A
document's label is the dict model's label of its first token, so the classes are learnable.

  python3 sklearn_model.py [VOCAB]   prints JSON: the size of one copy (anonymous memory after load() minus
                                     before), the load time, and one prediction
"""

import time

import numpy as np

LABELS = ("__label__en", "__label__fr", "__label__de", "__label__it", "__label__es",
          "__label__pt", "__label__nl", "__label__sv", "__label__pl", "__label__da")

DEFAULT_VOCAB = 1_000_000


def corpus(vocab, docs, words, seed=42):
    """DOCS texts of WORDS tokens; every word of the vocabulary appears at least once (the first VOCAB tokens
    run through it in order), the rest are drawn at random. Labels follow the first token's hash."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, size=(docs, words))
    flat = ids.reshape(-1)
    flat[:vocab] = np.arange(vocab)  # so the fitted vocabulary has all VOCAB words
    names = ["w%x" % i for i in range(vocab)]
    texts = [" ".join([names[i] for i in row]) for row in ids.tolist()]
    first = ids[:, 0].astype(np.uint64)
    labels = [LABELS[int(h) % 10] for h in (first * 2654435761) & 0xFFFFFFFF]
    return texts, labels


class SklearnModel:
    def __init__(self, vocab=DEFAULT_VOCAB):
        self.vocab = vocab

    def load(self):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import SGDClassifier

        started = time.perf_counter()
        words = 20
        docs = max(self.vocab // words * 2, 1000)  # each word about twice: 2 x VOCAB tokens
        texts, labels = corpus(self.vocab, docs, words)
        self.vectorizer = TfidfVectorizer(dtype=np.float64)
        x = self.vectorizer.fit_transform(texts)
        del texts
        self.classifier = SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0)
        self.classifier.fit(x, labels)
        self.load_seconds = time.perf_counter() - started

    def predict(self, text):
        """The top label of one text (str)."""
        return str(self.classifier.predict(self.vectorizer.transform([text]))[0])


def _anonymous_kb():
    with open("/proc/self/smaps_rollup") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Anonymous:"))


if __name__ == "__main__":
    import json
    import sys

    import sklearn.feature_extraction.text  # noqa: F401  (imported before "before": the modules are not the model)
    import sklearn.linear_model  # noqa: F401

    n = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_VOCAB
    before = _anonymous_kb()
    m = SklearnModel(n)
    m.load()
    import gc

    gc.collect()
    print(json.dumps({"entries": n, "model_kb": _anonymous_kb() - before, "build_s": round(m.load_seconds, 2),
                      "vocabulary": len(m.vectorizer.vocabulary_), "coef_bytes": m.classifier.coef_.nbytes,
                      "check": m.predict("w0 w1 w2 wffff")}))
