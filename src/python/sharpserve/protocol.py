"""The front <-> worker frame codec: docs/worker-protocol.md, version 2, sections 3-5 and 9.

The wire format of the Python side lives here and nowhere else: the struct formats are named after the
specification's frames and fields. Decoding checks every rule of sections 3-5 and raises ProtocolError for a
violation (the worker then gives up the connection); encoding refuses what the wire cannot carry with EncodeError
(the worker answers that request with an Error of kind BackendFailed instead).
"""
from __future__ import annotations

import struct
from typing import BinaryIO, List, NamedTuple, Optional, Sequence, Tuple, Union

PROTOCOL_VERSION = 2
MAX_PAYLOAD = 64 * 1024 * 1024
MAX_ELEMENTS = 2**31 - 1
MAX_DATA_LENGTH = 2**31 - 1
ALL_OUTPUTS = 0xFFFF

HEADER = struct.Struct("<IBQ")
HELLO = struct.Struct("<Hii")
READY = struct.Struct("<q")
INFER_PARAMETERS = struct.Struct("<if")
COUNT = struct.Struct("<H")
NAME_LENGTH = struct.Struct("<H")
DATATYPE_AND_RANK = struct.Struct("<BB")
DATA_LENGTH = struct.Struct("<i")
BYTES_ELEMENT_LENGTH = struct.Struct("<I")
ERROR_KIND = struct.Struct("<B")

# Frame types (section 3).
HELLO_FRAME = 1
READY_FRAME = 2
INFER_FRAME = 3
RESULT_FRAME = 4
ERROR_FRAME = 5
PING_FRAME = 6
PONG_FRAME = 7
DRAIN_FRAME = 8
SHUTDOWN_FRAME = 9
FRAME_NAMES = {
    HELLO_FRAME: "Hello", READY_FRAME: "Ready", INFER_FRAME: "Infer", RESULT_FRAME: "Result", ERROR_FRAME: "Error",
    PING_FRAME: "Ping", PONG_FRAME: "Pong", DRAIN_FRAME: "Drain", SHUTDOWN_FRAME: "Shutdown",
}

# Error kinds (section 4.5): a worker sends these two only.
BAD_INPUT = 0
BACKEND_FAILED = 6


class DataType(NamedTuple):
    """One datatype of section 5: its code, OIP name, element size (0 for BYTES), struct and numpy formats."""

    code: int
    name: str
    size: int
    struct_format: str
    numpy_dtype: str


DATATYPES: Tuple[DataType, ...] = (
    DataType(0, "BOOL", 1, "?", "bool"),
    DataType(1, "UINT8", 1, "B", "uint8"),
    DataType(2, "UINT16", 2, "H", "<u2"),
    DataType(3, "UINT32", 4, "I", "<u4"),
    DataType(4, "UINT64", 8, "Q", "<u8"),
    DataType(5, "INT8", 1, "b", "int8"),
    DataType(6, "INT16", 2, "h", "<i2"),
    DataType(7, "INT32", 4, "i", "<i4"),
    DataType(8, "INT64", 8, "q", "<i8"),
    DataType(9, "FP16", 2, "e", "<f2"),
    DataType(10, "FP32", 4, "f", "<f4"),
    DataType(11, "FP64", 8, "d", "<f8"),
    DataType(12, "BYTES", 0, "", "object"),
)
BOOL = DATATYPES[0]
FP16 = DATATYPES[9]
BYTES = DATATYPES[12]
DATATYPES_BY_NAME = {d.name: d for d in DATATYPES}


class ProtocolError(Exception):
    """The peer broke the protocol: the connection is given up without answering the frame."""


class EncodeError(Exception):
    """What a worker was asked to send does not fit the wire (too many tensors, too long a name, too large)."""


class Tensor(NamedTuple):
    """A tensor as it travels: data is the data field exactly as on the wire (a memoryview into the frame when
    decoded); for BYTES, elements holds the decoded elements too."""

    name: str
    datatype: int
    shape: Tuple[int, ...]
    data: Union[bytes, memoryview]
    elements: Optional[List[bytes]] = None


class InferRequest(NamedTuple):
    k: int
    threshold: float
    inputs: List[Tensor]
    requested_outputs: Optional[List[str]]  # None: every output


class Frame(NamedTuple):
    frame_type: int
    request_id: int
    payload: bytearray


def element_count(shape: Sequence[int]) -> int:
    """The product of the dimensions, checked as section 5 says: every dimension >= 0, and the running product,
    left to right, never over 2^31 - 1."""
    count = 1
    for dim in shape:
        if dim < 0:
            raise ProtocolError(f"a dimension is negative ({dim})")
        count *= dim
        if count > MAX_ELEMENTS:
            raise ProtocolError("the element count is over 2^31 - 1")
    return count


# ---- reading frames ----------------------------------------------------------------------------------------------


def check_header(payload_length: int, frame_type: int) -> None:
    """Section 3: the type and the length are decided from the header alone, before the payload is read."""
    if frame_type not in FRAME_NAMES:
        raise ProtocolError(f"unknown frame type {frame_type}")
    if payload_length > MAX_PAYLOAD:
        raise ProtocolError(f"frame payload of {payload_length} bytes exceeds the limit of {MAX_PAYLOAD}")


def read_frame(stream: BinaryIO) -> Optional[Frame]:
    """Reads one whole frame from a buffered stream; None when the stream ends (between frames or within one)."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    payload_length, frame_type, request_id = HEADER.unpack(header)
    check_header(payload_length, frame_type)
    payload = bytearray(payload_length)
    view = memoryview(payload)
    filled = 0
    while filled < payload_length:
        n = stream.readinto(view[filled:])
        if not n:
            return None
        filled += n
    return Frame(frame_type, request_id, payload)


# ---- decoding payloads -------------------------------------------------------------------------------------------


class _PayloadReader:
    """A cursor over one payload that checks every length against the bytes left before taking them."""

    def __init__(self, payload: memoryview) -> None:
        self._payload = payload
        self._offset = 0

    @property
    def remaining(self) -> int:
        return len(self._payload) - self._offset

    def take(self, length: int, what: str) -> memoryview:
        if length > self.remaining:
            raise ProtocolError(f"{what} runs past the end of the payload")
        start = self._offset
        self._offset += length
        return self._payload[start:self._offset]

    def unpack(self, layout: struct.Struct, what: str) -> tuple:
        return layout.unpack(self.take(layout.size, what))

    def name(self, what: str) -> str:
        (length,) = self.unpack(NAME_LENGTH, f"the length of {what}")
        # Invalid UTF-8 decodes with replacement characters, as in the C# peers: such a name matches nothing.
        return bytes(self.take(length, what)).decode("utf-8", errors="replace")

    def expect_end(self, what: str) -> None:
        if self.remaining:
            raise ProtocolError(f"{self.remaining} bytes follow {what}")


def _decode_tensor(reader: _PayloadReader, index: int) -> Tensor:
    name = reader.name(f"the name of tensor {index}")
    code, rank = reader.unpack(DATATYPE_AND_RANK, f"the datatype and rank of tensor '{name}'")
    if code >= len(DATATYPES):
        raise ProtocolError(f"tensor '{name}' has datatype code {code}")
    shape = struct.unpack(f"<{rank}q", reader.take(8 * rank, f"the dimensions of tensor '{name}'"))
    try:
        count = element_count(shape)
    except ProtocolError as e:
        raise ProtocolError(f"tensor '{name}': {e}") from None
    (data_length,) = reader.unpack(DATA_LENGTH, f"the data length of tensor '{name}'")
    if data_length < 0:
        raise ProtocolError(f"tensor '{name}' has a negative data length")
    data = reader.take(data_length, f"the data of tensor '{name}'")
    datatype = DATATYPES[code]
    if datatype is BYTES:
        return Tensor(name, code, shape, data, _decode_bytes_elements(data, count, name))
    if data_length != count * datatype.size:
        raise ProtocolError(f"tensor '{name}' has {data_length} bytes of data, {datatype.name} {list(shape)} takes "
                            f"{count * datatype.size}")
    if datatype is BOOL and bytes(data).translate(None, b"\x00\x01"):
        raise ProtocolError(f"tensor '{name}' (BOOL) holds a byte other than 0 or 1")
    return Tensor(name, code, shape, data)


def _decode_bytes_elements(data: memoryview, count: int, name: str) -> List[bytes]:
    """Section 5: exactly `count` length-prefixed elements, and nothing else."""
    reader = _PayloadReader(data)
    elements = []
    for i in range(count):
        (length,) = reader.unpack(BYTES_ELEMENT_LENGTH, f"the length of element {i} of tensor '{name}'")
        elements.append(bytes(reader.take(length, f"element {i} of tensor '{name}'")))
    if reader.remaining:
        raise ProtocolError(f"tensor '{name}' (BYTES) has {reader.remaining} bytes after its {count} elements")
    return elements


def _decode_tensors(reader: _PayloadReader) -> List[Tensor]:
    (count,) = reader.unpack(COUNT, "the tensor count")
    return [_decode_tensor(reader, i) for i in range(count)]


def decode_infer(payload: Union[bytes, bytearray, memoryview]) -> InferRequest:
    """Section 4.3, with every check of section 5. Tensor data are views into `payload` (no copies)."""
    reader = _PayloadReader(memoryview(payload))
    k, threshold = reader.unpack(INFER_PARAMETERS, "the parameters k and threshold")
    inputs = _decode_tensors(reader)
    (count,) = reader.unpack(COUNT, "the requested-outputs count")
    requested: Optional[List[str]] = None
    if count not in (0, ALL_OUTPUTS):  # 0 is never sent; it means every output, as in the C# ONNX backend
        requested = [reader.name(f"requested output {i}") for i in range(count)]
    reader.expect_end("the requested outputs")
    return InferRequest(k, threshold, inputs, requested)


def decode_result(payload: Union[bytes, bytearray, memoryview]) -> List[Tensor]:
    """Section 4.4 (used by tests and tools: a worker never receives a Result)."""
    reader = _PayloadReader(memoryview(payload))
    tensors = _decode_tensors(reader)
    reader.expect_end("the last tensor")
    return tensors


def decode_error(payload: Union[bytes, bytearray, memoryview]) -> Tuple[int, str]:
    if len(payload) < 1:
        raise ProtocolError("an Error frame without its kind")
    return payload[0], bytes(payload[1:]).decode("utf-8", errors="replace")


def decode_hello(payload: Union[bytes, bytearray, memoryview]) -> Tuple[int, int, int]:
    if len(payload) != HELLO.size:
        raise ProtocolError(f"a Hello of {len(payload)} bytes")
    return HELLO.unpack(payload)


def decode_ready(payload: Union[bytes, bytearray, memoryview]) -> int:
    if len(payload) != READY.size:
        raise ProtocolError(f"a Ready of {len(payload)} bytes")
    return READY.unpack(payload)[0]


# ---- encoding ----------------------------------------------------------------------------------------------------


def frame(frame_type: int, request_id: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(len(payload), frame_type, request_id) + payload


def hello_frame(pid: int, worker_id: int) -> bytes:
    return frame(HELLO_FRAME, 0, HELLO.pack(PROTOCOL_VERSION, pid, worker_id))


def ready_frame(mapped_bytes: int) -> bytes:
    return frame(READY_FRAME, 0, READY.pack(mapped_bytes))


def pong_frame(ping_id: int) -> bytes:
    return frame(PONG_FRAME, ping_id)


def error_frame(request_id: int, kind: int, message: str) -> bytes:
    encoded = message.encode("utf-8", errors="replace")[: MAX_PAYLOAD - 1]
    return frame(ERROR_FRAME, request_id, ERROR_KIND.pack(kind) + encoded)


def _encode_name(name: str, what: str) -> bytes:
    encoded = name.encode("utf-8")
    if len(encoded) > 0xFFFF:
        raise EncodeError(f"{what} is {len(encoded)} bytes long; the wire carries at most 65535")
    return NAME_LENGTH.pack(len(encoded)) + encoded


def encode_bytes_elements(elements: Sequence[bytes]) -> bytes:
    parts = []
    for element in elements:
        parts.append(BYTES_ELEMENT_LENGTH.pack(len(element)))
        parts.append(element)
    return b"".join(parts)


def _encode_tensors(tensors: Sequence[Tensor], parts: List[bytes]) -> None:
    if len(tensors) > 0xFFFF:
        raise EncodeError(f"{len(tensors)} tensors; a frame carries at most 65535")
    parts.append(COUNT.pack(len(tensors)))
    for tensor in tensors:
        if len(tensor.shape) > 255:
            raise EncodeError(f"tensor '{tensor.name}' has rank {len(tensor.shape)}; the wire carries at most 255")
        if len(tensor.data) > MAX_DATA_LENGTH:
            raise EncodeError(f"tensor '{tensor.name}' has {len(tensor.data)} bytes of data; the wire carries at most "
                              f"2^31 - 1")
        parts.append(_encode_name(tensor.name, f"the name of tensor '{tensor.name[:40]}'"))
        parts.append(DATATYPE_AND_RANK.pack(tensor.datatype, len(tensor.shape)))
        parts.append(struct.pack(f"<{len(tensor.shape)}q", *tensor.shape))
        parts.append(DATA_LENGTH.pack(len(tensor.data)))
        parts.append(tensor.data)


def encode_infer(k: int, threshold: float, inputs: Sequence[Tensor], requested_outputs: Optional[Sequence[str]]) -> bytes:
    """An Infer payload (section 4.3): the worker's warm-up builds its requests with it, and tests do."""
    parts = [INFER_PARAMETERS.pack(k, threshold)]
    _encode_tensors(inputs, parts)
    if requested_outputs is None:
        parts.append(COUNT.pack(ALL_OUTPUTS))
    else:
        parts.append(COUNT.pack(len(requested_outputs)))
        parts.extend(_encode_name(name, "a requested output's name") for name in requested_outputs)
    return b"".join(parts)


def encode_result(tensors: Sequence[Tensor]) -> bytes:
    """A Result payload (section 4.4)."""
    parts: List[bytes] = []
    _encode_tensors(tensors, parts)
    return b"".join(parts)


def result_frame(request_id: int, tensors: Sequence[Tensor]) -> bytes:
    """The Result frame for a request, or, when the outputs do not fit the wire (over 64 MiB, section 7), an Error of
    kind BackendFailed saying so."""
    try:
        payload = encode_result(tensors)
    except EncodeError as e:
        return error_frame(request_id, BACKEND_FAILED, f"the outputs cannot be sent: {e}")
    if len(payload) > MAX_PAYLOAD:
        return error_frame(request_id, BACKEND_FAILED,
                           f"the outputs take {len(payload)} bytes, over the {MAX_PAYLOAD} bytes (64 MiB) one frame "
                           "carries; ask for fewer outputs or a smaller batch")
    return frame(RESULT_FRAME, request_id, payload)
