#!/usr/bin/python3
"""Sequential OIP JSON infer requests against a running server; prints p50 and p99 latency in ms.
Usage: client.py URL MODEL BATCH DIM REQUESTS"""
import http.client
import json
import random
import sys
import time
from urllib.parse import urlparse

url, model, batch, dim, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
u = urlparse(url)
random.seed(batch)
data = [round(random.uniform(-1, 1), 4) for _ in range(batch * dim)]
body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [batch, dim], "data": data}]}).encode()
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
times = []
for i in range(count + 3):
    start = time.perf_counter()
    conn.request("POST", f"/v2/models/{model}/infer", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200:
        sys.exit(f"HTTP {response.status}: {payload[:300]!r}")
    if i >= 3:  # the first requests warm the client and the connection
        times.append(elapsed)
times.sort()
p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"{p(0.5):.1f} {p(0.99):.1f}")
