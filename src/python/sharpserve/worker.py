"""A worker: docs/python-backend.md section 3, speaking docs/worker-protocol.md.

Normally a worker is a fork of the zygote (`run_forked`, called in the child). For the conformance suite and for
debugging it also runs on its own, loading the model itself:

    python -m sharpserve.worker --socket PATH --id ID --entry MODULE:ATTR [--path DIR]...

It reads and answers one frame at a time; requests pipelined by the front wait in the socket until their turn.
It always leaves with os._exit: interpreter finalisation would touch every object once more, copying the pages a
forked worker shares with its zygote.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import random
import select
import signal
import socket
import sys
import time
import traceback
from typing import BinaryIO, Callable, List, NoReturn, Optional, Sequence, Tuple

from .model import Model, RequestError, StartupError, load_model, parse_entry
from .protocol import (
    DRAIN_FRAME, ERROR_FRAME, FRAME_NAMES, INFER_FRAME, PING_FRAME, SHUTDOWN_FRAME, EncodeError, ProtocolError, Tensor,
    decode_error, decode_infer, encode_infer, error_frame, hello_frame, pong_frame, read_frame, ready_frame,
    result_frame,
)

PR_SET_PDEATHSIG = 1
EXIT_PROTOCOL_ERROR = 1
EXIT_WRITE_FAILED = 70
THREAD_VARIABLES = (("OMP_NUM_THREADS", "1"), ("OPENBLAS_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "1"),
                    ("TOKENIZERS_PARALLELISM", "false"))

Log = Callable[[str], None]


def stderr_log(prefix: str = "") -> Log:
    def log(line: str) -> None:
        try:
            sys.stderr.write(f"{prefix}{line}\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # the log pipe's reader, the front, is gone: the worker is on its way out
    return log


# ---- one request -------------------------------------------------------------------------------------------------


def answer(model: Model, request_id: int, payload: bytearray) -> Tuple[bytes, Optional[str]]:
    """The frame answering one Infer (Result, or Error), and the error's message when it is an Error. A malformed
    payload raises ProtocolError before the model sees anything."""
    request = decode_infer(payload)
    try:
        tensors = model.infer(request)
    except RequestError as e:
        return error_frame(request_id, e.kind, e.message), e.message
    frame = result_frame(request_id, tensors)
    if frame[4] == ERROR_FRAME:
        return frame, decode_error(frame[13:])[1]
    return frame, None


def run_warmup_request(model: Model, inputs: List[Tensor]) -> Optional[str]:
    """Runs one warm-up request through the serving path (Infer encode, decode, predict, Result encode): None when
    it went through, else why not."""
    try:
        payload = bytearray(encode_infer(1, 0.0, inputs, None))
        return answer(model, 0, payload)[1]
    except (EncodeError, ProtocolError) as e:
        return f"the warm-up request cannot be sent: {e}"


# A forked worker's first calls of a model pay for more than one round shows: copy-on-write faults on the pages
# they write, the allocator's arenas, caches the model's libraries fill lazily. So the warm-up set runs in rounds,
# as the C# worker's does (up to 20), until the rounds have taken WARMUP_ROUNDS_SECONDS, so that a slow model is
# not held back long: measured on a scikit-learn classifier (docs/benchmarks.md, Python models), one round left the
# first request ~4x the warm median.
WARMUP_ROUNDS = 20
WARMUP_ROUNDS_SECONDS = 1.0


def warm_up_in_rounds(model: Model, warmup: Sequence[List[Tensor]], log: Log) -> None:
    """Runs the warm-up requests, round after round, up to WARMUP_ROUNDS or WARMUP_ROUNDS_SECONDS; a request that
    fails here (it went through in the zygote) is logged once and not run again."""
    pending = list(enumerate(warmup))
    started = time.monotonic()
    for _ in range(WARMUP_ROUNDS):
        still = []
        for index, inputs in pending:
            error = run_warmup_request(model, inputs)
            if error is None:
                still.append((index, inputs))
            else:
                log(f"warm-up request {index} failed in the worker: {error}")
        pending = still
        if not pending or time.monotonic() - started >= WARMUP_ROUNDS_SECONDS:
            return


def prepare_warmup(model: Model, log: Log) -> List[List[Tensor]]:
    """Runs the model's warm-up requests once and returns those that went through. A failing example of the
    model's own warmup() is a StartupError; a failing default input (b"warm-up", or zeros of the declared
    shapes) is dropped with a log line."""
    requests, from_model = model.warmup_requests()
    kept = []
    for index, inputs in enumerate(requests):
        error = run_warmup_request(model, inputs)
        if error is None:
            kept.append(inputs)
        elif from_model:
            raise StartupError(f"warm-up with warmup() example {index} failed: {error}")
        else:
            log(f"the default warm-up input failed ({error}); the model is served without it")
    return kept


# ---- the connection ----------------------------------------------------------------------------------------------


def serve_frames(stream: BinaryIO, send: Callable[[bytes], None], model: Model, log: Log) -> int:
    """Answers frames until Shutdown or the end of the connection; returns the exit status (section 8)."""
    while True:
        try:
            frame = read_frame(stream)
        except ProtocolError as e:
            log(f"protocol error: {e}; giving up the connection")
            return EXIT_PROTOCOL_ERROR
        except OSError:
            return 0  # a reset: the front is gone
        if frame is None:
            return 0
        try:
            if frame.frame_type == INFER_FRAME:
                try:
                    reply = answer(model, frame.request_id, frame.payload)[0]
                except ProtocolError as e:
                    log(f"protocol error in Infer {frame.request_id}: {e}; giving up the connection")
                    return EXIT_PROTOCOL_ERROR
                send(reply)
            elif frame.frame_type == PING_FRAME:
                send(pong_frame(frame.request_id))
            elif frame.frame_type == DRAIN_FRAME:
                continue
            elif frame.frame_type == SHUTDOWN_FRAME:
                return 0  # every Infer before it is answered already: one frame at a time
            else:
                log(f"protocol error: the front sent {FRAME_NAMES[frame.frame_type]}, a frame only a worker sends; "
                    "giving up the connection")
                return EXIT_PROTOCOL_ERROR
        except OSError as e:
            log(f"writing to the front failed ({e}); exiting")
            return EXIT_WRITE_FAILED


def connect_and_serve(socket_path: str, worker_id: int, model: Model, warmup: Sequence[List[Tensor]], log: Log) -> int:
    """Steps 3-5 of section 3: connect, Hello, warm up in this process, Ready, serve."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(socket_path)
    except OSError as e:
        log(f"cannot connect to the front's socket {socket_path}: {e}")
        return 1
    try:
        sock.sendall(hello_frame(os.getpid(), worker_id))
        warm_up_in_rounds(model, warmup, log)
        sock.sendall(ready_frame(0))
    except OSError as e:
        log(f"writing to the front failed ({e}); exiting")
        return EXIT_WRITE_FAILED
    stream = sock.makefile("rb")
    try:
        return serve_frames(stream, sock.sendall, model, log)
    finally:
        stream.close()
        sock.close()


# ---- the front's death -------------------------------------------------------------------------------------------


def open_front_pidfd() -> int:
    """A pidfd of this process's parent (the front), checked to still be the parent after opening it."""
    parent = os.getppid()
    fd = os.pidfd_open(parent)
    if os.getppid() != parent:
        os.close(fd)
        raise OSError(f"the parent process {parent} exited while its pidfd was opened")
    return fd


def front_is_gone(front_pidfd: int) -> bool:
    """A pidfd is readable once its process has exited."""
    return bool(select.select([front_pidfd], [], [], 0)[0])


def arm_parent_death(front_pidfd: int, parent_pid: int) -> None:
    """PR_SET_PDEATHSIG to SIGUSR2: when the parent (the zygote) dies, exit only if the front is gone too, so that a
    dead zygote's workers keep serving."""
    def on_parent_death(signum: int, frame: object) -> None:
        if front_is_gone(front_pidfd):
            os._exit(0)

    signal.signal(signal.SIGUSR2, on_parent_death)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGUSR2), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:
        on_parent_death(signal.SIGUSR2, None)  # the parent died before the signal was armed


def reset_after_fork(control_fds: Sequence[int]) -> None:
    """Step 1 of section 3: the zygote's control descriptors closed (standard input onto /dev/null), default
    handlers for the signals the zygote handles, random sequences of its own."""
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    for fd in control_fds:
        try:
            os.close(fd)
        except OSError:
            pass
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def run_forked(model: Model, warmup: Sequence[List[Tensor]], worker_id: int, socket_path: str, front_pidfd: int,
               zygote_pid: int, control_fds: Sequence[int]) -> NoReturn:
    """The forked child of the zygote: never returns."""
    status = 1
    log = stderr_log(f"worker {worker_id} pid {os.getpid()}: ")
    try:
        reset_after_fork(control_fds)
        arm_parent_death(front_pidfd, zygote_pid)
        status = connect_and_serve(socket_path, worker_id, model, warmup, log)
    except BaseException:
        traceback.print_exc(file=sys.stderr)
    finally:
        flush_and_exit(status)


def flush_and_exit(status: int) -> NoReturn:
    """Flushes what can be flushed and leaves with os._exit (the zygote's and every worker's only way out)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


# ---- standalone ----------------------------------------------------------------------------------------------------


def apply_thread_defaults() -> None:
    """docs/python-backend.md section 5: one thread per BLAS/OpenMP/tokenizer pool unless the user chose otherwise."""
    for name, value in THREAD_VARIABLES:
        os.environ.setdefault(name, value)


def apply_paths(paths: Sequence[str]) -> None:
    """sys.path: the --path folders in order, then the working directory, then the rest."""
    first = [os.path.abspath(p) for p in paths] + [os.getcwd()]
    sys.path[:] = first + [p for p in sys.path if p not in first and p != ""]


class ExitingArgumentParser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line and exits 2 through flush_and_exit."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message}\n")
        flush_and_exit(2)


def parse_worker_arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = ExitingArgumentParser(prog="python -m sharpserve.worker", add_help=False)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--entry", required=True)
    parser.add_argument("--path", action="append", default=[])
    args = parser.parse_args(argv)
    if not args.id.isdigit() or int(args.id) > 2**31 - 1:
        parser.error(f"--id must be a worker id from 0 to 2147483647, not '{args.id}'")
    args.id = int(args.id)
    try:
        parse_entry(args.entry)
    except ValueError as e:
        parser.error(str(e))
    return args


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    args = parse_worker_arguments(argv)
    log = stderr_log()
    status = 1
    try:
        apply_thread_defaults()
        apply_paths(args.path)
        front_pidfd = open_front_pidfd()
        arm_parent_death(front_pidfd, os.getppid())
        model = load_model(args.entry)
        warmup = prepare_warmup(model, log)
        status = connect_and_serve(args.socket, args.id, model, warmup, log)
    except StartupError as e:
        if e.traceback:
            sys.stderr.write(e.traceback)
        log(f"the model cannot be served: {e.error}")
    except BaseException:
        traceback.print_exc(file=sys.stderr)
    flush_and_exit(status)


if __name__ == "__main__":
    main()
