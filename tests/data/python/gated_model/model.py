"""A model whose load() lasts until a gate file exists (its path in SHARPSERVE_TEST_GATE), so that a test holds the
server in the middle of loading a model and looks at its probes meanwhile (tests/Sharpserve.Deploy.Tests). The wait
is bounded: after 60 s without the gate, load() fails.

predict gets each element's bytes and returns the text in upper case, as output 'label'.
"""
import os
import time

GATE_WAIT_SECONDS = 60


class Model:
    def load(self):
        gate = os.environ["SHARPSERVE_TEST_GATE"]
        deadline = time.monotonic() + GATE_WAIT_SECONDS
        while not os.path.exists(gate):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no gate file {gate} within {GATE_WAIT_SECONDS} s")
            time.sleep(0.02)

    def predict(self, data):
        return data.decode("utf-8").upper()
