"""Mirrors tests/data/onnx/identity_types.onnx (made by tools/make-onnx-test-models.py): the identity over INT8,
INT16, UINT16, UINT32, UINT64 (rank 2) and FP16, each input NAME answered as NAME_out."""

COLUMNS = [("i8", "INT8", 1), ("i16", "INT16", 1), ("u16", "UINT16", 1), ("u32", "UINT32", 1), ("u64", "UINT64", 2),
           ("f16", "FP16", 1)]


class IdentityTypes:
    def metadata(self):
        return {
            "inputs": [{"name": name, "datatype": datatype, "shape": [-1] * rank} for name, datatype, rank in COLUMNS],
            "outputs": [{"name": name + "_out", "datatype": datatype, "shape": [-1] * rank}
                        for name, datatype, rank in COLUMNS],
        }

    def predict(self, inputs):
        return {name + "_out": inputs[name] for name, _, _ in COLUMNS}
