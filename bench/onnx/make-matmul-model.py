#!/usr/bin/python3
"""Writes the ONNX bench model: y = relu(x @ W1) @ W2, x [batch, D], W1 [D, H], W2 [H, D], float32, weights in
one external-data file next to the model (as big models ship). Default D=4096, H=24576: 768 MiB of weights.
Usage: make-matmul-model.py OUT_DIR [D H]. Needs python3-onnx and numpy (apt-get install -y python3-onnx)."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
d = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
h = int(sys.argv[3]) if len(sys.argv) > 3 else 24576
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(6)
w1 = (rng.standard_normal((d, h), dtype=np.float32) * 0.02).astype(np.float32)
w2 = (rng.standard_normal((h, d), dtype=np.float32) * 0.02).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
     helper.make_node("MatMul", ["r", "w2"], ["y"])],
    "bench_matmul",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", d])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", d])],
    [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
onnx.save_model(model, os.path.join(out, "matmul.onnx"), save_as_external_data=True,
                all_tensors_to_one_file=True, location="matmul.data", size_threshold=1024)
print(f"wrote {out}/matmul.onnx + matmul.data ({(w1.nbytes + w2.nbytes) >> 20} MiB of weights)")
