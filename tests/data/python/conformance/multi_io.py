"""Mirrors tests/data/onnx/multi_io.onnx (made by tools/make-onnx-test-models.py): six inputs and six outputs over
FP64, INT32, BOOL, UINT8, FP16 and BYTES, each output a plain function of one input."""
import numpy as np


class MultiIo:
    def metadata(self):
        return {
            "inputs": [
                {"name": "a", "datatype": "FP64", "shape": [2, 3]},
                {"name": "b", "datatype": "INT32", "shape": [-1]},
                {"name": "flag", "datatype": "BOOL", "shape": [1]},
                {"name": "u", "datatype": "UINT8", "shape": [-1]},
                {"name": "h", "datatype": "FP16", "shape": [-1]},
                {"name": "text", "datatype": "BYTES", "shape": [-1]},
            ],
            "outputs": [
                {"name": "a_doubled", "datatype": "FP64", "shape": [2, 3]},
                {"name": "b_doubled", "datatype": "INT32", "shape": [-1]},
                {"name": "not_flag", "datatype": "BOOL", "shape": [1]},
                {"name": "u_out", "datatype": "UINT8", "shape": [-1]},
                {"name": "h_as_float", "datatype": "FP32", "shape": [-1]},
                {"name": "text_out", "datatype": "BYTES", "shape": [-1]},
            ],
        }

    def predict(self, inputs):
        return {
            "a_doubled": inputs["a"] + inputs["a"],
            "b_doubled": (inputs["b"].astype(np.int64) * 2).astype(np.int32),
            "not_flag": ~inputs["flag"],
            "u_out": inputs["u"],
            "h_as_float": inputs["h"].astype(np.float32),
            "text_out": inputs["text"],
        }
