"""Hooks shared by the three gunicorn setups: per-worker statistics written when a worker exits."""

import gc
import json
import os
import statistics
import time


def post_fork(server, worker):
    # Collections counted from here on are the worker's own (the counters are inherited from the master).
    worker.bench_gc_at_fork = [s["collections"] for s in gc.get_stats()]
    worker.bench_forked_at = time.time()


def worker_exit(server, worker):
    path = os.environ.get("BENCH_STATS_FILE")
    if not path:
        return
    import label_service  # already imported (preload: in the master; otherwise by this worker)

    times = label_service.stats["times"]
    at_fork = getattr(worker, "bench_gc_at_fork", [0, 0, 0])
    record = {
        "pid": os.getpid(),
        "requests": len(times),
        "first_ms": times[0] * 1000 if times else None,
        # Steady state: the median of the requests after the first 100 (or of all but the first, if fewer).
        "steady_p50_ms": statistics.median(times[100:] if len(times) > 200 else times[1:]) * 1000
        if len(times) > 1 else None,
        "gc_collections": [s["collections"] - a for s, a in zip(gc.get_stats(), at_fork)],
        "gc_frozen": gc.get_freeze_count(),
        "full_gc_seconds": label_service.stats["full_gc_seconds"],
        "model_loaded_in_worker": label_service.LOADED_IN_PID == os.getpid(),
        "model_load_seconds": label_service.LOAD_SECONDS,
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def post_worker_init(worker):
    # Called once the worker has loaded the app (so, without preload, its own model): run.sh counts these
    # lines ("PID TIME_NS") to know when all N workers are up, and samples memory "at ready" only then.
    path = os.environ.get("BENCH_READY_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {time.time_ns()}\n")
