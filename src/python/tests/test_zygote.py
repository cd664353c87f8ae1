"""The zygote end to end (docs/python-backend.md sections 2 and 3): `/usr/bin/python3 -m sharpserve.zygote` runs as
a subprocess with pipes, this test plays the front on its control protocol and on a real Unix socket, and the
forked workers speak docs/worker-protocol.md to it. Every wait is bounded (BOUND); nothing waits on a timer."""
import json
import os
import queue
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import unittest

from sharpserve import protocol as p

PYTHON = "/usr/bin/python3"
PACKAGE_PARENT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BOUND = 60.0

DICT_MODEL = """
    from sharpserve import BadInput

    class Model:
        def load(self):
            self.table = {"dog": "animal", "oak": "tree"}

        def predict(self, data):
            if data == b"bad":
                raise BadInput("bad is not a word")
            return self.table.get(data.decode(), "unknown")
"""


def environment(**changes):
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def text_infer(request_id, *texts, requested=None):
    elements = [t.encode() for t in texts]
    tensor = p.Tensor("text", p.BYTES.code, (len(elements),), p.encode_bytes_elements(elements), elements)
    return p.frame(p.INFER_FRAME, request_id, p.encode_infer(1, 0.0, [tensor], requested))


def wait_for_exit_of(pidfd):
    """A pidfd turns readable once its process has exited (reaped or not); False if it still runs after BOUND."""
    return bool(select.select([pidfd], [], [], BOUND)[0])


class Lines:
    """Reads a pipe line by line on a thread, so the test can wait for the next line with a bound."""

    def __init__(self, pipe):
        self.lines = queue.Queue()
        self.seen = []
        self._thread = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self._thread.start()

    def _run(self, pipe):
        for line in iter(pipe.readline, b""):
            self.seen.append(line.decode("utf-8", errors="replace"))
            self.lines.put(line)
        self.lines.put(None)

    def next(self, what):
        try:
            return self.lines.get(timeout=BOUND)
        except queue.Empty:
            raise AssertionError(f"no {what} within {BOUND} s") from None

    def text(self):
        return "".join(self.seen)


class Worker:
    """The front's end of one worker's connection."""

    def __init__(self, connection, pid):
        self.connection = connection
        self.pid = pid
        self.stream = connection.makefile("rb")

    def receive(self):
        return p.read_frame(self.stream)

    def send(self, data):
        self.connection.sendall(data)

    def peer_pid(self):
        creds = self.connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return struct.unpack("3i", creds)[0]

    def close(self):
        self.stream.close()
        self.connection.close()


class ZygoteRun:
    """One zygote serving a model written to a fresh folder, and the socket its workers connect to."""

    def __init__(self, test, source, entry="model:Model", env=None, extra_files=None):
        self.test = test
        self.folder = tempfile.mkdtemp(prefix="sharpserve-zygote-test-")
        with open(os.path.join(self.folder, "model.py"), "w") as f:
            f.write(textwrap.dedent(source))
        for name, text in (extra_files or {}).items():
            with open(os.path.join(self.folder, name), "w") as f:
                f.write(text)
        self.socket_path = os.path.join(self.folder, "workers.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.socket_path)
        self.server.listen(8)
        self.server.settimeout(BOUND)
        self.worker_pidfds = []
        self.process = subprocess.Popen(
            [PYTHON, "-m", "sharpserve.zygote", "--entry", entry, "--name", "test", "--path", self.folder],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or environment(),
            cwd=self.folder)
        self.events = Lines(self.process.stdout)
        self.log = Lines(self.process.stderr)
        test.addCleanup(self.close)

    def event(self, expected=None):
        line = self.events.next(f"event {expected or ''} from the zygote (log: {self.log.text()})")
        self.test.assertIsNotNone(line, f"the zygote closed its output; log: {self.log.text()}")
        message = json.loads(line)
        if expected is not None:
            self.test.assertEqual(expected, message.get("event"), f"{message}; log: {self.log.text()}")
        return message

    def send(self, **command):
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        self.process.stdin.flush()

    def send_raw(self, line):
        self.process.stdin.write(line)
        self.process.stdin.flush()

    def start(self):
        hello = self.event("hello")
        return hello, self.event("loaded")

    def fork(self, worker_id):
        """fork -> forked -> the worker connects, says Hello with its pid and id, then Ready."""
        self.send(command="fork", id=worker_id, socket=self.socket_path)
        forked = self.event("forked")
        self.test.assertEqual(worker_id, forked["id"])
        self.worker_pidfds.append(os.pidfd_open(forked["pid"]))
        connection, _ = self.server.accept()
        connection.settimeout(BOUND)
        worker = Worker(connection, forked["pid"])
        self.test.addCleanup(worker.close)
        hello = worker.receive()
        self.test.assertEqual(p.HELLO_FRAME, hello.frame_type)
        self.test.assertEqual((2, forked["pid"], worker_id), p.decode_hello(hello.payload))
        self.test.assertEqual(forked["pid"], worker.peer_pid())
        ready = worker.receive()
        self.test.assertEqual((p.READY_FRAME, 0), (ready.frame_type, p.decode_ready(ready.payload)))
        return worker

    def wait(self):
        try:
            return self.process.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the zygote did not exit; log: {self.log.text()}") from None

    def close(self):
        for pidfd in self.worker_pidfds:
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.close(pidfd)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=BOUND)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass
        self.server.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class ZygoteLifecycleTests(unittest.TestCase):
    def test_hello_loaded_fork_infer_ping_shutdown_exited_exit(self):
        run = ZygoteRun(self, DICT_MODEL)
        hello, loaded = run.start()
        self.assertEqual((1, run.process.pid), (hello["version"], hello["pid"]))
        self.assertRegex(hello["python"], r"^3\.\d+\.\d+$")
        self.assertEqual({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}],
                          "outputs": [{"name": "label", "datatype": "BYTES", "shape": [-1]},
                                      {"name": "json", "datatype": "BYTES", "shape": [-1]}]}, loaded["metadata"])
        self.assertFalse(loaded["batch"])
        self.assertEqual([[{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["d2FybS11cA=="]}]], loaded["warmup"])
        self.assertTrue(all(loaded["memory"][k] > 0 for k in ("rss", "pss", "private_dirty")), loaded["memory"])
        self.assertGreaterEqual(loaded["load_seconds"], 0)
        self.assertGreaterEqual(loaded["warmup_seconds"], 0)

        worker = run.fork(7)
        worker.send(text_infer(42, "dog", "zebra"))
        result = worker.receive()
        self.assertEqual((p.RESULT_FRAME, 42), (result.frame_type, result.request_id))
        (label,) = p.decode_result(result.payload)
        self.assertEqual(("label", [b"animal", b"unknown"]), (label.name, label.elements))
        worker.send(text_infer(43, "bad"))
        error = worker.receive()
        self.assertEqual((p.ERROR_FRAME, 43, (p.BAD_INPUT, "bad is not a word")),
                         (error.frame_type, error.request_id, p.decode_error(error.payload)))
        worker.send(p.frame(p.PING_FRAME, 2**64 - 1))
        pong = worker.receive()
        self.assertEqual((p.PONG_FRAME, 2**64 - 1), (pong.frame_type, pong.request_id))
        worker.send(p.frame(p.SHUTDOWN_FRAME, 0))
        self.assertIsNone(worker.receive())
        self.assertEqual({"event": "exited", "id": 7, "pid": worker.pid, "status": "exited with code 0"}, run.event("exited"))

        run.send(command="exit")
        self.assertEqual(0, run.wait())

    def test_pipelined_requests_are_answered_in_turn(self):
        run = ZygoteRun(self, DICT_MODEL)
        run.start()
        worker = run.fork(1)
        worker.send(b"".join(text_infer(i, "dog" if i % 2 else "oak") for i in range(32)))
        answers = [worker.receive() for _ in range(32)]
        self.assertEqual(list(range(32)), [a.request_id for a in answers])
        self.assertEqual([b"animal" if i % 2 else b"tree" for i in range(32)],
                         [p.decode_result(a.payload)[0].elements[0] for a in answers])

    def test_workers_get_their_own_random_sequences(self):
        source = """
            import random

            class Model:
                def predict(self, data):
                    return str(random.random())
        """
        run = ZygoteRun(self, source)
        run.start()
        answers = []
        for worker_id in (1, 2):
            worker = run.fork(worker_id)
            worker.send(text_infer(1, "x"))
            answers.append(p.decode_result(worker.receive().payload)[0].elements[0])
        self.assertNotEqual(answers[0], answers[1])

    def test_what_the_model_prints_goes_to_the_log_not_the_protocol(self):
        source = """
            import os
            print("printed at import")

            class Model:
                def load(self):
                    print("printed in load")
                    os.write(1, b"written to fd 1 in load\\n")

                def predict(self, data):
                    print("printed in predict")
                    return "ok"
        """
        run = ZygoteRun(self, source)
        run.start()  # each event line parses as JSON
        worker = run.fork(1)
        worker.send(text_infer(1, "x"))
        self.assertEqual(p.RESULT_FRAME, worker.receive().frame_type)
        worker.send(p.frame(p.SHUTDOWN_FRAME, 0))
        self.assertIsNone(worker.receive())
        run.event("exited")
        run.send(command="exit")
        self.assertEqual(0, run.wait())
        log = run.log.text()
        for line in ("printed at import", "printed in load", "written to fd 1 in load", "printed in predict"):
            self.assertIn(line, log)

    def test_a_killed_worker_is_reported_with_its_signal(self):
        run = ZygoteRun(self, DICT_MODEL)
        run.start()
        worker = run.fork(3)
        signal.pidfd_send_signal(run.worker_pidfds[-1], signal.SIGKILL)
        self.assertEqual({"event": "exited", "id": 3, "pid": worker.pid, "status": f"was killed by signal {signal.SIGKILL.value}"},
                         run.event("exited"))

    def test_a_worker_exit_code_is_reported(self):
        source = """
            import os

            class Model:
                def predict(self, data):
                    if data == b"exit":
                        os._exit(5)
                    return "fine"
        """
        run = ZygoteRun(self, source)
        run.start()
        worker = run.fork(4)
        worker.send(text_infer(1, "exit"))
        self.assertIsNone(worker.receive())
        self.assertEqual("exited with code 5", run.event("exited")["status"])

    def test_the_end_of_input_kills_every_worker_and_exits_1(self):
        run = ZygoteRun(self, DICT_MODEL)
        run.start()
        workers = [run.fork(1), run.fork(2)]
        run.process.stdin.close()
        self.assertEqual(1, run.wait())
        for worker, pidfd in zip(workers, run.worker_pidfds):
            self.assertTrue(wait_for_exit_of(pidfd), f"worker {worker.pid} still runs")
            self.assertIsNone(worker.receive())

    def test_exit_leaves_the_workers_serving(self):
        run = ZygoteRun(self, DICT_MODEL)
        run.start()
        worker = run.fork(1)
        run.send(command="exit")
        self.assertEqual(0, run.wait())
        worker.send(text_infer(9, "oak"))
        self.assertEqual([b"tree"], p.decode_result(worker.receive().payload)[0].elements)
        worker.send(p.frame(p.SHUTDOWN_FRAME, 0))
        self.assertIsNone(worker.receive())
        self.assertTrue(wait_for_exit_of(run.worker_pidfds[0]))

    def test_workers_of_a_killed_zygote_serve_on_while_the_front_lives(self):
        run = ZygoteRun(self, DICT_MODEL)
        run.start()
        worker = run.fork(1)
        run.process.kill()  # the worker gets its parent-death signal, sees the front (this process) alive
        self.assertEqual(-signal.SIGKILL, run.wait())
        worker.send(text_infer(9, "dog"))
        self.assertEqual([b"animal"], p.decode_result(worker.receive().payload)[0].elements)

    def test_thread_variables_are_set_only_when_unset_and_paths_come_first(self):
        source = """
            import json, os, sys

            class Model:
                def predict(self, data):
                    names = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TOKENIZERS_PARALLELISM"]
                    return json.dumps({"env": [os.environ.get(n) for n in names], "path": sys.path[:2]})
        """
        env = environment(OMP_NUM_THREADS="3", OPENBLAS_NUM_THREADS=None, MKL_NUM_THREADS=None, TOKENIZERS_PARALLELISM=None)
        run = ZygoteRun(self, source, env=env)
        run.start()
        worker = run.fork(1)
        worker.send(text_infer(1, "x"))
        answer = json.loads(p.decode_result(worker.receive().payload)[0].elements[0])
        self.assertEqual(["3", "1", "1", "false"], answer["env"])
        self.assertEqual([run.folder, run.folder], answer["path"])  # --path, then the working directory (the same here)

    def test_a_failing_default_warm_up_is_left_out_of_loaded(self):
        source = """
            from sharpserve import BadInput

            class Model:
                def predict(self, data):
                    if data == b"warm-up":
                        raise BadInput("not a real input")
                    return "ok"
        """
        run = ZygoteRun(self, source)
        _, loaded = run.start()
        self.assertEqual([], loaded["warmup"])
        self.assertIn("default warm-up input failed", run.log.text())
        worker = run.fork(1)
        worker.send(text_infer(1, "x"))
        self.assertEqual([b"ok"], p.decode_result(worker.receive().payload)[0].elements)


class ShippedTestModelTests(unittest.TestCase):
    """tests/data/python's models for the functional tests, served through a zygote: they load, fork and answer."""

    DATA = os.path.join(PACKAGE_PARENT, "..", "..", "tests", "data", "python")

    def serve(self, folder, *texts):
        with open(os.path.join(self.DATA, folder, "model.py")) as f:
            run = ZygoteRun(self, f.read())
        _, loaded = run.start()
        worker = run.fork(1)
        worker.send(text_infer(1, *texts))
        result = worker.receive()
        self.assertEqual(p.RESULT_FRAME, result.frame_type, p.decode_error(result.payload) if result.frame_type == p.ERROR_FRAME else "")
        (label,) = p.decode_result(result.payload)
        self.assertEqual("label", label.name)
        return loaded, [e.decode() for e in label.elements]

    def test_the_dict_model(self):
        loaded, labels = self.serve("dict_model", "dog", "h\u00e9ron", "zebra")
        self.assertEqual(["animal", "bird", "unknown"], labels)
        self.assertFalse(loaded["batch"])

    def test_the_sklearn_model_tells_its_two_classes_apart(self):
        loaded, labels = self.serve("sklearn_model", "cold rain and wind", "bread and cheese")
        self.assertEqual(["weather", "food"], labels)
        self.assertTrue(loaded["batch"])


class ZygoteFailureTests(unittest.TestCase):
    def assert_failed(self, source, error, entry="model:Model", traceback=False, extra_files=None):
        run = ZygoteRun(self, source, entry=entry, extra_files=extra_files)
        run.event("hello")
        failed = run.event("failed")
        self.assertIn(error, failed["error"])
        self.assertNotIn("\n", failed["error"])
        if traceback:
            self.assertIn("Traceback", failed["traceback"])
        self.assertEqual(1, run.wait())
        return failed

    def test_module_not_found(self):
        self.assert_failed(DICT_MODEL, "module 'not_there' not found", entry="not_there:Model")

    def test_attribute_missing(self):
        self.assert_failed(DICT_MODEL, "module 'model' has no attribute 'Nope'", entry="model:Nope")

    def test_import_raised(self):
        self.assert_failed("raise RuntimeError('no GPU here')\n", "importing model raised RuntimeError: no GPU here",
                           traceback=True)

    def test_load_raised(self):
        source = "class Model:\n    def load(self):\n        raise FileNotFoundError('weights.bin')\n    def predict(self, d): pass\n"
        self.assert_failed(source, "load() raised FileNotFoundError: weights.bin", traceback=True)

    def test_predict_missing(self):
        self.assert_failed("class Model:\n    def load(self): pass\n", "model:Model has no predict method")

    def test_bad_metadata(self):
        source = ("class Model:\n    def metadata(self):\n        return {'inputs': [], 'outputs': []}\n"
                  "    def predict(self, d): pass\n")
        self.assert_failed(source, "metadata() is malformed: 'inputs' must be a non-empty list")

    def test_a_failing_warmup_example_of_the_model(self):
        source = ("class Model:\n    def warmup(self):\n        return [b'x']\n"
                  "    def predict(self, d):\n        raise ValueError('x')\n")
        self.assert_failed(source, "warm-up with warmup() example 0 failed: predict raised ValueError")

    def test_a_thread_left_running(self):
        source = """
            import threading

            class Model:
                def load(self):
                    self.stop = threading.Event()
                    threading.Thread(target=self.stop.wait, daemon=True, name="stray-pool").start()

                def predict(self, data):
                    return "x"
        """
        failed = self.assert_failed(source, "the zygote has 2 threads")
        self.assertIn("OMP_NUM_THREADS=1", failed["error"])
        self.assertIn("stray-pool", failed["error"])  # the thread's Python name, which the kernel does not know


class ControlProtocolTests(unittest.TestCase):
    def assert_protocol_error(self, line, pattern):
        run = ZygoteRun(self, DICT_MODEL)
        run.start()
        run.send_raw(line)
        failed = run.event("failed")
        self.assertRegex(failed["error"], pattern)
        self.assertEqual(1, run.wait())

    def test_a_line_that_is_not_json(self):
        self.assert_protocol_error(b"fork please\n", "not JSON")

    def test_a_line_that_is_not_an_object(self):
        self.assert_protocol_error(b"[1]\n", "not a JSON object")

    def test_an_unknown_command(self):
        self.assert_protocol_error(b'{"command": "restart"}\n', "unknown command 'restart'")

    def test_a_fork_without_its_fields(self):
        self.assert_protocol_error(b'{"command": "fork", "id": 1}\n', "'socket'")
        self.assert_protocol_error(b'{"command": "fork", "id": true, "socket": "/x"}\n', "'id'")

    def test_unknown_fields_are_ignored(self):
        run = ZygoteRun(self, DICT_MODEL)
        run.start()
        run.send(command="exit", reason="stopping")
        self.assertEqual(0, run.wait())

    def loading_model(self):
        """A model whose load() waits until the test writes to a FIFO, so commands can arrive while it loads."""
        fifo = os.path.join(tempfile.mkdtemp(prefix="sharpserve-fifo-"), "go")
        os.mkfifo(fifo)
        self.addCleanup(shutil.rmtree, os.path.dirname(fifo))
        source = f"""
            class Model:
                def load(self):
                    with open({fifo!r}) as f:
                        f.read()

                def predict(self, data):
                    return "x"
        """
        return source, fifo

    def release(self, fifo):
        with open(fifo, "w") as f:
            f.write("go")

    def test_a_fork_before_loaded_is_a_protocol_error(self):
        source, fifo = self.loading_model()
        run = ZygoteRun(self, source)
        run.event("hello")
        run.send(command="fork", id=1, socket=run.socket_path)
        self.release(fifo)
        self.assertIn("before loaded", run.event("failed")["error"])
        self.assertEqual(1, run.wait())

    def test_the_end_of_input_while_loading_exits_at_once(self):
        source, fifo = self.loading_model()
        run = ZygoteRun(self, source)
        run.event("hello")
        run.process.stdin.close()
        self.assertEqual(1, run.wait())  # load() is still blocked: the watchdog thread ended the process
        self.assertIn("while the model loaded", run.log.text())


class ArgumentTests(unittest.TestCase):
    def run_module(self, *arguments):
        return subprocess.run([PYTHON, "-m", *arguments], env=environment(), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=BOUND)

    def test_missing_or_invalid_flags_exit_2(self):
        for arguments in (["sharpserve.zygote", "--name", "x"],
                          ["sharpserve.zygote", "--entry", "nocolon", "--name", "x"],
                          ["sharpserve.worker", "--id", "1", "--entry", "m:A"],
                          ["sharpserve.worker", "--socket", "/x", "--id", "-1", "--entry", "m:A"],
                          ["sharpserve.worker", "--socket", "/x", "--id", "2147483648", "--entry", "m:A"],
                          ["sharpserve.worker", "--socket", "/x", "--id", "1", "--entry", "m:A", "--bogus"]):
            completed = self.run_module(*arguments)
            self.assertEqual(2, completed.returncode, arguments)
            self.assertEqual(b"", completed.stdout, arguments)


class StandaloneWorkerWithoutNumpyTests(unittest.TestCase):
    """The standalone worker serving declared tensors where numpy cannot be imported: memoryviews in and out."""

    def test_declared_tensors_without_numpy(self):
        folder = tempfile.mkdtemp(prefix="sharpserve-worker-test-")
        self.addCleanup(shutil.rmtree, folder)
        with open(os.path.join(folder, "model.py"), "w") as f:
            f.write(textwrap.dedent("""
                import sys

                class Model:
                    def metadata(self):
                        return {"inputs": [{"name": "x", "datatype": "INT16", "shape": [-1, 2]}],
                                "outputs": [{"name": "y", "datatype": "INT16", "shape": [-1, 2]},
                                            {"name": "numpy", "datatype": "BOOL", "shape": []}]}

                    def predict(self, x):
                        assert isinstance(x, memoryview) and x.readonly
                        return {"y": [[-v for v in row] for row in x.tolist()], "numpy": sys.modules.get("numpy") is not None}
            """))
        path = os.path.join(folder, "w.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(server.close)
        server.bind(path)
        server.listen(1)
        server.settimeout(BOUND)
        code = "import sys; sys.modules['numpy'] = None; from sharpserve.worker import main; main(sys.argv[1:])"
        process = subprocess.Popen([PYTHON, "-c", code, "--socket", path, "--id", "5", "--entry", "model:Model",
                                    "--path", folder], env=environment(), stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        connection, _ = server.accept()
        connection.settimeout(BOUND)
        worker = Worker(connection, process.pid)
        self.addCleanup(worker.close)
        self.assertEqual((2, process.pid, 5), p.decode_hello(worker.receive().payload))
        self.assertEqual(p.READY_FRAME, worker.receive().frame_type)
        x = p.Tensor("x", p.DATATYPES_BY_NAME["INT16"].code, (2, 2), struct.pack("<4h", 1, -2, 300, -32767))
        worker.send(p.frame(p.INFER_FRAME, 11, p.encode_infer(1, 0.0, [x], None)))
        result = worker.receive()
        self.assertEqual((p.RESULT_FRAME, 11), (result.frame_type, result.request_id))
        y, numpy = p.decode_result(result.payload)
        self.assertEqual(((2, 2), (-1, 2, -300, 32767)), (y.shape, struct.unpack("<4h", y.data)))
        self.assertEqual(b"\x00", bytes(numpy.data))
        worker.send(p.frame(p.SHUTDOWN_FRAME, 0))
        self.assertIsNone(worker.receive())
        self.assertEqual(0, process.wait(timeout=BOUND))


if __name__ == "__main__":
    unittest.main()
