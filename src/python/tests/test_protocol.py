"""The frame codec against docs/worker-protocol.md: the worked examples of section 11, round trips of every
datatype, and one test per protocol-error rule of sections 3, 5 and 9."""
import io
import os
import re
import struct
import unittest

from sharpserve import protocol as p

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "worker-protocol.md")


def spec_example(name):
    """The bytes of the hex block '# NAME' in section 11 of the specification."""
    with open(DOCS, encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"```hex\n# " + re.escape(name) + r"\n(.*?)```", text, re.S).group(1)
    return bytes.fromhex(" ".join(line.split("|")[0] for line in block.splitlines()))


def bytes_tensor(name, shape, elements):
    return p.Tensor(name, p.BYTES.code, tuple(shape), p.encode_bytes_elements(elements), list(elements))


def numeric_tensor(name, datatype, shape, values):
    return p.Tensor(name, datatype.code, tuple(shape), struct.pack(f"<{len(values)}{datatype.struct_format}", *values))


def tensor_bytes(name, code, dims, data, data_length=None):
    """One tensor as on the wire, with every field under the test's control."""
    encoded = name.encode("utf-8")
    return (struct.pack("<H", len(encoded)) + encoded + struct.pack("<BB", code, len(dims))
            + struct.pack(f"<{len(dims)}q", *dims) + struct.pack("<i", len(data) if data_length is None else data_length)
            + data)


def infer_payload(*tensors, tail=b"\xff\xff"):
    return struct.pack("<if", 1, 0.0) + struct.pack("<H", len(tensors)) + b"".join(tensors) + tail


# One value list per datatype, at the types' extremes, so a wrong width or byte order shows.
SAMPLES = {
    "BOOL": [True, False, True],
    "UINT8": [0, 7, 255],
    "UINT16": [0, 258, 65535],
    "UINT32": [0, 16909060, 4294967295],
    "UINT64": [0, 72623859790382856, 2**63, 2**64 - 1],
    "INT8": [-128, -1, 0, 127],
    "INT16": [-32768, -2, 258, 32767],
    "INT32": [-2**31, -2, 1000000000, 2**31 - 1],
    "INT64": [-2**63, -1, 2**63 - 1],
    "FP16": [-65504.0, 6.103515625e-05, 0.333251953125],
    "FP32": [-1.5, 0.0, 3.25],
    "FP64": [1e-300, -2.25, 1e300],
}


class WorkedExampleTests(unittest.TestCase):
    """Section 11's hex blocks, byte for byte."""

    def test_hello(self):
        self.assertEqual(spec_example("hello"), p.hello_frame(4242, 1))

    def test_pong_answers_the_ping(self):
        ping = spec_example("ping")
        length, frame_type, ping_id = p.HEADER.unpack(ping)
        self.assertEqual((0, p.PING_FRAME, 7), (length, frame_type, ping_id))
        self.assertEqual(spec_example("pong"), p.pong_frame(ping_id))

    def test_infer_decodes(self):
        frame = p.read_frame(io.BufferedReader(io.BytesIO(spec_example("infer"))))
        self.assertEqual((p.INFER_FRAME, 42), (frame.frame_type, frame.request_id))
        request = p.decode_infer(frame.payload)
        self.assertEqual((1, 0.0, None), (request.k, request.threshold, request.requested_outputs))
        (text,) = request.inputs
        self.assertEqual(("text", p.BYTES.code, (2,)), (text.name, text.datatype, text.shape))
        self.assertEqual([b"dog", "h\u00e9ron".encode()], text.elements)

    def test_result_encodes(self):
        ids = numeric_tensor("id", p.DATATYPES_BY_NAME["INT64"], [2], [20, 30])
        self.assertEqual(spec_example("result"), p.result_frame(42, [ids]))


class RoundTripTests(unittest.TestCase):
    def test_every_datatype_round_trips_through_infer_and_result(self):
        tensors = [numeric_tensor(name.lower(), p.DATATYPES_BY_NAME[name], [len(values)], values)
                   for name, values in SAMPLES.items()]
        tensors.append(bytes_tensor("text", [2, 2], [b"", "h\u00e9".encode(), b"\x00\xff", b"x" * 300]))
        self.assertEqual(13, len({t.datatype for t in tensors}))
        request = p.decode_infer(p.encode_infer(-1, 0.5, tensors, ["a", "b\u00e9"]))
        self.assertEqual((-1, 0.5, ["a", "b\u00e9"]), (request.k, request.threshold, request.requested_outputs))
        for sent, got in zip(tensors, request.inputs):
            self.assertEqual((sent.name, sent.datatype, sent.shape, bytes(sent.data)),
                             (got.name, got.datatype, got.shape, bytes(got.data)))
        self.assertEqual(tensors[-1].elements, request.inputs[-1].elements)
        for sent, got in zip(tensors, p.decode_result(p.encode_result(tensors))):
            self.assertEqual((sent.name, sent.datatype, sent.shape, bytes(sent.data)),
                             (got.name, got.datatype, got.shape, bytes(got.data)))

    def test_decoded_data_are_views_of_the_payload(self):
        payload = bytearray(p.encode_infer(1, 0.0, [numeric_tensor("x", p.DATATYPES_BY_NAME["FP32"], [2], [1, 2])], None))
        (x,) = p.decode_infer(payload).inputs
        self.assertIsInstance(x.data, memoryview)
        self.assertIs(payload, x.data.obj)

    def test_scalar_and_empty_shapes(self):
        scalar = numeric_tensor("s", p.DATATYPES_BY_NAME["FP32"], [], [2.0])
        empty = p.Tensor("e", p.DATATYPES_BY_NAME["INT32"].code, (0, 2**40), b"")
        request = p.decode_infer(p.encode_infer(1, 0.0, [scalar, empty], None))
        self.assertEqual([(), (0, 2**40)], [t.shape for t in request.inputs])

    def test_zero_requested_outputs_means_every_output(self):
        self.assertIsNone(p.decode_infer(infer_payload(tail=b"\x00\x00")).requested_outputs)

    def test_hello_ready_error_layouts(self):
        self.assertEqual((2, 4242, 7), p.decode_hello(p.hello_frame(4242, 7)[13:]))
        self.assertEqual(0, p.decode_ready(p.ready_frame(0)[13:]))
        frame = p.error_frame(9, p.BAD_INPUT, "input 'x' is missing")
        self.assertEqual((len(frame) - 13, p.ERROR_FRAME, 9), p.HEADER.unpack(frame[:13]))
        self.assertEqual((0, "input 'x' is missing"), p.decode_error(frame[13:]))


class ReadFrameTests(unittest.TestCase):
    def stream(self, data):
        return io.BufferedReader(io.BytesIO(data))

    def test_frames_follow_each_other(self):
        data = p.pong_frame(1) + p.frame(p.INFER_FRAME, 2, b"abc") + p.frame(p.SHUTDOWN_FRAME, 0)
        stream = self.stream(data)
        self.assertEqual([(7, 1, b""), (3, 2, b"abc"), (9, 0, b"")],
                         [(f.frame_type, f.request_id, bytes(f.payload)) for f in iter(lambda: p.read_frame(stream), None)])

    def test_the_end_of_the_stream_is_none_also_within_a_frame(self):
        whole = p.frame(p.INFER_FRAME, 2, b"abcdef")
        for cut in range(len(whole)):
            self.assertIsNone(p.read_frame(self.stream(whole[:cut])), cut)

    def test_unknown_types_are_protocol_errors_from_the_header(self):
        for frame_type in (0, 10, 255):
            with self.assertRaisesRegex(p.ProtocolError, f"unknown frame type {frame_type}"):
                p.read_frame(self.stream(p.HEADER.pack(0, frame_type, 0)))

    def test_a_payload_over_64_mib_is_refused_from_the_header_alone(self):
        for length in (p.MAX_PAYLOAD + 1, 2**32 - 1):
            with self.assertRaisesRegex(p.ProtocolError, "exceeds the limit"):
                p.read_frame(self.stream(p.HEADER.pack(length, p.INFER_FRAME, 0)))  # no payload follows

    def test_64_mib_exactly_is_accepted(self):
        p.check_header(p.MAX_PAYLOAD, p.INFER_FRAME)


class MalformedInferTests(unittest.TestCase):
    """Section 9: every violation of sections 4.3 and 5 in an Infer is a protocol error."""

    def assert_protocol_error(self, payload, pattern):
        with self.assertRaisesRegex(p.ProtocolError, pattern):
            p.decode_infer(payload)

    def test_every_cut_is_an_error(self):
        payload = p.encode_infer(1, 0.0, [bytes_tensor("text", [2], [b"dog", b"cat"]),
                                          numeric_tensor("x", p.DATATYPES_BY_NAME["FP32"], [1, 2], [1, 2])], ["id"])
        p.decode_infer(payload)
        for cut in range(len(payload)):
            with self.assertRaises(p.ProtocolError, msg=f"cut at {cut}"):
                p.decode_infer(payload[:cut])

    def test_datatype_code_over_12(self):
        self.assert_protocol_error(infer_payload(tensor_bytes("x", 13, [1], b"\x00")), "datatype code 13")

    def test_negative_dimension(self):
        self.assert_protocol_error(infer_payload(tensor_bytes("x", 1, [-1], b"")), "negative")

    def test_element_count_over_2_31_minus_1_left_to_right(self):
        self.assert_protocol_error(infer_payload(tensor_bytes("x", 1, [2**40, 0], b"")), "2\\^31")
        self.assert_protocol_error(infer_payload(tensor_bytes("x", 1, [2**16, 2**15], b"")), "2\\^31")
        p.decode_infer(infer_payload(tensor_bytes("x", 1, [0, 2**40], b"")))

    def test_negative_data_length(self):
        self.assert_protocol_error(infer_payload(tensor_bytes("x", 1, [0], b"", data_length=-1)), "negative data length")

    def test_data_running_past_the_payload(self):
        self.assert_protocol_error(infer_payload(tensor_bytes("x", 1, [4], b"\x00" * 4, data_length=40)), "runs past")

    def test_numeric_data_not_exactly_the_elements(self):
        self.assert_protocol_error(infer_payload(tensor_bytes("x", 10, [2], b"\x00" * 7)), "takes 8")
        self.assert_protocol_error(infer_payload(tensor_bytes("x", 10, [2], b"\x00" * 9)), "takes 8")

    def test_bool_byte_other_than_0_or_1(self):
        self.assert_protocol_error(infer_payload(tensor_bytes("flag", 0, [3], b"\x00\x01\x02")), "other than 0 or 1")

    def test_bytes_data_that_disagrees_with_its_elements(self):
        two = p.encode_bytes_elements([b"ab", b"c"])
        self.assert_protocol_error(infer_payload(tensor_bytes("t", 12, [3], two)), "runs past")  # too few
        self.assert_protocol_error(infer_payload(tensor_bytes("t", 12, [1], two)), "after its 1 elements")  # too many
        self.assert_protocol_error(infer_payload(tensor_bytes("t", 12, [1], struct.pack("<I", 9) + b"abc")), "runs past")
        self.assert_protocol_error(infer_payload(tensor_bytes("t", 12, [1], b"\x01\x00")), "runs past")

    def test_a_name_running_past_the_payload(self):
        self.assert_protocol_error(struct.pack("<ifH", 1, 0.0, 1) + struct.pack("<H", 50) + b"abc", "runs past")

    def test_requested_outputs_missing_or_cut_short(self):
        self.assert_protocol_error(infer_payload(tail=b""), "requested-outputs count")
        self.assert_protocol_error(infer_payload(tail=struct.pack("<H", 2) + struct.pack("<H", 1) + b"a"), "requested output 1")
        self.assert_protocol_error(infer_payload(tail=struct.pack("<HH", 1, 5) + b"ab"), "runs past")

    def test_bytes_after_the_requested_outputs(self):
        self.assert_protocol_error(infer_payload(tail=b"\xff\xff\x00"), "1 bytes follow")
        self.assert_protocol_error(infer_payload(tail=struct.pack("<HH", 1, 1) + b"ab"), "1 bytes follow")

    def test_invalid_utf8_names_match_nothing_rather_than_failing(self):
        request = p.decode_infer(infer_payload(tensor_bytes("x", 1, [1], b"\x00").replace(b"x", b"\xff", 1)))
        self.assertEqual("\ufffd", request.inputs[0].name)


class EncodeLimitTests(unittest.TestCase):
    """Section 7: a Result that cannot travel becomes an Error of kind BackendFailed."""

    def assert_backend_failed(self, frame, pattern):
        length, frame_type, request_id = p.HEADER.unpack(frame[:13])
        self.assertEqual((p.ERROR_FRAME, 5), (frame_type, request_id))
        kind, message = p.decode_error(frame[13:])
        self.assertEqual(p.BACKEND_FAILED, kind)
        self.assertRegex(message, pattern)

    def test_a_result_over_64_mib(self):
        big = p.Tensor("y", p.DATATYPES_BY_NAME["UINT8"].code, (p.MAX_PAYLOAD,), bytes(p.MAX_PAYLOAD))
        self.assert_backend_failed(p.result_frame(5, [big]), "over the 67108864 bytes")

    def test_a_result_of_64_mib_exactly_is_sent(self):
        overhead = len(p.encode_result([p.Tensor("y", 1, (0,), b"")]))
        data = bytes(p.MAX_PAYLOAD - overhead)
        frame = p.result_frame(5, [p.Tensor("y", 1, (len(data),), data)])
        self.assertEqual((p.MAX_PAYLOAD, p.RESULT_FRAME), p.HEADER.unpack(frame[:13])[:2])

    def test_rank_and_name_limits(self):
        self.assert_backend_failed(p.result_frame(5, [p.Tensor("y", 1, (1,) * 256, b"\x00")]), "rank 256")
        self.assert_backend_failed(p.result_frame(5, [p.Tensor("y" * 65536, 1, (1,), b"\x00")]), "65535")


if __name__ == "__main__":
    unittest.main()
