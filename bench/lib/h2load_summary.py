"""One JSON line from an h2load run (bench/steps/protocols.sh): requests/s over the measured duration (h2load's "finished in"; run it without --warm-up-time), p50/p99
from h2load's per-request log (--log-file: start time, status, duration in microseconds), and the errors:
h2load's failed and errored requests, non-2xx statuses, and gRPC answers that are not whole. A gRPC error is an
HTTP 200 with a trailers-only answer (no DATA), so h2load counts it as a success; every successful answer to the
same request is the same bytes, so the received DATA must be exactly `requests x the size of one answer`
(measured alone first), and the shortfall in answers is counted as errors ("not_whole").

Usage: h2load_summary.py STDOUT_FILE LOG_FILE ANSWER_BYTES SECONDS
"""
import json
import re
import sys


def main(stdout_file, log_file, answer_bytes, seconds):
    text = open(stdout_file).read()
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", text)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    data = re.search(r"traffic: .*?, .*? headers .*?, .*?\((\d+)\) data", text)
    if not (m and codes and data):
        raise SystemExit(f"h2load_summary: unexpected h2load output in {stdout_file}")
    finished = re.search(r"finished in ([\d.]+)s", text)
    seconds = float(finished.group(1)) if finished else seconds
    done, succeeded, failed, errored = (int(m.group(i)) for i in (3, 4, 5, 6))
    ok_status = int(codes.group(1))
    whole = int(data.group(1)) // answer_bytes if answer_bytes > 0 else 0
    ok = min(succeeded, ok_status, whole)
    durations = sorted(int(line.split("\t")[2]) for line in open(log_file) if line.count("\t") >= 2)

    def pct(q):
        return durations[min(len(durations) - 1, int(q * len(durations)))] / 1000 if durations else None

    print(json.dumps({"requests": done, "ok": ok, "seconds": seconds, "requests_per_second": ok / seconds,
                      "p50_ms": pct(0.50), "p99_ms": pct(0.99), "errors": done - ok, "failed": failed,
                      "errored": errored, "non_2xx": done - ok_status, "not_whole": max(0, ok_status - whole),
                      "answer_bytes": answer_bytes}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
