"""Tensors between the wire and the user's code (docs/python-backend.md section 6.2).

Inputs: with numpy, read-only numpy arrays viewing the request's frame (BYTES: an object array of bytes); without
it, a read-only memoryview cast to the shape (BYTES and FP16, which memoryview cannot represent: a flat list).
Outputs: whatever array-like predict returns (numpy array, nested lists, scalar, memoryview), converted to the
declared datatype; OutputError says why one cannot be.
"""
from __future__ import annotations

import struct
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .protocol import BYTES, DATATYPES, FP16, DataType, ProtocolError, Tensor, element_count, encode_bytes_elements


class OutputError(Exception):
    """A value predict returned cannot be encoded as the output it should be (message names the type)."""


def load_numpy() -> Optional[Any]:
    """numpy when it is installed, else None; imported only when a model declares tensors."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


# ---- inputs ------------------------------------------------------------------------------------------------------


def input_view(tensor: Tensor, np: Optional[Any]) -> Any:
    """What predict gets for one decoded input: a view of the frame, not a copy (BYTES elements are bytes)."""
    datatype = DATATYPES[tensor.datatype]
    if datatype is BYTES:
        if np is None:
            return list(tensor.elements or [])
        array = np.empty(len(tensor.elements or []), dtype=object)
        array[:] = tensor.elements or []
        array = array.reshape(tensor.shape)
        array.flags.writeable = False
        return array
    if np is not None:
        array = np.frombuffer(tensor.data, dtype=datatype.numpy_dtype).reshape(tensor.shape)
        array.flags.writeable = False
        return array
    if datatype is FP16:
        count = len(tensor.data) // 2
        return list(struct.unpack(f"<{count}e", tensor.data))
    view = memoryview(tensor.data).toreadonly()
    if len(view) == 0:
        # memoryview cannot cast to a shape with a zero in it: an empty tensor comes as an empty 1-D view.
        return view.cast(datatype.struct_format)
    return view.cast(datatype.struct_format, list(tensor.shape))


# ---- outputs -----------------------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    return type(value).__name__


def _nested(value: Any, is_leaf: Callable[[Any], bool], what: str, source: str) -> Tuple[Tuple[int, ...], List[Any]]:
    """The shape and row-major elements of nested lists and tuples whose leaves satisfy is_leaf."""
    if is_leaf(value):
        return (), [value]
    if isinstance(value, memoryview):
        if value.ndim == 0:
            return (), [value.tolist()]
        return _nested(value.tolist(), is_leaf, what, source)
    if not isinstance(value, (list, tuple)):
        raise OutputError(f"{what}: {source} {_type_name(value)}")
    if not value:
        return (0,), []
    shape: Optional[Tuple[int, ...]] = None
    flat: List[Any] = []
    for item in value:
        item_shape, item_flat = _nested(item, is_leaf, what, source)
        if shape is None:
            shape = item_shape
        elif item_shape != shape:
            raise OutputError(f"{what}: {source} nested lists of different lengths (a ragged array)")
        flat.extend(item_flat)
    assert shape is not None
    return (len(value),) + shape, flat


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))


def _is_text(value: Any) -> bool:
    return isinstance(value, (bytes, bytearray, str))


def _as_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise OutputError(f"{what} (BYTES): an element is {_type_name(value)}, expected bytes or str")


def encode_output(name: str, datatype: DataType, value: Any, np: Optional[Any], role: str = "output",
                  source: str = "predict returned") -> Tensor:
    """The tensor for one output predict returned, in `datatype`; its shape comes from the value. (The warm-up
    encodes the inputs of warmup() with it too.)"""
    what = f"{role} '{name}'"
    try:
        if datatype is BYTES:
            return _encode_bytes_output(name, value, np, what, source)
        if np is not None:
            return _encode_numeric_with_numpy(name, datatype, value, np, what, source)
        return _encode_numeric(name, datatype, value, what, source)
    except OutputError:
        raise
    except Exception as e:  # numpy or struct refusing an odd value: say which type it was, not its content
        raise OutputError(f"{what}: {source} {_type_name(value)}, which cannot be converted to "
                          f"{datatype.name} ({type(e).__name__})") from None


def _encode_bytes_output(name: str, value: Any, np: Optional[Any], what: str, source: str) -> Tensor:
    if np is not None and isinstance(value, np.ndarray):
        shape = tuple(value.shape)
        elements = [_as_bytes(e, what) for e in value.ravel().tolist()]
    else:
        shape, flat = _nested(value, _is_text, what, source)
        elements = [_as_bytes(e, what) for e in flat]
    element_count_checked(shape, what)
    return Tensor(name, BYTES.code, shape, encode_bytes_elements(elements), elements)


def _encode_numeric_with_numpy(name: str, datatype: DataType, value: Any, np: Any, what: str, source: str) -> Tensor:
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise OutputError(f"{what}: {source} {_type_name(value)} of {array.dtype}, expected "
                          f"{datatype.name} numbers")
    shape = tuple(array.shape)
    element_count_checked(shape, what)
    data = np.ascontiguousarray(array, dtype=datatype.numpy_dtype).tobytes()
    return Tensor(name, datatype.code, shape, data)


def _encode_numeric(name: str, datatype: DataType, value: Any, what: str, source: str) -> Tensor:
    shape, flat = _nested(value, _is_number, what, source)
    element_count_checked(shape, what)
    if datatype.struct_format in "BHIQbhiq":  # integers: struct would refuse a float less clearly
        if any(isinstance(v, float) for v in flat):
            raise OutputError(f"{what}: {source} floats, expected {datatype.name}")
    try:
        data = struct.pack(f"<{len(flat)}{datatype.struct_format}", *flat)
    except (struct.error, OverflowError) as e:
        raise OutputError(f"{what}: a value does not fit {datatype.name} ({e})") from None
    return Tensor(name, datatype.code, shape, data)


def element_count_checked(shape: Sequence[int], what: str) -> int:
    try:
        return element_count(shape)
    except ProtocolError as e:
        raise OutputError(f"{what}: {e}") from None
