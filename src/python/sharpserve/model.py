"""The user's model as Sharpserve calls it: docs/python-backend.md section 6.

`load_model("MODULE:ATTR")` imports and loads it (StartupError, one line, when it cannot be served);
`Model.infer(request)` runs one decoded Infer through predict and returns the output tensors, or raises
RequestError carrying the Error kind and message the front gets.
"""
from __future__ import annotations

import base64
import importlib
import inspect
import json
import math
import struct
import sys
import traceback
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from . import BadInput
from .protocol import (
    BACKEND_FAILED, BAD_INPUT, BYTES, DATATYPES, DATATYPES_BY_NAME, MAX_ELEMENTS, InferRequest, Tensor,
    encode_bytes_elements,
)
from .tensors import OutputError, encode_output, input_view, load_numpy

TEXT_INPUT = "text"
LABEL_OUTPUT = "label"
JSON_OUTPUT = "json"
DEFAULT_WARMUP = b"warm-up"


class StartupError(Exception):
    """The model cannot be served: `error` is one line for the operator, `traceback` the exception's, if any."""

    def __init__(self, error: str, traceback_text: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.traceback = traceback_text


class RequestError(Exception):
    """One request fails: kind BadInput (the client's fault) or BackendFailed (the model's)."""

    def __init__(self, kind: int, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class TensorSpec(NamedTuple):
    name: str
    datatype: int
    shape: Tuple[int, ...]  # -1: any size

    def to_json(self) -> Dict[str, Any]:
        return {"name": self.name, "datatype": DATATYPES[self.datatype].name, "shape": list(self.shape)}


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def exception_summary(e: BaseException) -> str:
    message = one_line(str(e))
    return f"{type(e).__name__}: {message}" if message else type(e).__name__


def parse_entry(entry: str) -> Tuple[str, str]:
    """MODULE:ATTR, as in gunicorn; ValueError when it is not that."""
    module, sep, attr = entry.partition(":")
    if not sep or not module.strip() or not attr.strip():
        raise ValueError(f"--entry must be MODULE:ATTR (a module and a class, factory or instance in it), not '{entry}'")
    return module.strip(), attr.strip()


# ---- loading -----------------------------------------------------------------------------------------------------


def _import(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise StartupError(f"module '{module_name}' not found (no module named '{e.name}' on sys.path; give its "
                               "folder with --python-path)") from None
        raise StartupError(f"importing {module_name} raised {exception_summary(e)}", traceback.format_exc()) from None
    except (Exception, SystemExit) as e:
        raise StartupError(f"importing {module_name} raised {exception_summary(e)}", traceback.format_exc()) from None


def resolve_entry(entry: str) -> Any:
    """The model object MODULE:ATTR names: a class is instantiated with no arguments, a factory (a function) called,
    an instance used as it is."""
    module_name, attr = parse_entry(entry)
    target = _import(module_name)
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise StartupError(f"module '{module_name}' has no attribute '{attr}'") from None
    if inspect.isclass(target) or (callable(target) and not hasattr(target, "predict")):
        try:
            return target()
        except (Exception, SystemExit) as e:
            raise StartupError(f"creating the model ({entry}()) raised {exception_summary(e)}",
                               traceback.format_exc()) from None
    return target


def _optional_method(instance: Any, name: str, entry: str) -> Any:
    method = getattr(instance, name, None)
    if method is not None and not callable(method):
        raise StartupError(f"{entry}: '{name}' is {type(method).__name__}, not a method")
    return method


def load_model(entry: str) -> "Model":
    """Imports MODULE:ATTR, creates the model, calls its load() and metadata(): everything before the warm-up."""
    instance = resolve_entry(entry)
    predict = _optional_method(instance, "predict", entry)
    if predict is None:
        raise StartupError(f"{entry} has no predict method (Sharpserve calls predict(data) for each request)")
    load = _optional_method(instance, "load", entry)
    if load is not None:
        try:
            load()
        except (Exception, SystemExit) as e:
            raise StartupError(f"load() raised {exception_summary(e)}", traceback.format_exc()) from None
    metadata = _optional_method(instance, "metadata", entry)
    declared = None
    if metadata is not None:
        try:
            value = metadata()
        except (Exception, SystemExit) as e:
            raise StartupError(f"metadata() raised {exception_summary(e)}", traceback.format_exc()) from None
        declared = validate_metadata(value)
    return Model(entry, instance, declared)


def validate_metadata(value: Any) -> Tuple[List[TensorSpec], List[TensorSpec]]:
    """metadata()'s return value, checked strictly: {"inputs": [...], "outputs": [...]}, each a non-empty list of
    {"name", "datatype", "shape"} with unique names, OIP datatypes, and dimensions that are -1 or more."""
    def bad(problem: str) -> StartupError:
        return StartupError(f"metadata() is malformed: {problem}")

    if not isinstance(value, dict):
        raise bad(f"it returned {type(value).__name__}, expected a dict with 'inputs' and 'outputs'")
    extra = sorted(set(value) - {"inputs", "outputs"}, key=str)
    if extra:
        raise bad(f"unknown key '{extra[0]}' (only 'inputs' and 'outputs' are taken)")
    lists = []
    for key in ("inputs", "outputs"):
        entries = value.get(key)
        if not isinstance(entries, (list, tuple)) or not entries:
            raise bad(f"'{key}' must be a non-empty list of {{'name', 'datatype', 'shape'}}")
        specs = [_validate_spec(entry, f"{key}[{i}]", bad) for i, entry in enumerate(entries)]
        names = [s.name for s in specs]
        for name in names:
            if names.count(name) > 1:
                raise bad(f"'{key}' names '{name}' twice")
        lists.append(specs)
    return lists[0], lists[1]


def _validate_spec(entry: Any, where: str, bad: Any) -> TensorSpec:
    if not isinstance(entry, dict):
        raise bad(f"{where} is {type(entry).__name__}, expected a dict with 'name', 'datatype' and 'shape'")
    extra = sorted(set(entry) - {"name", "datatype", "shape"}, key=str)
    if extra:
        raise bad(f"{where} has an unknown key '{extra[0]}'")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise bad(f"{where}.name must be a non-empty string")
    if len(name.encode("utf-8", errors="replace")) > 0xFFFF:
        raise bad(f"{where}.name is over 65535 bytes")
    datatype = entry.get("datatype")
    if datatype not in DATATYPES_BY_NAME:
        raise bad(f"{where} ('{name}') has datatype {datatype!r}; expected one of {', '.join(DATATYPES_BY_NAME)}")
    shape = entry.get("shape")
    if not isinstance(shape, (list, tuple)) or len(shape) > 255:
        raise bad(f"{where} ('{name}') has shape {shape!r}; expected a list of at most 255 dimensions")
    for dim in shape:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < -1 or dim > MAX_ELEMENTS:
            raise bad(f"{where} ('{name}') has dimension {dim!r}; a dimension is a size (0 or more) or -1 (any size)")
    return TensorSpec(name, DATATYPES_BY_NAME[datatype].code, tuple(shape))


def _shape_text(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


# ---- the model ---------------------------------------------------------------------------------------------------


class Model:
    """A loaded model: the default contract (section 6.1) without metadata(), declared tensors (6.2) with it."""

    def __init__(self, entry: str, instance: Any, declared: Optional[Tuple[List[TensorSpec], List[TensorSpec]]]) -> None:
        self.entry = entry
        self.instance = instance
        self._predict = instance.predict
        self._predict_batch = _optional_method(instance, "predict_batch", entry)
        self._warmup = _optional_method(instance, "warmup", entry)
        self.declared = declared is not None
        if declared is not None:
            self.inputs, self.outputs = declared
            self.np = load_numpy()
        else:
            self.inputs = [TensorSpec(TEXT_INPUT, BYTES.code, (-1,))]
            self.outputs = [TensorSpec(LABEL_OUTPUT, BYTES.code, (-1,)), TensorSpec(JSON_OUTPUT, BYTES.code, (-1,))]
            self.np = None
        self._inputs_by_name = {s.name: s for s in self.inputs}
        self._output_names = {s.name for s in self.outputs}

    @property
    def batch(self) -> bool:
        return self._predict_batch is not None

    def metadata_json(self) -> Dict[str, Any]:
        return {"inputs": [s.to_json() for s in self.inputs], "outputs": [s.to_json() for s in self.outputs]}

    def infer(self, request: InferRequest) -> List[Tensor]:
        wanted = self._requested(request.requested_outputs)
        if self.declared:
            return self._infer_declared(request.inputs, wanted)
        return self._infer_default(request.inputs, wanted)

    def _requested(self, names: Optional[List[str]]) -> Optional[set]:
        if names is None:
            return None
        for name in names:
            if name not in self._output_names:
                raise RequestError(BAD_INPUT, f"the model has no output '{name}' (its outputs: "
                                              f"{', '.join(s.name for s in self.outputs)})")
        return set(names)

    def _call(self, method_name: str, *args: Any) -> Any:
        """Calls predict or predict_batch: BadInput becomes the client's error, any other exception the model's
        (its type only; the traceback goes to the log)."""
        try:
            return getattr(self, "_" + method_name)(*args)
        except BadInput as e:
            message = str(e) or f"{method_name} refused the input (BadInput)"
            raise RequestError(BAD_INPUT, message) from None
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            raise RequestError(BACKEND_FAILED, f"{method_name} raised {type(e).__name__}") from None

    # -- inputs, checked as the front checks them for ONNX ------------------------------------------------------------

    def _checked_inputs(self, inputs: List[Tensor]) -> Dict[str, Tensor]:
        by_name: Dict[str, Tensor] = {}
        for tensor in inputs:
            spec = self._inputs_by_name.get(tensor.name)
            if spec is None:
                raise RequestError(BAD_INPUT, f"the model has no input '{tensor.name}' (its inputs: "
                                              f"{', '.join(s.name for s in self.inputs)})")
            if tensor.name in by_name:
                raise RequestError(BAD_INPUT, f"input '{tensor.name}' is sent twice")
            if tensor.datatype != spec.datatype:
                raise RequestError(BAD_INPUT, f"input '{tensor.name}' is {DATATYPES[tensor.datatype].name}; the model "
                                              f"takes {DATATYPES[spec.datatype].name}")
            if self.declared and (len(tensor.shape) != len(spec.shape) or any(
                    want not in (-1, got) for want, got in zip(spec.shape, tensor.shape))):
                raise RequestError(BAD_INPUT, f"input '{tensor.name}' has shape {_shape_text(tensor.shape)}; the "
                                              f"model takes {_shape_text(spec.shape)} (-1: any size)")
            by_name[tensor.name] = tensor
        for spec in self.inputs:
            if spec.name not in by_name:
                raise RequestError(BAD_INPUT, f"input '{spec.name}' is missing")
        return by_name

    # -- declared tensors (section 6.2) ------------------------------------------------------------------------------

    def _infer_declared(self, inputs: List[Tensor], wanted: Optional[set]) -> List[Tensor]:
        by_name = self._checked_inputs(inputs)
        views = {spec.name: input_view(by_name[spec.name], self.np) for spec in self.inputs}
        argument = views[self.inputs[0].name] if len(self.inputs) == 1 else views
        result = self._call("predict", argument)
        single = len(self.outputs) == 1
        if not single and not isinstance(result, dict):
            raise RequestError(BACKEND_FAILED, f"predict returned {type(result).__name__}; a model with several "
                                               "outputs returns a dict of output name to array")
        tensors = []
        for spec in self.outputs:
            if wanted is not None and spec.name not in wanted:
                continue
            if single and not (isinstance(result, dict) and spec.name in result):
                value = result
            elif spec.name in result:
                value = result[spec.name]
            else:
                raise RequestError(BACKEND_FAILED, f"predict returned no output '{spec.name}'")
            try:
                tensor = encode_output(spec.name, DATATYPES[spec.datatype], value, self.np)
            except OutputError as e:
                raise RequestError(BACKEND_FAILED, str(e)) from None
            if len(tensor.shape) != len(spec.shape) or any(want not in (-1, got) for want, got in zip(spec.shape, tensor.shape)):
                raise RequestError(BACKEND_FAILED, f"output '{spec.name}' has shape {_shape_text(tensor.shape)}; the "
                                                   f"model declares {_shape_text(spec.shape)}")
            tensors.append(tensor)
        return tensors

    # -- the default contract (section 6.1) --------------------------------------------------------------------------

    def _infer_default(self, inputs: List[Tensor], wanted: Optional[set]) -> List[Tensor]:
        text = self._checked_inputs(inputs)[TEXT_INPUT]
        elements = text.elements or []
        if self.batch and len(elements) > 1:
            values = self._call("predict_batch", list(elements))
            if not isinstance(values, (list, tuple)) or len(values) != len(elements):
                got = f"{len(values)} results" if isinstance(values, (list, tuple)) else type(values).__name__
                raise RequestError(BACKEND_FAILED, f"predict_batch returned {got} for {len(elements)} inputs; it "
                                                   "returns a list with one result per input")
        else:
            values = [self._call("predict", element) for element in elements]
        name, encoded = self._encode_default(values, wanted)
        return [Tensor(name, BYTES.code, text.shape, encode_bytes_elements(encoded), encoded)]

    def _encode_default(self, values: Sequence[Any], wanted: Optional[set]) -> Tuple[str, List[bytes]]:
        """str and bytes go to 'label'; if any value is something else, every value goes to 'json' as JSON text."""
        is_label = all(isinstance(v, (str, bytes, bytearray)) for v in values)
        if is_label and (wanted is None or LABEL_OUTPUT in wanted):
            return LABEL_OUTPUT, [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values]
        if not is_label and wanted is not None and JSON_OUTPUT not in wanted:
            other = next(v for v in values if not isinstance(v, (str, bytes, bytearray)))
            raise RequestError(BACKEND_FAILED, f"predict returned {type(other).__name__}, which is answered as JSON "
                                               f"in output '{JSON_OUTPUT}'; ask for '{JSON_OUTPUT}' (or every output)")
        return JSON_OUTPUT, [_json_text(v) for v in values]

    # -- warm-up -----------------------------------------------------------------------------------------------------

    def warmup_requests(self) -> Tuple[List[List[Tensor]], bool]:
        """The warm-up requests (each a list of input tensors) and whether they came from the model's warmup()."""
        if self._warmup is None:
            return [self._default_warmup()], False
        try:
            examples = self._warmup()
        except (Exception, SystemExit) as e:
            raise StartupError(f"warmup() raised {exception_summary(e)}", traceback.format_exc()) from None
        if not isinstance(examples, (list, tuple)):
            raise StartupError(f"warmup() returned {type(examples).__name__}; it returns a list of example inputs")
        return [self._warmup_tensors(example, i) for i, example in enumerate(examples)], True

    def _default_warmup(self) -> List[Tensor]:
        if not self.declared:
            return [Tensor(TEXT_INPUT, BYTES.code, (1,), encode_bytes_elements([DEFAULT_WARMUP]), [DEFAULT_WARMUP])]
        tensors = []
        for spec in self.inputs:
            shape = tuple(1 if d == -1 else d for d in spec.shape)
            count = 1
            for d in shape:
                count *= d
            if spec.datatype == BYTES.code:
                tensors.append(Tensor(spec.name, spec.datatype, shape, encode_bytes_elements([b""] * count), [b""] * count))
            else:
                tensors.append(Tensor(spec.name, spec.datatype, shape, bytes(count * DATATYPES[spec.datatype].size)))
        return tensors

    def _warmup_tensors(self, example: Any, index: int) -> List[Tensor]:
        source = f"warmup() example {index} gave"
        if not self.declared:
            if isinstance(example, str):
                example = example.encode("utf-8")
            if not isinstance(example, (bytes, bytearray)):
                raise StartupError(f"warmup() example {index} is {type(example).__name__}; the model takes bytes")
            return [Tensor(TEXT_INPUT, BYTES.code, (1,), encode_bytes_elements([bytes(example)]), [bytes(example)])]
        if len(self.inputs) == 1 and not isinstance(example, dict):
            example = {self.inputs[0].name: example}
        if not isinstance(example, dict):
            raise StartupError(f"warmup() example {index} is {type(example).__name__}; the model takes a dict of input "
                               "name to array")
        tensors = []
        for spec in self.inputs:
            if spec.name not in example:
                raise StartupError(f"warmup() example {index} has no input '{spec.name}'")
            try:
                tensors.append(encode_output(spec.name, DATATYPES[spec.datatype], example[spec.name], self.np,
                                             role="input", source=source))
            except OutputError as e:
                raise StartupError(f"warmup() example {index}: {e}") from None
        return tensors


def _json_text(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        raise RequestError(BACKEND_FAILED, "predict returned bytes among values answered as JSON; return str there")
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise RequestError(BACKEND_FAILED, f"predict returned {type(value).__name__}, which is neither str, bytes nor "
                                           f"a value JSON can encode ({type(e).__name__})") from None


def tensor_json(tensor: Tensor) -> Optional[Dict[str, Any]]:
    """A warm-up tensor as `loaded` lists it (section 2.1): data flat, numbers as JSON numbers, BOOL as true/false,
    BYTES as base64. None when a float is not finite (JSON has no NaN)."""
    datatype = DATATYPES[tensor.datatype]
    if datatype is BYTES:
        data: List[Any] = [base64.b64encode(e).decode("ascii") for e in tensor.elements or []]
    else:
        count = len(tensor.data) // datatype.size
        data = list(struct.unpack(f"<{count}{datatype.struct_format}", tensor.data))
        if any(isinstance(v, float) and not math.isfinite(v) for v in data):
            return None
    return {"name": tensor.name, "datatype": datatype.name, "shape": list(tensor.shape), "data": data}
