"""A pure-Python "model": one dict of several million entries, about 1 GB of Python objects.

Why it exists: fastText's matrices live in native memory that CPython never writes after loading, so a
gunicorn --preload master shares them with its workers page for page. A model made of Python objects is
different: every object header holds a reference count (written whenever the object is used) and, for
container objects, the garbage collector's link words (written whenever a collection traverses them). After
fork, those writes copy the touched pages into each worker (copy-on-write). This model makes that visible.

The entries are built deterministically: key "w<hex i>" -> [label, weight]. The values are two-item lists,
not tuples, on purpose: CPython's collector untracks a tuple whose items are all atoms (str, float) the first
time it sees it, after which the collector never touches it again; a list stays tracked, like the mutable
records of a real hand-written model. Requests are texts of such keys (the load generator draws them at
random, see bench/lua/randomwords.lua), so they touch entries all over the dict, as varied real traffic does.
"""

import gc
import os
import time

LABELS = ("__label__en", "__label__fr", "__label__de", "__label__it", "__label__es",
          "__label__pt", "__label__nl", "__label__sv", "__label__pl", "__label__da")

DEFAULT_ENTRIES = 5_000_000


def build(entries=DEFAULT_ENTRIES):
    """Builds the dict with the collector enabled, as a plain module-level load would."""
    labels = LABELS
    table = {}
    for i in range(entries):
        # Multiplicative hashing spreads labels and weights; all deterministic.
        h = (i * 2654435761) & 0xFFFFFFFF
        table["w%x" % i] = [labels[h % 10], (h >> 8) % 1000 / 1000.0]
    return table


class DictModel:
    def __init__(self, entries=DEFAULT_ENTRIES):
        started = time.perf_counter()
        self.entries = entries
        self.table = build(entries)
        self.load_seconds = time.perf_counter() - started

    def predict(self, text):
        """Sums each known token's weight onto its label; the top label wins (ties: first label)."""
        scores = [0.0] * len(LABELS)
        get = self.table.get
        for token in text.split():
            entry = get(token)
            if entry is not None:
                scores[LABELS.index(entry[0])] += entry[1]
        best = max(range(len(LABELS)), key=scores.__getitem__)
        return LABELS[best]


def _anonymous_kb():
    with open("/proc/self/smaps_rollup") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Anonymous:"))


if __name__ == "__main__":
    # python3 dict_model.py [ENTRIES]: the size of one copy of the model (the process's anonymous memory
    # after building it, minus before) and the build time, as JSON; bench/steps/memory.sh records it.
    import json
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_ENTRIES
    before = _anonymous_kb()
    m = DictModel(n)
    print(json.dumps({"entries": n, "model_kb": _anonymous_kb() - before, "build_s": round(m.load_seconds, 2),
                      "gc_tracked_objects": len(gc.get_objects()), "check": m.predict("w0 w1 w2 wffff")}))
