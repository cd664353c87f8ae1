#!/usr/bin/python3
"""Sequential OIP JSON infer requests; prints p50 and p99 latency in ms for each server.

Usage: client.py MODEL BATCH DIM REQUESTS URL [URL2]
With two URLs the requests alternate between them (A, B, A, B, ...), so both see the same machine at the same
moments: drift from other load (other processes, CPU frequency) hits both alike, which is what a "within 10%"
comparison needs on a shared machine. Prints "p50 p99" per URL on one line."""
import http.client
import random
import sys
import time
from urllib.parse import urlparse

model, batch, dim, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
urls = sys.argv[5:]
random.seed(batch)
data = ",".join(str(round(random.uniform(-1, 1), 4)) for _ in range(batch * dim))
body = ('{"inputs":[{"name":"x","datatype":"FP32","shape":[%d,%d],"data":[%s]}]}' % (batch, dim, data)).encode()
conns = []
for url in urls:
    u = urlparse(url)
    conns.append(http.client.HTTPConnection(u.hostname, u.port, timeout=120))
times = [[] for _ in urls]
for i in range(count + 3):
    for k, conn in enumerate(conns):
        start = time.perf_counter()
        conn.request("POST", f"/v2/models/{model}/infer", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        if response.status != 200:
            sys.exit(f"HTTP {response.status} from {urls[k]}: {payload[:300]!r}")
        if i >= 3:  # the first requests warm the client and the connection
            times[k].append(elapsed)
out = []
for t in times:
    t.sort()
    p = lambda q: t[min(len(t) - 1, int(q * len(t)))]
    out.append(f"{p(0.5):.2f} {p(0.99):.2f}")
print(" ".join(out))
