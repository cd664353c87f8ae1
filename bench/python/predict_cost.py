"""The fastText Python module's own predict cost, in process, on the same inputs as the .NET micro-benchmark
(the eight demo sentences on the demo model; random ten-token texts on the large model): the peer's
in-process limit, next to Sharpserve's.

  predict_cost.py DEMO.bin LARGE.bin ENTRIES SECONDS      prints JSON: ns per predict, best of 5 rounds
"""

import json
import random
import sys
import time

import fasttext

fasttext.FastText.eprint = lambda *args, **kwargs: None

LANG = [
    "Bonjour, je voudrais un café s'il vous plaît",
    "Guten Morgen, wie geht es dir heute?",
    "The weather is lovely this afternoon",
    "Buenos días, ¿cómo estás?",
    "Buongiorno, vorrei un caffè per favore",
    "Bom dia, tudo bem com você?",
    "Goedemorgen, hoe gaat het met je?",
    "God morgon, hur mår du idag?",
]


def cost(model, texts, seconds):
    """ns per predict: 5 rounds of about SECONDS / 5 each; the median and the range of the rounds."""
    rounds = []
    for _ in range(5):
        n = 0
        started = time.perf_counter()
        deadline = started + seconds / 5
        while time.perf_counter() < deadline:
            for t in texts:
                model.predict(t, k=1)
            n += len(texts)
        rounds.append((time.perf_counter() - started) / n * 1e9)
    rounds.sort()
    return {"median_ns": rounds[2], "min_ns": rounds[0], "max_ns": rounds[-1]}


def main(demo_path, large_path, entries, seconds):
    rng = random.Random(42)
    random_texts = [" ".join("w%x" % rng.randrange(entries) for _ in range(10)) for _ in range(1024)]
    demo = fasttext.load_model(demo_path)
    large = fasttext.load_model(large_path)
    print(json.dumps({
        "PredictDemo": cost(demo, LANG, seconds),
        "PredictLarge": cost(large, random_texts, seconds),
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
