"""The original service's shape: a Flask app whose POST /labelservice/ answers the top label as text/plain.

Run it as the original service ran: gunicorn -w N -b 127.0.0.1:PORT label_service:app, with one of the
gunicorn_*.conf.py files beside this one deciding where the model is loaded (see those files).

Environment:
  BENCH_MODEL        "fasttext:/path/model.bin" (the fastText Python module), "dict:ENTRIES" (dict_model.py) or
                     "sklearn:VOCAB" (sklearn_model.py: TF-IDF + SGDClassifier trained at import)
  BENCH_STATS_FILE   where each worker appends one JSON line on exit: its first request's handler time,
                     its later handler times' median, its garbage collections (see gunicorn_hooks.py)
  BENCH_FULL_GC_AT   if > 0, each worker runs one full gc.collect() after that many requests (dict model runs:
                     stands in for the first full collection a long-lived worker eventually runs; see README)

The model is loaded when this module is imported: in each worker without --preload, once in the gunicorn
master with it. That is the whole difference between the per-worker and preload setups.
"""

import gc
import os
import time

from flask import Flask, Response, request

_spec = os.environ.get("BENCH_MODEL", "")
_kind, _, _arg = _spec.partition(":")
_load_started = time.perf_counter()
if _kind == "fasttext":
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load_model deprecation warning
    _model = fasttext.load_model(_arg)

    def predict(text):
        # The module refuses text containing "\n" (it predicts one line); one request is one line.
        labels, _ = _model.predict(text.replace("\n", " "), k=1)
        return labels[0] if labels else ""
elif _kind == "dict":
    import dict_model

    _model = dict_model.DictModel(int(_arg) if _arg else dict_model.DEFAULT_ENTRIES)
    predict = _model.predict
elif _kind == "sklearn":
    import sklearn_model

    _model = sklearn_model.SklearnModel(int(_arg) if _arg else sklearn_model.DEFAULT_VOCAB)
    _model.load()
    predict = _model.predict
else:
    raise SystemExit(f"BENCH_MODEL must be fasttext:PATH, dict:ENTRIES or sklearn:VOCAB, not {_spec!r}")
LOAD_SECONDS = time.perf_counter() - _load_started
LOADED_IN_PID = os.getpid()

FULL_GC_AT = int(os.environ.get("BENCH_FULL_GC_AT", "0"))

# Per-process request timings (handler only: Flask dispatch + predict), read by gunicorn_hooks.worker_exit.
stats = {"times": [], "full_gc_seconds": None}

app = Flask(__name__)


@app.post("/labelservice/")
def labelservice():
    started = time.perf_counter()
    label = predict(request.get_data().decode("utf-8"))
    response = Response(label, mimetype="text/plain")
    times = stats["times"]
    if len(times) < 200_000:
        times.append(time.perf_counter() - started)
    if FULL_GC_AT and len(times) == FULL_GC_AT:
        gc_started = time.perf_counter()
        gc.collect()
        stats["full_gc_seconds"] = time.perf_counter() - gc_started
    return response
