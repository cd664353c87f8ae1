#!/usr/bin/python3
"""Writes the small ONNX models the ONNX backend's tests use, with their expected outputs.

Run with Debian's python3-onnx (onnx 1.12) and numpy: tools/make-onnx-test-models.sh. Outputs go to
tests/data/onnx/ and are committed; the expected outputs are computed here with numpy, independently of
ONNX Runtime, so the tests compare ONNX Runtime through Sharpserve against a separate reference.
Deterministic: fixed seeds, no timestamps.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data", "onnx")
OPSET = [helper.make_opsetid("", 13)]
IR_VERSION = 7


def save(model, name):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name))


def model_of(graph):
    return helper.make_model(graph, opset_imports=OPSET, ir_version=IR_VERSION, producer_name="sharpserve-tools")


def mlp_graph(rng, name):
    w1 = rng.standard_normal((8, 16)).astype(np.float32)
    b1 = rng.standard_normal(16).astype(np.float32)
    w2 = rng.standard_normal((16, 4)).astype(np.float32)
    b2 = rng.standard_normal(4).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["input", "w1"], ["h1"]),
        helper.make_node("Add", ["h1", "b1"], ["h2"]),
        helper.make_node("Relu", ["h2"], ["h3"]),
        helper.make_node("MatMul", ["h3", "w2"], ["h4"]),
        helper.make_node("Add", ["h4", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=1),
    ]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 8])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch", 1]),
        ],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
         numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(b2, "b2")])

    def reference(x):
        logits = np.maximum(x @ w1 + b1, 0) @ w2 + b2
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return {"logits": logits, "probabilities": e / e.sum(axis=1, keepdims=True),
                "label": logits.argmax(axis=1).reshape(-1, 1).astype(np.int64)}

    return graph, reference


def tensor_json(name, datatype, array):
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": array.flatten().tolist()}


def write_expected(name, inputs, outputs):
    """inputs/outputs: lists of (name, datatype, numpy array)."""
    doc = {"inputs": [tensor_json(*i) for i in inputs], "outputs": [tensor_json(*o) for o in outputs]}
    with open(os.path.join(OUT, name + ".expected.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def make_mlp(rng):
    graph, reference = mlp_graph(rng, "mlp_classifier")
    save(model_of(graph), "mlp_classifier.onnx")
    x = rng.standard_normal((3, 8)).astype(np.float32)
    r = reference(x)
    write_expected("mlp_classifier", [("input", "FP32", x)],
                   [("logits", "FP32", r["logits"]), ("probabilities", "FP32", r["probabilities"]), ("label", "INT64", r["label"])])
    return graph, reference


def make_int64(rng):
    table = rng.standard_normal((10, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["embedded"], axis=0),
        helper.make_node("ReduceSum", ["embedded", "axes"], ["pooled"], keepdims=0),
        helper.make_node("Add", ["ids", "one"], ["ids_plus_one"]),
    ]
    graph = helper.make_graph(
        nodes, "int64_embedding",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", 5])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("ids_plus_one", TensorProto.INT64, ["batch", 5])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.array([1], dtype=np.int64), "axes"),
         numpy_helper.from_array(np.array(1, dtype=np.int64), "one")])
    save(model_of(graph), "int64_embedding.onnx")
    ids = np.array([[0, 1, 2, 3, 4], [9, 9, 9, 0, 5]], dtype=np.int64)
    write_expected("int64_embedding", [("ids", "INT64", ids)],
                   [("pooled", "FP32", table[ids].sum(axis=1)), ("ids_plus_one", "INT64", ids + 1)])


def make_multi_io():
    nodes = [
        helper.make_node("Add", ["a", "a"], ["a_doubled"]),
        helper.make_node("Mul", ["b", "two"], ["b_doubled"]),
        helper.make_node("Not", ["flag"], ["not_flag"]),
        helper.make_node("Identity", ["u"], ["u_out"]),
        helper.make_node("Cast", ["h"], ["h_as_float"], to=TensorProto.FLOAT),
        helper.make_node("Identity", ["text"], ["text_out"]),
    ]
    graph = helper.make_graph(
        nodes, "multi_io",
        [helper.make_tensor_value_info("a", TensorProto.DOUBLE, [2, 3]),
         helper.make_tensor_value_info("b", TensorProto.INT32, ["n"]),
         helper.make_tensor_value_info("flag", TensorProto.BOOL, [1]),
         helper.make_tensor_value_info("u", TensorProto.UINT8, ["m"]),
         helper.make_tensor_value_info("h", TensorProto.FLOAT16, ["k"]),
         helper.make_tensor_value_info("text", TensorProto.STRING, ["t"])],
        [helper.make_tensor_value_info("a_doubled", TensorProto.DOUBLE, [2, 3]),
         helper.make_tensor_value_info("b_doubled", TensorProto.INT32, ["n"]),
         helper.make_tensor_value_info("not_flag", TensorProto.BOOL, [1]),
         helper.make_tensor_value_info("u_out", TensorProto.UINT8, ["m"]),
         helper.make_tensor_value_info("h_as_float", TensorProto.FLOAT, ["k"]),
         helper.make_tensor_value_info("text_out", TensorProto.STRING, ["t"])],
        [numpy_helper.from_array(np.array(2, dtype=np.int32), "two")])
    save(model_of(graph), "multi_io.onnx")
    a = np.array([[1.5, -2.25, 3.0], [1e-300, 1e300, 0.0]], dtype=np.float64)
    b = np.array([1, -2, 1000000000], dtype=np.int32)
    flag = np.array([True])
    u = np.array([0, 7, 255], dtype=np.uint8)
    h = np.array([0.5, -1.25, 65504.0], dtype=np.float16)
    text = np.array(["héllo", ""], dtype=object)
    write_expected(
        "multi_io",
        [("a", "FP64", a), ("b", "INT32", b), ("flag", "BOOL", flag), ("u", "UINT8", u), ("h", "FP16", h), ("text", "BYTES", text)],
        [("a_doubled", "FP64", a + a), ("b_doubled", "INT32", (b.astype(np.int64) * 2).astype(np.int32)),
         ("not_flag", "BOOL", ~flag), ("u_out", "UINT8", u), ("h_as_float", "FP32", h.astype(np.float32)),
         ("text_out", "BYTES", text)])


def external_entry(tensor, location, offset, length):
    tensor.data_location = TensorProto.EXTERNAL
    del tensor.external_data[:]
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key = key
        entry.value = value
    tensor.ClearField("raw_data")


def make_external(rng):
    """An MLP whose weights live in external data, plus variants that must be refused before ORT loads them."""
    graph, reference = mlp_graph(rng, "mlp_external")
    folder = os.path.join(OUT, "external")
    os.makedirs(folder, exist_ok=True)
    blobs = bytearray()
    layout = []
    for tensor in graph.initializer:
        raw = numpy_helper.to_array(tensor).tobytes()
        while len(blobs) % 64:
            blobs.append(0)
        layout.append((tensor, len(blobs), len(raw)))
        blobs.extend(raw)
    with open(os.path.join(folder, "weights.bin"), "wb") as f:
        f.write(blobs)

    def variant(file_name, location_for, length_delta=0):
        model = model_of(graph)
        for tensor in model.graph.initializer:
            offset, length = next((o, l) for t, o, l in layout if t.name == tensor.name)
            external_entry(tensor, location_for(tensor.name), offset, length + (length_delta if tensor.name == "w2" else 0))
        onnx.save(model, os.path.join(folder, file_name))

    variant("model.onnx", lambda _: "weights.bin")
    variant("outside.onnx", lambda n: "../outside.bin" if n == "w2" else "weights.bin")
    variant("absolute.onnx", lambda n: "/etc/hostname" if n == "w2" else "weights.bin")
    variant("marker.onnx", lambda n: "*/_ORT_MEM_ADDR_/*" if n == "w2" else "weights.bin")
    variant("symlink.onnx", lambda n: "link.bin" if n == "w2" else "weights.bin")
    variant("missing.onnx", lambda n: "nothere.bin" if n == "w2" else "weights.bin")
    variant("too_long.onnx", lambda _: "weights.bin", length_delta=len(blobs))
    x = rng.standard_normal((2, 8)).astype(np.float32)
    r = reference(x)
    write_expected("external/model", [("input", "FP32", x)],
                   [("logits", "FP32", r["logits"]), ("probabilities", "FP32", r["probabilities"]), ("label", "INT64", r["label"])])


def make_matmul(rng):
    """Weights over 1 KiB, so the baked form keeps them (and ORT's prepacked copies) in the shared data file."""
    w1 = rng.standard_normal((64, 128)).astype(np.float32)
    w2 = rng.standard_normal((128, 16)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["y"])]
    graph = helper.make_graph(
        nodes, "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 16])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    save(model_of(graph), "matmul.onnx")
    x = rng.standard_normal((2, 64)).astype(np.float32)
    write_expected("matmul", [("x", "FP32", x)], [("y", "FP32", np.maximum(x @ w1, 0) @ w2)])


def make_zipmap_classifier(rng):
    """A classifier shaped like skl2onnx's default export: a label tensor and a ZipMap (a sequence of maps), which
    Sharpserve does not serve, plus the probabilities as a plain tensor."""
    w = rng.standard_normal((4, 3)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
        helper.make_node("ZipMap", ["probabilities"], ["output_probability"], domain="ai.onnx.ml", classlabels_int64s=[0, 1, 2]),
    ]
    seq_of_maps = onnx.TypeProto()  # onnx 1.12's helper has no make_map_type_proto
    seq_of_maps.sequence_type.elem_type.map_type.key_type = TensorProto.INT64
    seq_of_maps.sequence_type.elem_type.map_type.value_type.tensor_type.elem_type = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "zipmap_classifier",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
         helper.make_value_info("output_probability", seq_of_maps),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=OPSET + [helper.make_opsetid("ai.onnx.ml", 1)], ir_version=IR_VERSION,
                              producer_name="sharpserve-tools")
    save(model, "zipmap_classifier.onnx")
    x = rng.standard_normal((3, 4)).astype(np.float32)
    logits = x @ w
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    write_expected("zipmap_classifier", [("x", "FP32", x)],
                   [("label", "INT64", p.argmax(axis=1).astype(np.int64)), ("probabilities", "FP32", p)])


def make_ir3_legacy(rng):
    """IR version 3 (old exporters): the weight is an initializer listed among the graph inputs too, so it is not
    an input a client sends; one input has a dimension with neither a value nor a name."""
    w = rng.standard_normal((3, 2)).astype(np.float32)
    unknown = helper.make_tensor_value_info("s", TensorProto.FLOAT, [None])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Mul", ["s", "s"], ["t"])],
        "ir3_legacy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, [3, 2]),
         unknown],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2]),
         helper.make_tensor_value_info("t", TensorProto.FLOAT, [None])],
        [numpy_helper.from_array(w, "w")])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 8)], ir_version=3, producer_name="sharpserve-tools"),
         "ir3_legacy.onnx")
    x = rng.standard_normal((2, 3)).astype(np.float32)
    s = np.array([1.5, -2.0, 0.25, 3.0], dtype=np.float32)
    write_expected("ir3_legacy", [("x", "FP32", x), ("s", "FP32", s)], [("y", "FP32", x @ w), ("t", "FP32", s * s)])


def make_dynamic_hw_conv(rng):
    """A 3x3 convolution without padding over a dynamic height and width: the first synthesised warm-up input
    (every dynamic dimension 1) is too small for it, so the backend must pick a larger one instead of failing."""
    w = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3]),
             helper.make_node("GlobalAveragePool", ["c"], ["g"]),
             helper.make_node("Flatten", ["g"], ["y"], axis=1)]
    graph = helper.make_graph(
        nodes, "dynamic_hw_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])],
        [numpy_helper.from_array(w, "w")])
    save(model_of(graph), "dynamic_hw_conv.onnx")
    x = rng.standard_normal((2, 1, 5, 6)).astype(np.float32)
    c = np.zeros((2, 2, 3, 4))
    for i in range(3):
        for j in range(3):
            c += np.einsum("nhw,o->nohw", x[:, 0, i:i + 3, j:j + 4].astype(np.float64), w[:, 0, i, j].astype(np.float64))
    write_expected("dynamic_hw_conv", [("x", "FP32", x)], [("y", "FP32", c.mean(axis=(2, 3)).astype(np.float32))])


def make_int_division():
    """Two inputs whose dynamic dimension has one name: the warm-up must not divide by zero, and a request whose two
    'N' differ is the client's mistake (400), not ONNX Runtime's broadcast failure (500)."""
    graph = helper.make_graph(
        [helper.make_node("Div", ["a", "b"], ["q"])], "int_division",
        [helper.make_tensor_value_info("a", TensorProto.INT32, ["N"]), helper.make_tensor_value_info("b", TensorProto.INT32, ["N"])],
        [helper.make_tensor_value_info("q", TensorProto.INT32, ["N"])])
    save(model_of(graph), "int_division.onnx")
    a = np.array([7, -9, 100], dtype=np.int32)
    b = np.array([2, 4, -7], dtype=np.int32)
    write_expected("int_division", [("a", "INT32", a), ("b", "INT32", b)], [("q", "INT32", np.trunc(a / b).astype(np.int32))])


def make_top20():
    """A TopK with a constant k of 20 over a dynamic axis: no synthesised warm-up input is wide enough, so the model
    is served without warm-up runs."""
    graph = helper.make_graph(
        [helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=-1)], "top20",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "M"])],
        [helper.make_tensor_value_info("values", TensorProto.FLOAT, ["N", 20]),
         helper.make_tensor_value_info("indices", TensorProto.INT64, ["N", 20])],
        [numpy_helper.from_array(np.array([20], dtype=np.int64), "k")])
    save(model_of(graph), "top20.onnx")
    x = np.arange(24, dtype=np.float32)[::-1].reshape(1, 24) * np.float32(0.5)  # distinct values, so the order is unique
    order = np.argsort(-x, axis=-1, kind="stable")[:, :20]
    write_expected("top20", [("x", "FP32", x)],
                   [("values", "FP32", np.take_along_axis(x, order, -1)), ("indices", "INT64", order.astype(np.int64))])


def make_string_label_encoder():
    """A string input named 'text' that is not a text classifier (no 'label'/'probability' outputs): it is served
    over OIP, and /labelservice/ (and its warm-up) leave it alone."""
    keys = ["cat", "dog", "h\u00e9ron"]
    values = [10, 20, 30]
    graph = helper.make_graph(
        [helper.make_node("LabelEncoder", ["text"], ["id"], domain="ai.onnx.ml", keys_strings=keys, values_int64s=values,
                          default_int64=-1)],
        "string_label_encoder",
        [helper.make_tensor_value_info("text", TensorProto.STRING, ["N"])],
        [helper.make_tensor_value_info("id", TensorProto.INT64, ["N"])])
    save(helper.make_model(graph, opset_imports=OPSET + [helper.make_opsetid("ai.onnx.ml", 2)], ir_version=IR_VERSION,
                           producer_name="sharpserve-tools"), "string_label_encoder.onnx")
    text = np.array(["dog", "h\u00e9ron", "fish", ""], dtype=object)
    write_expected("string_label_encoder", [("text", "BYTES", text)],
                   [("id", "INT64", np.array([dict(zip(keys, values)).get(t, -1) for t in text], dtype=np.int64))])


def make_any_rank():
    """An input declared without any shape takes tensors of any rank (ONNX Runtime checks none); a session reports it
    with no dimensions, like the scalar input next to it, which takes rank 0 only."""
    graph = helper.make_graph(
        [helper.make_node("Abs", ["x"], ["a"]), helper.make_node("Mul", ["a", "s"], ["y"])], "any_rank",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, None), helper.make_tensor_value_info("s", TensorProto.FLOAT, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    # onnx 1.12's checker wants a shape on every graph input and output; ONNX Runtime, and exporters, do without.
    onnx.save(model_of(graph), os.path.join(OUT, "any_rank.onnx"))
    x = np.array([[[-1.5, 2.0, -3.25]], [[4.0, -0.5, 0.0]]], dtype=np.float32)
    s = np.array(2.0, dtype=np.float32)
    write_expected("any_rank", [("x", "FP32", x), ("s", "FP32", s)], [("y", "FP32", np.abs(x) * s)])


def make_expand():
    """Output size chosen by the request (Expand to the shape in 'shp'): a request can ask for more output than a
    worker process may send back over its connection."""
    graph = helper.make_graph(
        [helper.make_node("Expand", ["x", "shp"], ["y"])], "expand",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1]), helper.make_tensor_value_info("shp", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["R", "C"])])
    save(model_of(graph), "expand.onnx")
    x = np.array([0.25], dtype=np.float32)
    shp = np.array([2, 3], dtype=np.int64)
    write_expected("expand", [("x", "FP32", x), ("shp", "INT64", shp)], [("y", "FP32", np.broadcast_to(x, tuple(shp)).copy())])


def make_identity_types():
    """Identity over the datatypes no other model here takes (INT8, INT16, UINT16, UINT32, UINT64) and FP16 out, so
    that the worker conformance suite sends and receives every datatype. Values at the types' extremes and with
    distinct bytes, so a wrong byte order or width shows."""
    columns = [
        ("i8", TensorProto.INT8, "INT8", np.array([-128, -1, 0, 127], dtype=np.int8)),
        ("i16", TensorProto.INT16, "INT16", np.array([-32768, -2, 0x0102, 32767], dtype=np.int16)),
        ("u16", TensorProto.UINT16, "UINT16", np.array([0, 0x0102, 65535], dtype=np.uint16)),
        ("u32", TensorProto.UINT32, "UINT32", np.array([0, 0x01020304, 4294967295], dtype=np.uint32)),
        ("u64", TensorProto.UINT64, "UINT64", np.array([[0, 0x0102030405060708], [2**63, 2**64 - 1]], dtype=np.uint64)),
        ("f16", TensorProto.FLOAT16, "FP16", np.array([-65504.0, 0.000061035156, 1.0 / 3.0], dtype=np.float16)),
    ]
    graph = helper.make_graph(
        [helper.make_node("Identity", [name], [name + "_out"]) for name, _, _, _ in columns], "identity_types",
        [helper.make_tensor_value_info(name, elem, [f"{name}_{d}" for d in range(v.ndim)]) for name, elem, _, v in columns],
        [helper.make_tensor_value_info(name + "_out", elem, [f"{name}_{d}" for d in range(v.ndim)]) for name, elem, _, v in columns])
    save(model_of(graph), "identity_types.onnx")
    write_expected("identity_types", [(name, dt, v) for name, _, dt, v in columns],
                   [(name + "_out", dt, v.copy()) for name, _, dt, v in columns])


def make_corrupt():
    with open(os.path.join(OUT, "mlp_classifier.onnx"), "rb") as f:
        good = f.read()
    # Cut in the middle of the graph: the length of field 7 runs past the end.
    with open(os.path.join(OUT, "truncated.onnx"), "wb") as f:
        f.write(good[: len(good) // 2])
    with open(os.path.join(OUT, "garbage.onnx"), "wb") as f:
        f.write(b"\x08\x07" + bytes(range(256)) * 4)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261126)
    make_mlp(rng)
    make_int64(rng)
    make_multi_io()
    make_external(rng)
    make_corrupt()
    make_matmul(rng)
    # A separate generator, so the models above stay byte-identical when models are added here.
    more = np.random.default_rng(20261127)
    make_zipmap_classifier(more)
    make_ir3_legacy(more)
    # Models whose synthesised warm-up input or string input used to stop the server from starting.
    warmup = np.random.default_rng(20261128)
    make_dynamic_hw_conv(warmup)
    make_int_division()
    make_top20()
    make_string_label_encoder()
    make_any_rank()
    make_expand()
    make_identity_types()
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
