"""Mirrors tests/data/onnx/expand.onnx (made by tools/make-onnx-test-models.py): the FP32 input 'x' of one element
broadcast to the shape in the INT64 input 'shp', so the request chooses the output's size. A negative size is
refused with BadInput."""
import numpy as np

from sharpserve import BadInput


class Expand:
    def metadata(self):
        return {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1]}, {"name": "shp", "datatype": "INT64", "shape": [2]}],
                "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, -1]}]}

    def predict(self, inputs):
        shape = tuple(int(d) for d in inputs["shp"])
        if min(shape) < 0:
            raise BadInput("'shp' holds a negative size")
        return np.broadcast_to(inputs["x"], shape)
