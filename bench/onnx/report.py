#!/usr/bin/python3
"""Turns bench/onnx/run.sh's results.json into the ONNX section of docs/benchmarks.md (between the
<!-- onnx:begin --> and <!-- onnx:end --> markers, appended if missing; bench/report/make_report.py keeps it when it
rewrites the rest) and charts in docs/benchmarks/onnx/. Usage: report.py RESULTS_JSON. Needs python3-matplotlib."""
import json
import os
import shutil
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
CHARTS = os.path.join(ROOT, "docs", "benchmarks", "onnx")
BEGIN, END = "<!-- onnx:begin -->", "<!-- onnx:end -->"

results = json.load(open(sys.argv[1]))
rows = results["rows"]
weights_mib = 2 * results["d"] * results["h"] * 4 >> 20
memory = [r for r in rows if r["kind"] == "memory"]
latency = {r["batch"]: r for r in rows if r["kind"] == "latency"}
ready = [r for r in rows if r["kind"] == "ready"]
budget = weights_mib + 5 * 40
os.makedirs(CHARTS, exist_ok=True)
shutil.copyfile(sys.argv[1], os.path.join(CHARTS, "results.json"))

# Chart 1: total PSS by worker count, both modes, with the one-copy line and the target.
fig, ax = plt.subplots(figsize=(7, 4))
workers = sorted({r["workers"] for r in memory})
width = 0.38
for i, (sharing, label) in enumerate((("private", "ONNX Runtime defaults (private prepacked copies)"), ("prepacked", "Sharpserve baked shared form"))):
    values = [next(r["pss_mib"] for r in memory if r["sharing"] == sharing and r["workers"] == w) for w in workers]
    bars = ax.bar([x + (i - 0.5) * width for x in range(len(workers))], values, width, label=label)
    ax.bar_label(bars, fmt="%d", fontsize=8, padding=2)
ax.axhline(weights_mib, color="black", linestyle=":", linewidth=1, label=f"one copy of the weights ({weights_mib} MiB)")
ax.axhline(budget, color="tab:red", linestyle="--", linewidth=1, label=f"target at 4 workers ({budget} MiB)")
ax.set_xticks(range(len(workers)), [f"{w} worker{'s' if w > 1 else ''}" for w in workers])
ax.set_ylabel("total PSS, front + workers (MiB)")
ax.set_title(f"ONNX MatMul model, {weights_mib} MiB of weights")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(os.path.join(CHARTS, "memory.png"), dpi=110)
plt.close(fig)

# Chart 2: latency p50/p99 per batch, both modes side by side.
fig, ax = plt.subplots(figsize=(7, 3.6))
labels, p50, p99, colors = [], [], [], []
for batch in sorted(latency):
    r = latency[batch]
    for sharing, color in (("private", "tab:blue"), ("prepacked", "tab:orange")):
        labels.append(f"batch {batch}\n{sharing}")
        p50.append(r[f"{sharing}_p50"])
        p99.append(r[f"{sharing}_p99"])
        colors.append(color)
ax.bar(range(len(labels)), p50, color=colors, label="p50 (blue: ORT default, orange: baked shared form)")
ax.scatter(range(len(labels)), p99, color="black", marker="_", s=300, label="p99")
ax.set_xticks(range(len(labels)), labels, fontsize=8)
ax.set_ylabel("latency (ms), OIP JSON over HTTP")
ax.set_title("One worker each, requests alternating between the two servers")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(os.path.join(CHARTS, "latency.png"), dpi=110)
plt.close(fig)


def mem(sharing, w):
    return next(r for r in memory if r["sharing"] == sharing and r["workers"] == w)


def s(ms):
    return f"{ms / 1000:.2f}"


lines = [BEGIN, "", "## ONNX: one copy of the weights, prepacked kernels kept (issue #6)", ""]
lines += [
    f"`bench/onnx/run.sh` on a generated model `y = relu(x @ W1) @ W2` ({weights_mib} MiB of float32 weights, "
    f"D={results['d']}, H={results['h']}, one external-data file), {results['cores']} cores, commit {results['commit']}. "
    "Process mode with `--worker-threads 1`; `private` is ONNX Runtime's default session (each process prepacks "
    "its own copy of the weights), `prepacked` Sharpserve's default: the optimized model with its prepacked weights "
    "baked once into the cache and mapped read-only by every process. Memory is the sum of `Pss` and `Anonymous` "
    "over the front and its workers after a few batch-16 requests; ready is from start to `/v2/health/ready` = 200 "
    "with the baked cache present.", "",
    "![total PSS by workers](benchmarks/onnx/memory.png)", "",
    "| mode | workers | processes | total PSS MiB | anonymous MiB | ready s | all workers ready s |", "|---|---|---|---|---|---|---|"]
for r in memory:
    lines.append(f"| {r['sharing']} | {r['workers']} | {r['processes']} | {r['pss_mib']} | {r['anon_mib']} | {s(r['ready_ms'])} | {s(r['all_ready_ms'])} |")
lines += ["", "![latency](benchmarks/onnx/latency.png)", "",
          "| batch | requests | prepacked p50 / p99 ms | private (ORT default) p50 / p99 ms | p50 ratio |", "|---|---|---|---|---|"]
for batch in sorted(latency):
    r = latency[batch]
    lines.append(f"| {batch} | {r['requests']} | {r['prepacked_p50']:.1f} / {r['prepacked_p99']:.1f} | "
                 f"{r['private_p50']:.1f} / {r['private_p99']:.1f} | {r['prepacked_p50'] / r['private_p50']:.2f} |")
lines += ["", "Ready is `/v2/health/ready` = 200: in process mode, once the first worker is Ready and the HTTP path is "
          "warmed through it; the other workers start after it (docs/architecture.md), \"all workers ready\" is when "
          "`/status` shows them all Ready.", "",
          "| serving | ready without the baked cache s (bakes) | ready with it s | all workers ready s |", "|---|---|---|---|"]
for r in ready:
    what = "thread mode, 1 thread" if r["workers"] == 0 else f"{r['workers']} worker{'s' if r['workers'] > 1 else ''}"
    lines.append(f"| {what} | {s(r['cold_ms'])} | {s(r['warm_ms'])} | {s(r['all_ready_ms'])} |")
p4, d4 = mem("prepacked", 4), mem("private", 4)
b16 = latency.get(16)
r4 = next((r for r in ready if r["workers"] == 4), None)
r1 = next((r for r in ready if r["workers"] == 1), None)
r0 = next((r for r in ready if r["workers"] == 0), None)
lines += ["", "Against the targets:", "",
          f"- 4 workers, total PSS ≤ weights + 5 × 40 MiB ({budget} MiB): **{p4['pss_mib']} MiB, "
          f"{'met' if p4['pss_mib'] <= budget else 'not met'}** (ONNX Runtime's defaults: {d4['pss_mib']} MiB, of which "
          f"{d4['anon_mib']} MiB anonymous)."]
if b16:
    ratio = b16["prepacked_p50"] / b16["private_p50"]
    lines.append(f"- Batch-16 p50 within 10% of a default ONNX Runtime session measured in the same run: "
                 f"**{ratio:.2f}×, {'met' if ratio <= 1.10 else 'not met'}** ({b16['prepacked_p50']:.1f} vs {b16['private_p50']:.1f} ms).")
if r4 and r1 and r0:
    worst = max(r0["warm_ms"], r1["warm_ms"], r4["warm_ms"])
    lines.append(f"- Ready ≤ 1 s with the baked cache: **{'met' if worst <= 1000 else 'not met'}** ({worst} ms at worst): thread mode "
                 f"{r0['warm_ms']} ms, 1 worker {r1['warm_ms']} ms, 4 workers {r4['warm_ms']} ms (all 4 Ready after "
                 f"{s(r4['all_ready_ms'])} s). Each process's session creation runs ONNX Runtime's PrePack over every "
                 "weight to find its prepacked blob (it keys the blob by a hash of the packed bytes), so a process costs "
                 "~0.5 s of CPU on this model; with more workers than cores they queue for the cores.")
lines += ["", END]
section = "\n".join(lines) + "\n"

doc = open(DOC, encoding="utf-8").read() if os.path.exists(DOC) else "# Benchmarks\n"
if BEGIN in doc and END in doc:
    doc = doc[: doc.index(BEGIN)] + section.rstrip("\n") + doc[doc.index(END) + len(END):]
else:
    doc = doc.rstrip("\n") + "\n\n" + section
open(DOC, "w", encoding="utf-8").write(doc)
print(f"wrote the ONNX section of {DOC} and charts in {CHARTS}")
