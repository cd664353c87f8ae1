"""The model adapter: resolving MODULE:ATTR, metadata() validation, the default contract (docs/python-backend.md
section 6.1), declared tensors with and without numpy (6.2), errors (6.3) and the warm-up."""
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import textwrap
import unittest
import uuid

from sharpserve import BadInput
from sharpserve import protocol as p
from sharpserve.model import Model, RequestError, StartupError, load_model, tensor_json, validate_metadata
from sharpserve.tensors import load_numpy
from sharpserve.worker import WARMUP_ROUNDS, prepare_warmup, run_warmup_request, warm_up_in_rounds

try:
    import numpy as np
except ImportError:  # the no-numpy paths are tested either way
    np = None

FP32 = p.DATATYPES_BY_NAME["FP32"]
INT64 = p.DATATYPES_BY_NAME["INT64"]


def text_request(*elements, shape=None, requested=None):
    elements = [e.encode() if isinstance(e, str) else e for e in elements]
    tensor = p.Tensor("text", p.BYTES.code, tuple(shape or (len(elements),)), p.encode_bytes_elements(elements), elements)
    return decode(p.encode_infer(1, 0.0, [tensor], requested))


def decode(payload):
    return p.decode_infer(bytearray(payload))


def tensor(name, datatype, shape, values):
    if datatype is p.BYTES:
        return p.Tensor(name, datatype.code, tuple(shape), p.encode_bytes_elements(values), list(values))
    return p.Tensor(name, datatype.code, tuple(shape), p.struct.pack(f"<{len(values)}{datatype.struct_format}", *values))


def request_of(*tensors, requested=None):
    return decode(p.encode_infer(1, 0.0, list(tensors), requested))


def values(t):
    if t.datatype == p.BYTES.code:
        return t.elements
    datatype = p.DATATYPES[t.datatype]
    return list(p.struct.unpack(f"<{len(t.data) // datatype.size}{datatype.struct_format}", t.data))


def model_of(instance, np_module="installed"):
    """A Model around an instance, as load_model makes it; np_module=None takes the no-numpy paths."""
    declared = validate_metadata(instance.metadata()) if hasattr(instance, "metadata") else None
    model = Model("test:Model", instance, declared)
    if np_module is None:
        model.np = None
    return model


def error_of(model, request):
    with contextlib.redirect_stderr(io.StringIO()) as log:
        try:
            model.infer(request)
        except RequestError as e:
            return e.kind, e.message, log.getvalue()
    raise AssertionError("the request did not fail")


class Echo:
    def __init__(self, answer=None):
        self.answer = answer
        self.calls = []

    def predict(self, data):
        self.calls.append(data)
        return self.answer(data) if self.answer else data.decode()


class DefaultContractTests(unittest.TestCase):
    def test_str_answers_go_to_label_in_the_inputs_shape(self):
        instance = Echo(lambda d: d.decode().upper())
        (out,) = model_of(instance).infer(text_request("dog", "h\u00e9ron", "", "x", shape=(2, 2)))
        self.assertEqual(("label", p.BYTES.code, (2, 2)), (out.name, out.datatype, out.shape))
        self.assertEqual([b"DOG", "H\u00c9RON".encode(), b"", b"X"], out.elements)
        self.assertEqual([b"dog", "h\u00e9ron".encode(), b"", b"x"], instance.calls)
        self.assertTrue(all(type(c) is bytes for c in instance.calls))

    def test_bytes_answers_go_to_label_unchanged(self):
        (out,) = model_of(Echo(lambda d: b"\xff" + d)).infer(text_request(b"\x00"))
        self.assertEqual(("label", [b"\xff\x00"]), (out.name, out.elements))

    def test_json_values_send_every_element_to_json(self):
        answers = iter([{"label": "dog", "p": 0.5}, "plain", [1, None, True]])
        (out,) = model_of(Echo(lambda d: next(answers))).infer(text_request("a", "b", "c"))
        self.assertEqual("json", out.name)
        self.assertEqual([{"label": "dog", "p": 0.5}, "plain", [1, None, True]], [json.loads(e) for e in out.elements])

    def test_asking_for_label_when_the_answer_is_json_says_to_ask_for_json(self):
        kind, message, _ = error_of(model_of(Echo(lambda d: 3)), text_request("a", requested=["label"]))
        self.assertEqual(p.BACKEND_FAILED, kind)
        self.assertIn("ask for 'json'", message)

    def test_asking_for_json_when_the_answer_is_a_label_gives_json_strings(self):
        (out,) = model_of(Echo()).infer(text_request("dog", requested=["json"]))
        self.assertEqual(("json", [b'"dog"']), (out.name, out.elements))

    def test_asking_for_an_unknown_output_is_bad_input(self):
        kind, message, _ = error_of(model_of(Echo()), text_request("dog", requested=["probability"]))
        self.assertEqual((p.BAD_INPUT, True), (kind, "'probability'" in message))

    def test_predict_batch_takes_several_elements_and_predict_one(self):
        class Batch(Echo):
            def predict_batch(self, items):
                self.calls.append(list(items))
                return [i.decode() + "!" for i in items]

        instance = Batch()
        model = model_of(instance)
        self.assertTrue(model.batch)
        self.assertEqual([b"a!", b"b!"], model.infer(text_request("a", "b"))[0].elements)
        self.assertEqual([b"c"], model.infer(text_request("c"))[0].elements)
        self.assertEqual([[b"a", b"b"], b"c"], instance.calls)

    def test_predict_batch_of_the_wrong_length_fails(self):
        class Short(Echo):
            def predict_batch(self, items):
                return ["x"]

        kind, message, _ = error_of(model_of(Short()), text_request("a", "b"))
        self.assertEqual(p.BACKEND_FAILED, kind)
        self.assertIn("1 results for 2 inputs", message)

    def test_bad_input_raised_by_predict_is_the_clients_error_with_its_message(self):
        def refuse(data):
            raise BadInput("the text is empty")

        self.assertEqual((p.BAD_INPUT, "the text is empty", ""), error_of(model_of(Echo(refuse)), text_request("")))

    def test_other_exceptions_name_their_type_and_log_the_traceback(self):
        def fail(data):
            raise ValueError("secret payload detail")

        kind, message, log = error_of(model_of(Echo(fail)), text_request("x"))
        self.assertEqual((p.BACKEND_FAILED, "predict raised ValueError"), (kind, message))
        self.assertIn("Traceback", log)
        self.assertIn("secret payload detail", log)

    def test_unencodable_answers_name_the_type(self):
        for answer, type_name in (({1, 2}, "set"), (float("nan"), "float"), (object(), "object")):
            kind, message, _ = error_of(model_of(Echo(lambda d: answer)), text_request("x"))
            self.assertEqual(p.BACKEND_FAILED, kind)
            self.assertIn(type_name, message)

    def test_bytes_among_json_values_fail(self):
        answers = iter([b"raw", 1])
        kind, message, _ = error_of(model_of(Echo(lambda d: next(answers))), text_request("a", "b"))
        self.assertEqual(p.BACKEND_FAILED, kind)
        self.assertIn("bytes", message)

    def test_inputs_other_than_one_bytes_text_are_bad_input(self):
        model = model_of(Echo())
        cases = [
            (request_of(tensor("text", FP32, [1], [1.0])), "FP32"),
            (request_of(tensor("body", p.BYTES, [1], [b"x"])), "no input 'body'"),
            (request_of(), "'text' is missing"),
            (request_of(tensor("text", p.BYTES, [1], [b"x"]), tensor("extra", p.BYTES, [1], [b"y"])), "no input 'extra'"),
        ]
        for request, pattern in cases:
            kind, message, _ = error_of(model, request)
            self.assertEqual(p.BAD_INPUT, kind)
            self.assertIn(pattern, message)

    def test_the_default_metadata(self):
        self.assertEqual({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}],
                          "outputs": [{"name": "label", "datatype": "BYTES", "shape": [-1]},
                                      {"name": "json", "datatype": "BYTES", "shape": [-1]}]},
                         model_of(Echo()).metadata_json())


class Declared:
    """x FP32 [-1, 2] and names BYTES [-1] in; y FP32 [-1, 2] (2x) and count INT64 [] out."""

    def __init__(self, answer=None):
        self.seen = None
        self.answer = answer

    def metadata(self):
        return {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]},
                           {"name": "names", "datatype": "BYTES", "shape": [-1]}],
                "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 2]},
                            {"name": "count", "datatype": "INT64", "shape": []}]}

    def predict(self, inputs):
        self.seen = inputs
        if self.answer:
            return self.answer(inputs)
        x, names = inputs["x"], inputs["names"]
        if isinstance(x, memoryview):
            return {"y": [[2 * v for v in row] for row in x.tolist()], "count": len(names)}
        return {"y": x * 2, "count": len(names)}


def declared_request(requested=None, x=(1.0, 2.0, 3.0, 4.0), rows=2):
    return request_of(tensor("names", p.BYTES, [2], [b"a", b"b\x00"]), tensor("x", FP32, [rows, 2], list(x)),
                      requested=requested)


@unittest.skipIf(np is None, "numpy is not installed")
class DeclaredWithNumpyTests(unittest.TestCase):
    def test_inputs_are_read_only_numpy_views_of_the_frame(self):
        instance = Declared()
        request = declared_request()
        y, count = model_of(instance).infer(request)
        x = instance.seen["x"]
        self.assertIsInstance(x, np.ndarray)
        self.assertEqual((np.dtype("<f4"), (2, 2), False), (x.dtype, x.shape, x.flags.writeable))
        frame = request.inputs[1].data.obj
        self.assertTrue(np.shares_memory(x, np.frombuffer(frame, dtype=np.uint8)))
        names = instance.seen["names"]
        self.assertEqual((object, [b"a", b"b\x00"], False), (names.dtype, names.tolist(), names.flags.writeable))
        self.assertEqual(("y", (2, 2), [2.0, 4.0, 6.0, 8.0]), (y.name, y.shape, values(y)))
        self.assertEqual(("count", INT64.code, (), [2]), (count.name, count.datatype, count.shape, values(count)))

    def test_one_declared_input_is_passed_alone_and_one_output_returned_alone(self):
        class One:
            def metadata(self):
                return {"inputs": [{"name": "ids", "datatype": "INT64", "shape": [-1]}],
                        "outputs": [{"name": "plus", "datatype": "INT32", "shape": [-1]}]}

            def predict(self, ids):
                assert isinstance(ids, np.ndarray)
                return ids + 1

        (out,) = model_of(One()).infer(request_of(tensor("ids", INT64, [3], [1, -5, 7])))
        self.assertEqual(("plus", p.DATATYPES_BY_NAME["INT32"].code, [2, -4, 8]), (out.name, out.datatype, values(out)))

    def test_requested_outputs_are_the_ones_answered(self):
        (count,) = model_of(Declared()).infer(declared_request(requested=["count"]))
        self.assertEqual("count", count.name)

    def test_inputs_are_checked_against_the_metadata(self):
        model = model_of(Declared())
        names = tensor("names", p.BYTES, [1], [b"a"])
        cases = [
            (request_of(names, tensor("x", p.DATATYPES_BY_NAME["FP64"], [1, 2], [1.0, 2.0])), "is FP64; the model takes FP32"),
            (request_of(names, tensor("x", FP32, [2], [1.0, 2.0])), "has shape [2]"),
            (request_of(names, tensor("x", FP32, [1, 3], [1.0, 2.0, 3.0])), "has shape [1, 3]"),
            (request_of(names), "'x' is missing"),
            (request_of(names, names), "sent twice"),
            (declared_request(requested=["z"]), "no output 'z'"),
        ]
        for request, pattern in cases:
            kind, message, _ = error_of(model, request)
            self.assertEqual(p.BAD_INPUT, kind, message)
            self.assertIn(pattern, message)

    def test_outputs_that_do_not_fit_the_metadata_fail(self):
        cases = [
            (lambda i: [1, 2], "returned list; a model with several outputs returns a dict"),
            (lambda i: {"y": i["x"] * 2}, "no output 'count'"),
            (lambda i: {"y": np.zeros((2, 3)), "count": 1}, "has shape [2, 3]; the model declares [-1, 2]"),
            (lambda i: {"y": np.array([["a", "b"]]), "count": 1}, "expected FP32"),
            (lambda i: {"y": i["x"], "count": {"a": 1}}, "dict"),
        ]
        for answer, pattern in cases:
            kind, message, _ = error_of(model_of(Declared(answer)), declared_request())
            self.assertEqual(p.BACKEND_FAILED, kind, message)
            self.assertIn(pattern, message)

    def test_the_numpy_path_converts_to_the_declared_datatype(self):
        (y,) = model_of(Declared(lambda i: {"y": np.array([[1, 2]], dtype=np.int64), "count": 0})).infer(
            declared_request(requested=["y"]))
        self.assertEqual((FP32.code, [1.0, 2.0]), (y.datatype, values(y)))

    def test_load_numpy_is_none_without_numpy(self):
        saved = sys.modules.get("numpy")
        sys.modules["numpy"] = None
        try:
            self.assertIsNone(load_numpy())
        finally:
            sys.modules["numpy"] = saved


class DeclaredWithoutNumpyTests(unittest.TestCase):
    def test_inputs_are_read_only_memoryviews_cast_to_the_shape(self):
        instance = Declared()
        y, count = model_of(instance, np_module=None).infer(declared_request())
        x = instance.seen["x"]
        self.assertIsInstance(x, memoryview)
        self.assertEqual(("f", (2, 2), True, [[1.0, 2.0], [3.0, 4.0]]), (x.format, x.shape, x.readonly, x.tolist()))
        self.assertEqual([b"a", b"b\x00"], instance.seen["names"])
        self.assertEqual(((2, 2), [2.0, 4.0, 6.0, 8.0], [2]), (y.shape, values(y), values(count)))

    def test_every_numeric_datatype_comes_in_and_goes_out(self):
        from test_protocol import SAMPLES

        for name, samples in SAMPLES.items():
            datatype = p.DATATYPES_BY_NAME[name]

            class Identity:
                def metadata(self):
                    return {"inputs": [{"name": "v", "datatype": name, "shape": [-1]}],
                            "outputs": [{"name": "w", "datatype": name, "shape": [-1]}]}

                def predict(self, v):
                    return v

            (out,) = model_of(Identity(), np_module=None).infer(request_of(tensor("v", datatype, [len(samples)], samples)))
            self.assertEqual(samples, values(out), name)

    def test_empty_tensors_come_as_empty_views(self):
        instance = Declared(lambda i: {"y": [[0.0, 0.0]], "count": len(i["x"])})
        model_of(instance, np_module=None).infer(declared_request(x=(), rows=0))
        self.assertEqual(0, len(instance.seen["x"]))

    def test_values_that_do_not_fit_fail_naming_the_problem(self):
        class Small:
            def __init__(self, answer):
                self.answer = answer

            def metadata(self):
                return {"inputs": [{"name": "v", "datatype": "UINT8", "shape": [-1]}],
                        "outputs": [{"name": "w", "datatype": "UINT8", "shape": [-1]}]}

            def predict(self, v):
                return self.answer

        for answer, pattern in (([256], "does not fit UINT8"), ([1.5], "floats"), ([[1], [1, 2]], "ragged"),
                                ("text", "returned str")):
            kind, message, _ = error_of(model_of(Small(answer), np_module=None), request_of(tensor("v", p.DATATYPES_BY_NAME["UINT8"], [1], [1])))
            self.assertEqual(p.BACKEND_FAILED, kind)
            self.assertIn(pattern, message)


class MetadataValidationTests(unittest.TestCase):
    GOOD = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
            "outputs": [{"name": "y", "datatype": "BYTES", "shape": []}]}

    def with_change(self, key, index, field, value):
        metadata = json.loads(json.dumps(self.GOOD))
        if field is None:
            metadata[key] = value
        else:
            metadata[key][index][field] = value
        return metadata

    def test_a_good_one_is_taken(self):
        inputs, outputs = validate_metadata(self.GOOD)
        self.assertEqual([("x", FP32.code, (-1, 3))], [tuple(s) for s in inputs])
        self.assertEqual([("y", p.BYTES.code, ())], [tuple(s) for s in outputs])

    def test_malformed_ones_are_refused_with_one_line(self):
        cases = [
            ([1], "returned list"),
            ({"inputs": self.GOOD["inputs"]}, "'outputs' must be a non-empty list"),
            ({**self.GOOD, "version": 2}, "unknown key 'version'"),
            (self.with_change("inputs", None, None, []), "'inputs' must be a non-empty list"),
            (self.with_change("inputs", None, None, ["x"]), "inputs[0] is str"),
            (self.with_change("inputs", 0, "name", ""), "inputs[0].name"),
            (self.with_change("inputs", 0, "datatype", "FLOAT32"), "datatype 'FLOAT32'"),
            (self.with_change("outputs", 0, "shape", "any"), "shape 'any'"),
            (self.with_change("inputs", 0, "shape", [-2]), "dimension -2"),
            (self.with_change("inputs", 0, "shape", [True]), "dimension True"),
            (self.with_change("inputs", 0, "shape", [1.5]), "dimension 1.5"),
            (self.with_change("inputs", 0, "dims", [1]), "unknown key 'dims'"),
            ({"inputs": self.GOOD["inputs"] * 2, "outputs": self.GOOD["outputs"]}, "names 'x' twice"),
        ]
        for value, pattern in cases:
            with self.assertRaises(StartupError) as caught:
                validate_metadata(value)
            self.assertIn("metadata() is malformed", caught.exception.error)
            self.assertIn(pattern, caught.exception.error)
            self.assertNotIn("\n", caught.exception.error)


class ModuleFolder:
    """Writes modules into a fresh folder on sys.path; each test module gets a unique name."""

    def __enter__(self):
        self.folder = tempfile.mkdtemp(prefix="sharpserve-test-")
        sys.path.insert(0, self.folder)
        return self

    def write(self, source):
        name = "m_" + uuid.uuid4().hex
        with open(os.path.join(self.folder, name + ".py"), "w") as f:
            f.write(textwrap.dedent(source))
        return name

    def __exit__(self, *exc):
        sys.path.remove(self.folder)
        shutil.rmtree(self.folder)


class LoadTests(unittest.TestCase):
    def load_error(self, source, attr="Model"):
        with ModuleFolder() as folder:
            name = folder.write(source)
            with self.assertRaises(StartupError) as caught:
                load_model(f"{name}:{attr}")
            self.assertNotIn("\n", caught.exception.error)
            return name, caught.exception

    def test_a_class_a_factory_and_an_instance(self):
        source = """
            class Model:
                loaded = 0
                def load(self):
                    Model.loaded += 1
                def predict(self, data):
                    return "x"
            def factory():
                return Model()
            instance = Model()
        """
        with ModuleFolder() as folder:
            name = folder.write(source)
            for attr in ("Model", "factory", "instance"):
                model = load_model(f"{name}:{attr}")
                self.assertEqual([b"x"], model.infer(text_request("a"))[0].elements)
            self.assertEqual(3, sys.modules[name].Model.loaded)

    def test_a_module_that_does_not_exist(self):
        with self.assertRaises(StartupError) as caught:
            load_model("no_such_module_here:Model")
        self.assertIn("module 'no_such_module_here' not found", caught.exception.error)

    def test_an_attribute_that_does_not_exist(self):
        name, e = self.load_error("x = 1\n", attr="Missing")
        self.assertEqual(f"module '{name}' has no attribute 'Missing'", e.error)

    def test_an_import_that_raises(self):
        name, e = self.load_error("raise ValueError('bad\\nconfig')\n")
        self.assertEqual(f"importing {name} raised ValueError: bad config", e.error)
        self.assertIn("Traceback", e.traceback)

    def test_a_missing_dependency_is_not_a_missing_module(self):
        name, e = self.load_error("import no_such_dependency_here\n")
        self.assertIn(f"importing {name} raised ModuleNotFoundError", e.error)

    def test_a_constructor_that_raises(self):
        _, e = self.load_error("class Model:\n    def __init__(self):\n        raise KeyError('k')\n    def predict(self, d): pass\n")
        self.assertIn("raised KeyError", e.error)

    def test_load_that_raises(self):
        _, e = self.load_error("class Model:\n    def load(self):\n        raise OSError('no weights')\n    def predict(self, d): pass\n")
        self.assertEqual("load() raised OSError: no weights", e.error)

    def test_no_predict(self):
        name, e = self.load_error("class Model:\n    pass\n")
        self.assertIn(f"{name}:Model has no predict method", e.error)

    def test_bad_metadata(self):
        _, e = self.load_error("class Model:\n    def metadata(self):\n        return {}\n    def predict(self, d): pass\n")
        self.assertIn("metadata() is malformed", e.error)


class WarmupTests(unittest.TestCase):
    def test_the_default_contract_warms_up_with_warm_up(self):
        instance = Echo()
        model = model_of(instance)
        requests = prepare_warmup(model, lambda line: None)
        self.assertEqual([b"warm-up"], instance.calls)
        self.assertEqual([[{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["d2FybS11cA=="]}]],
                         [[tensor_json(t) for t in r] for r in requests])

    def test_declared_tensors_warm_up_with_zeros_of_the_declared_shapes(self):
        instance = Declared()
        requests = prepare_warmup(model_of(instance, np_module=None), lambda line: None)
        self.assertEqual([{"name": "x", "datatype": "FP32", "shape": [1, 2], "data": [0.0, 0.0]},
                          {"name": "names", "datatype": "BYTES", "shape": [1], "data": [""]}],
                         [tensor_json(t) for t in requests[0]])
        self.assertEqual([[0.0, 0.0]], instance.seen["x"].tolist())

    def test_a_failing_default_warm_up_is_dropped_with_a_log_line(self):
        def refuse(data):
            raise BadInput("no")

        lines = []
        self.assertEqual([], prepare_warmup(model_of(Echo(refuse)), lines.append))
        self.assertEqual(1, len(lines))
        self.assertIn("default warm-up input failed", lines[0])

    def test_the_models_own_examples_are_used(self):
        class Own(Declared):
            def warmup(self):
                return [{"x": [[5.0, 6.0]], "names": ["n\u00e9"]}]

        instance = Own()
        (request,) = prepare_warmup(model_of(instance, np_module=None), lambda line: None)
        self.assertEqual([[5.0, 6.0]], instance.seen["x"].tolist())
        self.assertEqual(["bsOp"], tensor_json(request[1])["data"])  # "n\u00e9" in UTF-8, base64

    def test_a_failing_example_of_the_model_is_a_startup_error(self):
        class Own(Echo):
            def warmup(self):
                return [b"fine", b"boom"]

        def predict(data):
            if data == b"boom":
                raise RuntimeError("x")
            return "ok"

        with contextlib.redirect_stderr(io.StringIO()):
            with self.assertRaises(StartupError) as caught:
                prepare_warmup(model_of(Own(predict)), lambda line: None)
        self.assertIn("warmup() example 1 failed: predict raised RuntimeError", caught.exception.error)

    def test_an_example_of_the_wrong_type_is_a_startup_error(self):
        class Own(Echo):
            def warmup(self):
                return [42]

        with self.assertRaisesRegex(StartupError, "example 0 is int; the model takes bytes"):
            prepare_warmup(model_of(Own()), lambda line: None)

    def test_a_warm_up_request_runs_through_the_serving_path(self):
        instance = Echo()
        self.assertIsNone(run_warmup_request(model_of(instance), [tensor("text", p.BYTES, [1], [b"a"])]))
        self.assertIn("no input 'x'", run_warmup_request(model_of(instance), [tensor("x", p.BYTES, [1], [b"a"])]))

    def test_a_worker_warms_up_in_rounds_and_drops_a_request_that_fails_there(self):
        def predict(data):
            if data == b"flaky" and instance.calls.count(b"flaky") == 3:
                raise RuntimeError("x")
            return "ok"

        instance = Echo(predict)
        requests = [[tensor("text", p.BYTES, [1], [b"steady"])], [tensor("text", p.BYTES, [1], [b"flaky"])]]
        lines = []
        with contextlib.redirect_stderr(io.StringIO()):
            warm_up_in_rounds(model_of(instance), requests, lines.append)
        steady = instance.calls.count(b"steady")
        self.assertGreater(steady, 2)  # more than one round (20 at most, fewer only past the time bound)
        self.assertLessEqual(steady, WARMUP_ROUNDS)
        self.assertEqual(3, instance.calls.count(b"flaky"))  # it failed on its third call: logged once, not run again
        self.assertEqual(1, len(lines))
        self.assertIn("warm-up request 1 failed in the worker", lines[0])

    def test_non_finite_floats_are_not_listed(self):
        self.assertIsNone(tensor_json(tensor("x", FP32, [1], [float("nan")])))
        self.assertEqual([True, False], tensor_json(tensor("b", p.BOOL, [2], [True, False]))["data"])


if __name__ == "__main__":
    unittest.main()
