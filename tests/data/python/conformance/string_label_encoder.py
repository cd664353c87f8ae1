"""Mirrors tests/data/onnx/string_label_encoder.onnx (made by tools/make-onnx-test-models.py): a LabelEncoder from
the BYTES input 'text' to the INT64 output 'id', cat -> 10, dog -> 20, h\u00e9ron -> 30, anything else -> -1.
Elements that are not UTF-8 are refused with BadInput."""
import numpy as np

from sharpserve import BadInput

IDS = {"cat": 10, "dog": 20, "h\u00e9ron": 30}


class StringLabelEncoder:
    def metadata(self):
        return {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}],
                "outputs": [{"name": "id", "datatype": "INT64", "shape": [-1]}]}

    def predict(self, text):
        ids = []
        for element in text:
            try:
                ids.append(IDS.get(element.decode("utf-8"), -1))
            except UnicodeDecodeError:
                raise BadInput("an element of 'text' is not UTF-8") from None
        return np.array(ids, dtype=np.int64)
