"""HTTP probes for bench/run.sh, on 127.0.0.1 only; every wait is bounded.

  probe.py ready PORT START_NS TIMEOUT_S PID [health | follow=COUNT]
      Polls every 5 ms until the first successful answer: POST /labelservice/ (default) or, with "health",
      GET /v2/health/ready. Prints {"ms": time from START_NS (the launch) to that answer}. Exits 1 on timeout
      or as soon as the server process PID has exited. With follow=COUNT, also the first successful request's
      own latency ("first_request_ms") and, from COUNT more requests sent at once after it, one after the
      other, the median of their later half ("steady_p50_ms"): first request after ready vs steady, measured
      with no idle gap in between. (Sharpserve answers 503 until it is ready, so its first 200 is the first
      request served after ready; a gunicorn master accepts connections while its workers boot, so there the
      first 200 may have waited in the listen backlog.)
"""

import http.client
import json
import os
import statistics
import sys
import time

TEXT = "Bonjour, je voudrais un café s'il vous plaît".encode()


def request(port, method="POST", path="/labelservice/"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=TEXT if method == "POST" else None,
                     headers={"Content-Type": "text/plain; charset=utf-8"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def timed(port):
    started = time.perf_counter()
    status = request(port)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"status {status}")
    return elapsed


def ready(port, start_ns, timeout_s, pid, health, follow):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
        try:
            started = time.perf_counter()
            status = request(port, "GET", "/v2/health/ready") if health else request(port)
            elapsed = (time.perf_counter() - started) * 1000
            if status == 200:
                result = {"ms": round((time.time_ns() - start_ns) / 1e6, 1)}
                if follow:
                    times = [timed(port) for _ in range(follow)]
                    result.update({"first_request_ms": round(elapsed, 3), "next_ms": [round(x, 3) for x in times[:5]],
                                   "steady_p50_ms": round(statistics.median(times[follow // 2:]), 3)})
                print(json.dumps(result), flush=True)
                os._exit(0)  # no interpreter teardown: a concurrent probe may be timing a request right now
        except OSError:
            pass
        time.sleep(0.005)
    return 1


def main(argv):
    if len(argv) >= 5 and argv[0] == "ready":
        extra = argv[5] if len(argv) > 5 else ""
        follow = int(extra.partition("=")[2]) if extra.startswith("follow=") else 0
        return ready(int(argv[1]), int(argv[2]), float(argv[3]), int(argv[4]), extra == "health", follow)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
