"""Sharpserve entry classes for the bench's Python models: `sharpserve serve --python sharpserve_models:Dict`
(or `:Sklearn`) with `--python-path bench/python`. They serve the very same predict as the Flask app
(label_service.py, BENCH_MODEL=dict:ENTRIES or sklearn:VOCAB): the body's bytes decoded as UTF-8, the top label
as text.

Environment (the front passes its own to the zygote): BENCH_DICT_ENTRIES, BENCH_SKLEARN_VOCAB (model sizes).
"""

import os

import dict_model
import sklearn_model

# Warm-up inputs, in the shape of the load's requests (bench/lua/bench.lua, random texts of "w<hex i>" keys).
_WARMUP = [b"w0 w1 w2 w3 w4 w5 w6 w7 w8 w9", b"w10 w2a w3f w400 w1 w77 w9 w5 w11 w12"]


class Dict:
    def load(self):
        self.model = dict_model.DictModel(int(os.environ.get("BENCH_DICT_ENTRIES", dict_model.DEFAULT_ENTRIES)))

    def predict(self, data):
        return self.model.predict(data.decode("utf-8"))

    def warmup(self):
        return _WARMUP


class Sklearn:
    def load(self):
        self.model = sklearn_model.SklearnModel(int(os.environ.get("BENCH_SKLEARN_VOCAB",
                                                                   sklearn_model.DEFAULT_VOCAB)))
        self.model.load()

    def predict(self, data):
        return self.model.predict(data.decode("utf-8"))

    def warmup(self):
        return _WARMUP
