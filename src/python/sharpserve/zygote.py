"""The zygote: docs/python-backend.md section 2 (its control protocol with the front) and section 3 (forking).

    python -m sharpserve.zygote --entry MODULE:ATTR --name NAME [--path DIR]...

It imports the user's model once, loads and warms it up, freezes the heap (gc.freeze) and then forks one worker
per `fork` command; the workers share its pages copy-on-write. Standard input carries the front's commands and the
original standard output the zygote's events, one JSON object per line; everything else that writes to standard
output (the user's print, native code) goes to standard error, the log.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import select
import signal
import sys
import threading
import time
import traceback
from typing import Any, Dict, List, NoReturn, Optional, Sequence, Tuple

from .worker import ExitingArgumentParser, flush_and_exit

# Python 3.9 brings os.pidfd_open; this module itself still runs on older ones, far enough to say so.
MINIMUM_PYTHON = (3, 9)
PROTOCOL_VERSION = 1
MAX_LINE = 16 * 1024 * 1024
# How long the zygote waits for its stopped watchdog thread to leave /proc/self/task: join() returns as the thread's
# Python state is cleared, a moment before the kernel thread itself exits.
THREAD_EXIT_BOUND_SECONDS = 5.0


class ControlProtocolError(Exception):
    """A command line the zygote cannot take: it says `failed` and exits 1."""


class StartFailure(Exception):
    """The model cannot be served: `failed` with this one-line error (and traceback), exit 1."""

    def __init__(self, error: str, traceback_text: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.traceback = traceback_text


# ---- the control channel -----------------------------------------------------------------------------------------


class Control:
    """The zygote's ends of the control protocol: commands read from `input_fd`, events written to `output_fd`.
    Both are private descriptors: fd 0 is /dev/null and fd 1 the log once the zygote has started."""

    def __init__(self, input_fd: int, output_fd: int) -> None:
        self.input_fd = input_fd
        self.output_fd = output_fd
        self._pending = bytearray()

    def send(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        data = memoryview((line + "\n").encode("utf-8"))
        while data:
            written = os.write(self.output_fd, data)
            data = data[written:]

    def feed(self, data: bytes) -> None:
        self._pending += data

    def read_available(self) -> bool:
        """Reads what the pipe holds now; False at its end."""
        data = os.read(self.input_fd, 1 << 16)
        if not data:
            return False
        self._pending += data
        return True

    def take_waiting_input(self) -> Tuple[bytes, bool]:
        """What the input pipe holds now, without waiting, and whether it has ended."""
        data = bytearray()
        while select.select([self.input_fd], [], [], 0)[0]:
            chunk = os.read(self.input_fd, 1 << 16)
            if not chunk:
                return bytes(data), True
            data += chunk
        return bytes(data), False

    def commands(self) -> List[Dict[str, Any]]:
        """The complete lines received so far, parsed and checked (ControlProtocolError otherwise)."""
        commands = []
        while True:
            end = self._pending.find(b"\n")
            if end < 0:
                if len(self._pending) > MAX_LINE:
                    raise ControlProtocolError(f"a command line is longer than {MAX_LINE} bytes")
                return commands
            if end > MAX_LINE:
                raise ControlProtocolError(f"a command line is longer than {MAX_LINE} bytes")
            line = bytes(self._pending[:end])
            del self._pending[:end + 1]
            commands.append(parse_command(line))


def parse_command(line: bytes) -> Dict[str, Any]:
    try:
        message = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise ControlProtocolError("a command line is not UTF-8") from None
    except ValueError:
        raise ControlProtocolError("a command line is not JSON") from None
    if not isinstance(message, dict):
        raise ControlProtocolError("a command line is not a JSON object")
    command = message.get("command")
    if command == "fork":
        worker_id = message.get("id")
        if isinstance(worker_id, bool) or not isinstance(worker_id, int) or not 0 <= worker_id <= 2**31 - 1:
            raise ControlProtocolError("a fork command without an 'id' from 0 to 2147483647")
        if not isinstance(message.get("socket"), str) or not message["socket"]:
            raise ControlProtocolError("a fork command without a 'socket' path")
    elif command != "exit":
        raise ControlProtocolError("a command line without a known 'command'" if command is None
                                   else f"unknown command {str(command)[:40]!r}")
    return message


class StdinWatchdog:
    """Watches the control input while the user's code loads: at its end (the front died) the zygote exits at once.
    What arrives meanwhile is kept for the main loop. Stopped and joined before the zygote forks."""

    def __init__(self, control: Control) -> None:
        self._control = control
        self._stop_read, self._stop_write = os.pipe()
        self._received = bytearray()
        self._thread = threading.Thread(target=self._run, name="sharpserve-stdin-watchdog", daemon=True)

    def start(self) -> "StdinWatchdog":
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            ready = select.select([self._control.input_fd, self._stop_read], [], [])[0]
            if self._stop_read in ready:
                return
            data = os.read(self._control.input_fd, 1 << 16)
            if not data:
                # The front is dead, so its end of the log pipe may be gone too: a failed write must not stop the exit.
                _say("the front closed the zygote's standard input while the model loaded; exiting")
                os._exit(1)
            self._received += data

    def stop(self) -> bytes:
        """Stops and joins the thread, and waits (bounded) until its kernel thread has gone; returns what was
        received meanwhile."""
        os.write(self._stop_write, b"x")
        self._thread.join()
        os.close(self._stop_read)
        os.close(self._stop_write)
        task = f"/proc/self/task/{self._thread.native_id}"
        deadline = time.monotonic() + THREAD_EXIT_BOUND_SECONDS
        while os.path.exists(task) and time.monotonic() < deadline:
            time.sleep(0.001)
        return bytes(self._received)


# ---- process facts -----------------------------------------------------------------------------------------------


def thread_names() -> List[str]:
    """The names of this process's threads other than the main one (/proc/self/task): a Python thread's own name
    (threading does not give it to the kernel), else the kernel's comm name (a native pool's, e.g. OpenMP's)."""
    python_names = {t.native_id: t.name for t in threading.enumerate()}
    names = []
    main = str(os.getpid())
    for tid in sorted(os.listdir("/proc/self/task")):
        if tid == main:
            continue
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                comm = f.read().strip()
            names.append(python_names.get(int(tid), comm))
        except OSError:
            continue  # it ended meanwhile
    return names


def threads_error(names: Sequence[str]) -> str:
    return (f"the zygote has {len(names) + 1} threads ({', '.join(names)} besides the main one); a forked worker "
            "would hang on their locks. Stop them in load(), or set OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1, "
            "MKL_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false for the libraries that start them")


def memory_rollup() -> Dict[str, int]:
    """rss, pss and private_dirty from /proc/self/smaps_rollup, in bytes."""
    wanted = {"Rss:": "rss", "Pss:": "pss", "Private_Dirty:": "private_dirty"}
    memory = {name: 0 for name in wanted.values()}
    try:
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 2 and fields[0] in wanted:
                    memory[wanted[fields[0]]] = int(fields[1]) * 1024
    except OSError:
        pass
    return memory


def exit_status_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"exited with code {os.WEXITSTATUS(status)}"


# ---- the zygote --------------------------------------------------------------------------------------------------


class Zygote:
    def __init__(self, control: Control, front_pidfd: int) -> None:
        self._control = control
        self._front_pidfd = front_pidfd
        self._workers: Dict[int, int] = {}  # pid -> worker id, until reaped
        self._model: Any = None
        self._warmup: List[Any] = []
        self._wakeup_read = -1
        self._wakeup_write = -1

    # -- start ---------------------------------------------------------------------------------------------------

    def load(self, entry: str) -> None:
        """Import, load(), metadata(), warm-up, gc.freeze(), the thread check; then `loaded`."""
        from .model import StartupError, load_model, tensor_json
        from .worker import prepare_warmup, stderr_log

        watchdog = StdinWatchdog(self._control).start()
        try:
            started = time.monotonic()
            self._model = load_model(entry)
            loaded = time.monotonic()
            self._warmup = prepare_warmup(self._model, stderr_log())
            warmed = time.monotonic()
        except StartupError as e:
            raise StartFailure(e.error, e.traceback) from None
        finally:
            received = watchdog.stop()
        # Commands that came while the model loaded, and any already waiting in the pipe, came before `loaded`: a fork
        # among them breaks the protocol, an exit ends the zygote now.
        pending, ended = self._control.take_waiting_input()
        self._control.feed(received + pending)
        early = self._control.commands()
        if any(c["command"] == "fork" for c in early):
            raise ControlProtocolError("a fork command came before loaded")
        if early:
            flush_and_exit(0)
        if ended:
            _say("the front closed the zygote's standard input while the model loaded; exiting")
            flush_and_exit(1)
        gc.collect()
        gc.freeze()
        names = thread_names()
        if names:
            raise StartFailure(threads_error(names))
        warmup_json = []
        for inputs in self._warmup:
            tensors = [tensor_json(t) for t in inputs]
            if any(t is None for t in tensors):
                sys.stderr.write("a warm-up request holds a float that is not finite; the front is not given it\n")
                continue
            warmup_json.append(tensors)
        self._control.send("loaded", load_seconds=round(loaded - started, 6), warmup_seconds=round(warmed - loaded, 6),
                           memory=memory_rollup(), metadata=self._model.metadata_json(), batch=self._model.batch,
                           warmup=warmup_json)

    # -- the main loop -------------------------------------------------------------------------------------------

    def serve(self) -> NoReturn:
        self._wakeup_read, self._wakeup_write = os.pipe()
        os.set_blocking(self._wakeup_read, False)
        os.set_blocking(self._wakeup_write, False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.set_wakeup_fd(self._wakeup_write, warn_on_full_buffer=False)
        try:
            while True:
                ready = select.select([self._control.input_fd, self._wakeup_read], [], [])[0]
                if self._wakeup_read in ready:
                    self._drain_wakeup()
                    self._reap()
                if self._control.input_fd in ready:
                    if not self._control.read_available():
                        self._front_gone()
                    self._handle_commands()
        except BrokenPipeError:
            self._front_gone()  # the event pipe's reader is gone: so is the front

    def _handle_commands(self) -> None:
        for command in self._control.commands():
            if command["command"] == "exit":
                flush_and_exit(0)
            self._fork(command["id"], command["socket"])

    def _fork(self, worker_id: int, socket_path: str) -> None:
        names = thread_names()
        if names:
            self._control.send("fork_refused", id=worker_id, error=threads_error(names))
            return
        from .worker import run_forked

        sys.stdout.flush()
        sys.stderr.flush()
        zygote_pid = os.getpid()
        try:
            pid = os.fork()
        except OSError as e:
            self._control.send("fork_refused", id=worker_id, error=f"fork() failed: {e}")
            return
        if pid == 0:
            control_fds = [self._control.input_fd, self._control.output_fd, self._wakeup_read, self._wakeup_write]
            run_forked(self._model, self._warmup, worker_id, socket_path, self._front_pidfd, zygote_pid, control_fds)
        self._workers[pid] = worker_id
        self._control.send("forked", id=worker_id, pid=pid)

    def _drain_wakeup(self) -> None:
        try:
            while os.read(self._wakeup_read, 4096):
                pass
        except BlockingIOError:
            pass

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker_id = self._workers.pop(pid, None)
            if worker_id is not None:
                self._control.send("exited", id=worker_id, pid=pid, status=exit_status_text(status))

    def _front_gone(self) -> NoReturn:
        """The control input ended without `exit`: the front died, so its workers must not outlive it."""
        for pid in list(self._workers):
            try:
                os.kill(pid, signal.SIGKILL)  # not reaped yet, so the pid is still this worker's
            except ProcessLookupError:
                pass
        _say(f"the front closed the zygote's standard input; killed {len(self._workers)} workers")
        flush_and_exit(1)


def _say(line: str) -> None:
    """One line to the log, when there still is one: after the front's death its end of the pipe is closed."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def parse_arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = ExitingArgumentParser(prog="python -m sharpserve.zygote", add_help=False)
    parser.add_argument("--entry", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--path", action="append", default=[])
    args = parser.parse_args(argv)
    if ":" not in args.entry:
        parser.error(f"--entry must be MODULE:ATTR, not '{args.entry}'")
    return args


def take_standard_streams() -> Control:
    """Moves the control protocol to private descriptors: fd 1 (the front's pipe) is kept as the event output and
    replaced by standard error; fd 0 (the commands) is kept and replaced by /dev/null, so nothing the user's code
    prints or reads touches the protocol."""
    sys.stdout.flush()
    output_fd = os.dup(1)
    os.dup2(2, 1)
    input_fd = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return Control(input_fd, output_fd)


def main(argv: Optional[Sequence[str]] = None) -> NoReturn:
    args = parse_arguments(argv)
    control = take_standard_streams()
    control.send("hello", version=PROTOCOL_VERSION, pid=os.getpid(), python=".".join(map(str, sys.version_info[:3])))
    try:
        if sys.version_info < MINIMUM_PYTHON:
            raise StartFailure(f"Python {'.'.join(map(str, MINIMUM_PYTHON))} or later is needed; {sys.executable} is "
                               f"{'.'.join(map(str, sys.version_info[:3]))}")
        from .worker import apply_paths, apply_thread_defaults, open_front_pidfd

        try:
            front_pidfd = open_front_pidfd()
        except OSError as e:
            raise StartFailure(f"cannot open a pidfd of the front (Linux 5.3 or later is needed): {e}") from None
        apply_thread_defaults()
        apply_paths(args.path)
        zygote = Zygote(control, front_pidfd)
        zygote.load(args.entry)
    except StartFailure as e:
        if e.traceback:
            sys.stderr.write(e.traceback)
        sys.stderr.write(f"the model cannot be served: {e.error}\n")
        control.send("failed", error=e.error, traceback=e.traceback)
        flush_and_exit(1)
    except ControlProtocolError as e:
        sys.stderr.write(f"control protocol error: {e}\n")
        control.send("failed", error=f"control protocol error: {e}", traceback="")
        flush_and_exit(1)
    except BaseException as e:
        text = traceback.format_exc()
        sys.stderr.write(text)
        control.send("failed", error=f"the zygote failed: {type(e).__name__}: {' '.join(str(e).split())}", traceback=text)
        flush_and_exit(1)
    try:
        zygote.serve()
    except ControlProtocolError as e:
        sys.stderr.write(f"control protocol error: {e}\n")
        control.send("failed", error=f"control protocol error: {e}", traceback="")
        flush_and_exit(1)


if __name__ == "__main__":
    main()
