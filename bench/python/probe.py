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

  probe.py burst PORT CONNS PER_CONN ENTRIES
      The first requests after ready, with no request sent before: CONNS threads start at once, each sending
      PER_CONN requests one after the other (a new connection each, as every probe here), bodies of 10 random
      keys "w<hex i>", i < ENTRIES (the load's texts). With CONNS = N every worker is busy with one request of
      the first wave, so each worker's first request is in it. Before the burst each thread sends 5 requests
      to a do-nothing server in this process, so the client's own first-use costs are not counted. Prints {"first_ms": [each thread's first
      latency], "first_max_ms", "first_median_ms", "warm_p50_ms": the median of every thread's later half,
      "failed": non-200 answers or errors}.

  probe.py idle PORT
      The same request after idle gaps of 0, 1, 5, 20 and 50 ms (30 each); prints {"after_idle_ms": {gap:
      median ms}}. On a virtual machine a request after even a few milliseconds of idle is several times
      slower than back-to-back ones, for any server, and the first request after ready follows up to 5 ms of
      idle (the polling interval), so it is compared with warm requests after the same gap.
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


IDLE_GAPS_MS = (0, 1, 5, 20, 50)


def after_idle(port):
    """Median latency of 30 requests after each idle gap: {gap_ms: median_ms}."""
    result = {}
    for gap in IDLE_GAPS_MS:
        times = []
        for _ in range(30):
            if gap:
                time.sleep(gap / 1000)
            times.append(timed(port))
        result[str(gap)] = round(statistics.median(times), 3)
    return result


class _Sink:
    """A do-nothing HTTP server in the probe's own process: each client thread sends it a few requests first,
    so the client's own first-use costs (its thread, http.client, the first connection) are not timed as the
    server's first request."""

    def __init__(self):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _post(port, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/labelservice/", body=body, headers={"Content-Type": "text/plain; charset=utf-8"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def burst(port, conns, per_conn, entries):
    import random
    import threading

    sink = _Sink()
    barrier = threading.Barrier(conns)
    results = [None] * conns
    failed = [0] * conns

    def run(k):
        rng = random.Random(1000 + k)
        bodies = [" ".join("w%x" % rng.randrange(entries) for _ in range(10)).encode() for _ in range(per_conn)]
        times = []
        for body in bodies[:5]:
            _post(sink.port, body)
        barrier.wait()
        for body in bodies:
            started = time.perf_counter()
            try:
                ok = _post(port, body) == 200
            except OSError:
                ok = False
            times.append((time.perf_counter() - started) * 1000)
            failed[k] += 0 if ok else 1
        results[k] = times

    threads = [threading.Thread(target=run, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first = [r[0] for r in results]
    warm = [x for r in results for x in r[per_conn // 2:]]
    print(json.dumps({"conns": conns, "per_conn": per_conn, "first_ms": [round(x, 3) for x in first],
                      "second_ms": [round(r[1], 3) for r in results if len(r) > 1],
                      "first_max_ms": round(max(first), 3), "first_median_ms": round(statistics.median(first), 3),
                      "warm_p50_ms": round(statistics.median(warm), 3), "failed": sum(failed)}), flush=True)
    return 0


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
        extra = argv[5:]
        follow = next((int(e.partition("=")[2]) for e in extra if e.startswith("follow=")), 0)
        return ready(int(argv[1]), int(argv[2]), float(argv[3]), int(argv[4]), "health" in extra, follow)
    if len(argv) == 5 and argv[0] == "burst":
        return burst(int(argv[1]), int(argv[2]), int(argv[3]), int(argv[4]))
    if len(argv) == 2 and argv[0] == "idle":
        print(json.dumps({"after_idle_ms": after_idle(int(argv[1]))}), flush=True)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
