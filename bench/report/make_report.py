"""Writes docs/benchmarks.md and its PNG charts from the JSON lines that bench/run.sh's steps recorded.

  make_report.py --results DIR --out FILE.md --charts DIR --mode full|quick [--section python|protocols]

With --section python, only the "Python models" section of FILE.md is rewritten (from DIR's records of
bench/steps/python.sh, between its markers; bench/report/python_section.py) and the rest is left as it is;
--section protocols does the same for the "Protocols" section (bench/steps/protocols.sh,
bench/report/protocols_section.py).

Every number in the document comes from DIR; nothing here is typed in by hand. Medians are over repeats, with
the range (min–max) beside them; ratios compare Sharpserve with the Python peer measured in the same run.
Runs with /usr/bin/python3 (Debian's python3-matplotlib).
"""

import argparse
import glob
import json
import os
import re
import statistics
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import protocols_section  # noqa: E402  (beside this file)
import python_section  # noqa: E402  (beside this file)

MIB = 1024 * 1024
LABELS = {
    "sharpserve": "Sharpserve, thread mode",
    "sharpserve-proc": "Sharpserve, process mode",
    "gunicorn-per-worker": "gunicorn per-worker",
    "gunicorn-preload": "gunicorn preload",
    "gunicorn-freeze": "gunicorn preload + gc.freeze()",
}
IDLE_GAPS = ("0", "1", "5", "20", "50")  # bench/python/probe.py IDLE_GAPS_MS
ORDER = list(LABELS)
COLORS = {
    "sharpserve": "#1f77b4",
    "sharpserve-proc": "#17becf",
    "gunicorn-per-worker": "#d62728",
    "gunicorn-preload": "#ff7f0e",
    "gunicorn-freeze": "#2ca02c",
}


# ---------------------------------------------------------------------------------------------- loading

def load_jsonl(results, name):
    path = os.path.join(results, name + ".jsonl")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_json(results, name):
    path = os.path.join(results, name)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ---------------------------------------------------------------------------------------------- numbers

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def span(values, fmt, unit=""):
    """'median (min–max)' over repeats; just the value when there is one repeat."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    m = fmt(statistics.median(values))
    if len(values) == 1 or min(values) == max(values):
        return f"{m}{unit}"
    return f"{m}{unit} ({fmt(min(values))}–{fmt(max(values))})"


def f0(v):
    return f"{v:,.0f}"


def f1(v):
    return f"{v:,.1f}"


def f2(v):
    return f"{v:,.2f}"


def f3(v):
    return f"{v:,.3f}"


def mib(kb):
    return kb / 1024


def ratio(a, b):
    return a / b if a is not None and b else None


def fx(v):
    return "–" if v is None else f"{v:,.1f}×" if v >= 10 else f"{v:,.2f}×"


def label(config, n=None):
    base = LABELS.get(config, config)
    return base if n is None else f"{base}, N={n}"


def rps(w):
    return w["requests"] / (w["duration_us"] / 1e6)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def generic_command(cmd):
    """A command as run, with the port, N, and wrk's threads, connections and duration left as names."""
    cmd = cmd.strip()
    for pattern, repl in ((r"--port \d+", "--port PORT"), (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
                          (r"--threads \d+", "--threads N"), (r"--workers \d+", "--workers N"),
                          (r" -w \d+", " -w N"), (r"-n\d+-p\d+", "-nN-pPORT"), (r" -c\d+", " -cC"),
                          (r" -t\d+", " -tT"), (r" -d\d+s", " -dDs")):
        cmd = re.sub(pattern, repl, cmd)
    return cmd


def met(ok):
    return "–" if ok is None else ("**met**" if ok else "**not met**")


# ---------------------------------------------------------------------------------------------- report

class Report:
    def __init__(self, results, charts, mode):
        self.results = results
        self.charts = charts
        self.mode = mode
        self.chart_rel = os.path.relpath(charts, os.path.dirname(args.out))
        self.machine = load_json(results, "machine.json") or {}
        self.steps = load_jsonl(results, "steps")
        self.commands = load_jsonl(results, "commands")
        self.micro = load_json(results, "microbench.json")
        self.micro_py = load_json(results, "predict_cost_python.json")
        self.throughput = [r for r in load_jsonl(results, "throughput") if not r.get("failed")]
        self.coldstart = [r for r in load_jsonl(results, "coldstart") if not r.get("failed")]
        self.memory_all = load_jsonl(results, "memory")
        self.memory = [r for r in self.memory_all if not r.get("failed")]
        self.reference = {r["model"]: r for r in load_jsonl(results, "memory_reference")}
        self.model_load = [r for r in load_jsonl(results, "model_load") if not r.get("failed")]
        self.serve_memory = load_jsonl(results, "serve_memory")
        self.access_log = [r for r in load_jsonl(results, "access_log") if not r.get("failed")]
        self.failures = [r for name in ("throughput", "coldstart", "memory", "model_load", "access_log")
                         for r in load_jsonl(results, name) if r.get("failed")]
        self.headline = {}
        self.out = []

    def w(self, *lines):
        self.out.extend(lines)

    def chart(self, name, alt):
        self.w("", f"![{alt}]({self.chart_rel}/{name})", "")

    # ------------------------------------------------------------------ reference sizes

    def one_copy_kb(self, model):
        ref = self.reference.get(model)
        if not ref:
            return None
        if model == "fasttext":
            return ref["file_bytes"] / 1024
        return ref["python"]["model_kb"]

    # ------------------------------------------------------------------ sections

    def header(self):
        m = self.machine
        total = next((s["seconds"] for s in self.steps if s["step"] == "total"), None)
        self.w("# Sharpserve benchmarks", "")
        if self.mode == "quick":
            self.w("> **QUICK RUN (smoke test)** — `bench/run.sh --quick`: one repeat, 1-second loads, fewer worker "
                   "counts, a smaller dict model. It shows that the benchmark still works; its numbers are not "
                   "the results. The full results are in [docs/benchmarks.md](../../benchmarks.md).", "")
        self.w(f"Generated by `bench/run.sh{' --quick' if self.mode == 'quick' else ''}` on {m.get('date', '?')}"
               + (f" in {total / 60:.1f} minutes" if total else "")
               + ". Do not edit by hand: every number, table and chart here is rewritten by that command "
               "(`bench/report/make_report.py` from the records in `bench/out/results-*`). What is measured and "
               "how: [bench/README.md](" + os.path.relpath(os.path.join(ROOT, "bench/README.md"),
                                                             os.path.dirname(args.out)) + ").", "")

    def machine_section(self):
        m = self.machine
        mem_gib = int(m.get("mem", 0)) / 1024 / 1024
        self.w("## Machine", "")
        self.w(table(["what", "value"], [
            ["CPU", f"{m.get('cpu', '?')}, {m.get('nproc', '?')} cores (`nproc`)"],
            ["memory", f"{mem_gib:.1f} GiB"],
            ["OS, kernel", f"{m.get('os', '?')}, `{m.get('kernel', '?')}`"],
            [".NET SDK", m.get("dotnet", "?")],
            ["Sharpserve", f"{m.get('sharpserve', '?')}, commit `{m.get('commit', '?')}`"
             + (f" + {m['dirty']} uncommitted file(s) under src/" if m.get("dirty", "0") not in ("0", "") else "")],
            ["Python peer", f"{m.get('python', '?')} (Debian), gunicorn {m.get('gunicorn', '?')}, "
                            f"Flask {m.get('flask', '?')}, fastText module {m.get('fasttext', '?')}"],
            ["load generator", f"wrk {m.get('wrk', '?')}, on the same machine, 127.0.0.1 only"],
            ["load average", f"{m.get('loadavg', '?')} at the start, "
                             f"{next((s.get('loadavg_end', '?') for s in self.steps if s['step'] == 'total'), '?')}"
                             " at the end (1, 5, 15 min)"],
            ["large model", f"`bench/models/large.bin`, {int(m.get('model_bytes', 0)) / MIB:,.0f} MiB "
                            "(made by `bench/make-large-model.sh`)"],
        ]))
        self.w("")

    def targets_section(self):
        h = self.headline
        self.w("## Targets", "")
        self.w("The goals of issues 3 and 4, on this machine, from the sections below.", "")
        rows = []
        for cfg, t in h.get("throughput", {}).items():
            rows.append([f"{label(cfg, t['n'])} ≥ 5× the Python stack's requests/s",
                         f"{fx(t['ratio'])} at {t['conns']} connections ({f0(t['ss'])} vs {f0(t['peer'])} req/s, "
                         f"best gunicorn setup: {t['peer_label']})", met(t["ratio"] >= 5)])
        for cfg, mm in h.get("memory", {}).items():
            rows.append([f"{label(cfg)}: total memory for N={mm['n']} ≤ ~1.1× one model copy",
                         f"{fx(mm['ratio'])}: total PSS {mm['pss'] / 1024:,.2f} GiB after load, one copy (the .bin) "
                         f"{mm['copy'] / 1024:,.2f} GiB", met(mm["ratio"] <= 1.1)])
        for cfg, fr in h.get("first", {}).items():
            idle = (f"; a warm request after the same ≤ 5 ms of idle takes {f3(fr['idle5'])} ms, so first ÷ that is "
                    f"{fx(fr['first'] / fr['idle5'])}, see [Cold start](#cold-start-and-first-requests)") if fr.get("idle5") else ""
            rows.append([f"{label(cfg, fr['n'])}: first request after ready ≤ 2× steady p50",
                         f"{fx(fr['ratio'])} (first request {f3(fr['first'])} ms, the next ones {f3(fr['next'])} ms, "
                         f"steady p50 {f3(fr['steady'])} ms{idle})", met(fr["ratio"] <= 2)])
        i3 = h.get("issue3")
        if i3:
            rows.append(["issue 3: Anonymous < 150 MiB after 10,000 requests",
                         f"{i3['anon']:,.1f} MiB after {i3['requests']:,} requests", met(i3["anon"] < 150)])
            rows.append(["issue 3: start → ready < 2 s, file cached",
                         f"{i3['ready']:,.0f} ms", met(i3["ready"] < 2000)])
        self.w(table(["target", "measured (median)", ""], rows) if rows else "No results.", "")
        if self.failures:
            self.w(f"**{len(self.failures)} server start(s) failed** during this run and are left out: "
                   + "; ".join(f"{label(f.get('config', '?'), f.get('n'))} ({f.get('model', 'demo')}, repeat "
                               f"{f.get('rep')})" for f in self.failures) + ".", "")

    def throughput_section(self):
        rows_by = defaultdict(list)
        for r in self.throughput:
            rows_by[(r["config"], r["n"], r["conns"])].append(r)
        if not rows_by:
            return
        conns_levels = sorted({k[2] for k in rows_by})
        setups = sorted({(k[0], k[1]) for k in rows_by}, key=lambda s: (ORDER.index(s[0]), s[1]))
        self.w("## Throughput and latency", "")
        self.w("Demo model (language id, 10 labels), the eight demo sentences in rotation, `wrk` with "
               "`bench/lua/bench.lua` for "
               f"{self.throughput[0]['wrk']['duration_us'] / 1e6:.0f} s per point after a short warm-up; "
               "latencies from wrk's histogram. CPU is the server's own (all its processes, from /proc), per "
               "request. gunicorn's sync workers close the connection after every answer, so its clients "
               "reconnect each time: that is how the original service ran. Ratio: Sharpserve's requests/s over "
               "the best gunicorn setup's at the same connection count, repeat by repeat.", "")
        # Best gunicorn setup per connection level, by median requests/s.
        best = {}
        for c in conns_levels:
            cands = [(med([rps(r["wrk"]) for r in rows_by[(cfg, n, c)]]), cfg, n) for cfg, n in setups
                     if cfg.startswith("gunicorn") and (cfg, n, c) in rows_by]
            if cands:
                best[c] = max(cands)
        rows = []
        for c in conns_levels:
            for cfg, n in setups:
                rs = rows_by.get((cfg, n, c))
                if not rs:
                    continue
                r_rps = [rps(r["wrk"]) for r in rs]
                ratios = []
                if cfg.startswith("sharpserve") and c in best:
                    peer = {r["rep"]: rps(r["wrk"]) for r in rows_by[(best[c][1], best[c][2], c)]}
                    ratios = [rps(r["wrk"]) / peer[r["rep"]] for r in rs if r["rep"] in peer]
                rows.append([c, label(cfg, n), span(r_rps, f0),
                             span([r["wrk"]["lat_p50_us"] / 1000 for r in rs], f3),
                             span([r["wrk"]["lat_p99_us"] / 1000 for r in rs], f2),
                             span([r["wrk"]["lat_p999_us"] / 1000 for r in rs], f2),
                             span([r["cpu_s"] / r["wrk"]["requests"] * 1e6 for r in rs], f1),
                             span(ratios, lambda v: f"{v:,.1f}", "×") if ratios else "",
                             sum(r["wrk"]["errors_status"] + r["wrk"]["errors_connect"] + r["wrk"]["errors_timeout"]
                                 + r["wrk"]["errors_read"] for r in rs)])
                if cfg.startswith("sharpserve") and ratios:
                    heads = self.headline.setdefault("throughput", {})
                    # Headline: the largest connection count (where both sides are saturated).
                    if cfg not in heads or c >= heads[cfg]["conns"]:
                        heads[cfg] = {"conns": c, "ratio": med(ratios), "ss": med(r_rps), "peer": best[c][0],
                                      "peer_label": label(best[c][1], best[c][2]), "n": n}
        self.w(table(["conns", "setup", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "server CPU µs/req",
                      "vs gunicorn", "errors"], rows), "")
        self.chart_throughput(rows_by, conns_levels, setups)
        self.chart("throughput.png", "requests per second by connection count")
        self.chart_latency(rows_by, conns_levels, setups)
        self.chart("latency.png", "latency percentiles by connection count")

    def chart_throughput(self, rows_by, conns_levels, setups):
        fig, ax = plt.subplots(figsize=(9, 4.8))
        width = 0.8 / len(setups)
        for i, (cfg, n) in enumerate(setups):
            xs, ys, lo, hi = [], [], [], []
            for j, c in enumerate(conns_levels):
                rs = rows_by.get((cfg, n, c))
                if not rs:
                    continue
                v = [rps(r["wrk"]) for r in rs]
                m = statistics.median(v)
                xs.append(j + (i - (len(setups) - 1) / 2) * width)
                ys.append(m)
                lo.append(m - min(v))
                hi.append(max(v) - m)
            bars = ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=label(cfg, n),
                          color=COLORS.get(cfg), alpha=1.0 if cfg.startswith("sharpserve") else 0.55 + 0.15 * (i % 3))
            ax.bar_label(bars, labels=[f"{y / 1000:,.1f}k" for y in ys], fontsize=7, padding=2)
        ax.set_xticks(range(len(conns_levels)), [f"{c} connection{'s' if c > 1 else ''}" for c in conns_levels])
        ax.set_ylabel("requests per second (median, bars: min–max)")
        ax.set_title("Throughput, demo model, POST /labelservice/ (higher is better)")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(self.charts, "throughput.png"), dpi=110)
        plt.close(fig)

    def chart_latency(self, rows_by, conns_levels, setups):
        fig, axes = plt.subplots(1, len(conns_levels), figsize=(4 * len(conns_levels) + 1, 4.4), squeeze=False)
        pct = [("lat_p50_us", "p50"), ("lat_p99_us", "p99"), ("lat_p999_us", "p99.9")]
        for ax, c in zip(axes[0], conns_levels):
            width = 0.8 / len(setups)
            for i, (cfg, n) in enumerate(setups):
                rs = rows_by.get((cfg, n, c))
                if not rs:
                    continue
                ys = [statistics.median([r["wrk"][k] / 1000 for r in rs]) for k, _ in pct]
                ax.bar([j + (i - (len(setups) - 1) / 2) * width for j in range(len(pct))], ys, width,
                       label=label(cfg, n), color=COLORS.get(cfg),
                       alpha=1.0 if cfg.startswith("sharpserve") else 0.55 + 0.15 * (i % 3))
            ax.set_yscale("log")
            ax.set_xticks(range(len(pct)), [p for _, p in pct])
            ax.set_title(f"{c} connection{'s' if c > 1 else ''}")
            ax.grid(axis="y", alpha=0.3, which="both")
        axes[0][0].set_ylabel("latency, ms (log scale; median of repeats)")
        axes[0][-1].legend(fontsize=7)
        fig.suptitle("Latency percentiles, demo model (lower is better)")
        fig.tight_layout()
        fig.savefig(os.path.join(self.charts, "latency.png"), dpi=110)
        plt.close(fig)

    def access_log_section(self):
        if not self.access_log:
            return
        by = defaultdict(list)
        for r in self.access_log:
            by[(r["config"], r["variant"])].append(r)
        self.w("## Cost of the access log", "")
        self.w("Requests/s at 16 connections on the demo model with no access log and with `--access-log FILE` "
               "in each format (`bench/steps/access-log.sh`), "
               f"{self.access_log[0]['wrk']['duration_us'] / 1e6:.0f} s per point, the variants interleaved in "
               "every repeat. Lines are handed to one writer task through a bounded queue and written in batches, "
               "off the request thread. Ratio: with the log over without it, repeat by repeat.", "")
        rows = []
        for cfg in [c for c in ORDER if any(k[0] == c for k in by)]:
            base = {r["rep"]: rps(r["wrk"]) for r in by.get((cfg, "none"), [])}
            for variant in ("none", "combined", "json"):
                rs = by.get((cfg, variant))
                if not rs:
                    continue
                ratios = [rps(r["wrk"]) / base[r["rep"]] for r in rs if r["rep"] in base] if variant != "none" else []
                lines = [r.get("log_lines", 0) for r in rs]
                rows.append([label(cfg), variant, span([rps(r["wrk"]) for r in rs], f0),
                             span([r["wrk"]["lat_p99_us"] / 1000 for r in rs], f2),
                             span(ratios, lambda v: f"{v:,.3f}", "×") if ratios else "",
                             f"{min(lines):,}–{max(lines):,}" if variant != "none" else "",
                             sum(r["wrk"]["errors_status"] + r["wrk"]["errors_connect"] + r["wrk"]["errors_timeout"]
                                 + r["wrk"]["errors_read"] for r in rs)])
                if variant != "none" and ratios:
                    self.headline.setdefault("access_log", {})[(cfg, variant)] = med(ratios)
        self.w(table(["setup", "access log", "req/s", "p99 ms", "vs none", "lines written", "errors"], rows), "")

    def inprocess_section(self):
        if not self.micro:
            return
        self.w("## In-process limit", "")
        self.w("The model's own predict cost with no server around it: the fastText backend under BenchmarkDotNet "
               f"(`bench/Sharpserve.Microbenchmarks`, job `{self.micro['job']}`, in-process toolchain), and the "
               "fastText Python module timed in a loop (`bench/python/predict_cost.py`), on the same inputs: the "
               "demo sentences on the demo model, random ten-token texts on the large model (each text reaches "
               "rows all over its 1.3 GiB, so this one is bound by memory latency).", "")
        py = self.micro_py or {}
        rows = []
        for r in self.micro["rows"]:
            p = py.get(r["name"])
            rows.append([r["description"], f"{r['median_ns'] / 1000:,.2f} µs ({r['min_ns'] / 1000:,.2f}–"
                                           f"{r['max_ns'] / 1000:,.2f})",
                         f"{r['allocated_bytes']:,} B",
                         f"{p['median_ns'] / 1000:,.2f} µs ({p['min_ns'] / 1000:,.2f}–{p['max_ns'] / 1000:,.2f})"
                         if p else "–",
                         fx(ratio(p["median_ns"], r["median_ns"])) if p else ""])
        self.w(table(["benchmark", "Sharpserve backend, median (min–max)", "allocated / op",
                      "fastText Python module", "Python / .NET"], rows), "")
        # Serving overhead: server CPU per request (all cores) over the in-process predict, demo model.
        predict = next((r["median_ns"] for r in self.micro["rows"] if r["name"] == "PredictDemo"), None)
        rows = []
        by = defaultdict(list)
        for r in self.throughput:
            by[(r["config"], r["n"], r["conns"])].append(r)
        for (cfg, n, c), rs in sorted(by.items(), key=lambda kv: (kv[0][2], ORDER.index(kv[0][0]), kv[0][1])):
            cpu = med([r["cpu_s"] / r["wrk"]["requests"] * 1e9 for r in rs])
            rows.append([c, label(cfg, n), f"{cpu / 1000:,.1f} µs", fx(ratio(cpu, predict))])
        if predict and rows:
            self.w("Serving overhead: the server's CPU time per request (from the throughput runs) over the "
                   f"in-process predict ({predict / 1000:,.2f} µs, demo model). Everything above 1× is HTTP, "
                   "parsing, scheduling and the kernel's network path.", "")
            self.w(table(["conns", "setup", "server CPU / request", "÷ in-process predict"], rows), "")

    def memory_section(self):
        if not self.memory:
            return
        by = defaultdict(list)
        for r in self.memory:
            by[(r["config"], r["model"], r["n"])].append(r)
        ns = sorted({k[2] for k in by})
        copy = {m: self.one_copy_kb(m) for m in ("fasttext", "dict")}
        dict_ref = self.reference.get("dict", {}).get("python", {})
        r0 = self.memory[0]
        self.w("## Memory vs workers", "")
        self.w("Total memory of all the server's processes (master and workers), summed from each process's "
               "`/proc/PID/smaps_rollup`: **PSS** (each shared page divided among the processes that map it, so "
               "the sum counts it once) and **USS** (Private_Clean + Private_Dirty: pages only one process maps). "
               f"Sampled once every worker is up (\"ready\"), every 0.5 s (or as fast as reading every process's "
               f"smaps_rollup allows) during a {r0['load_s']}-second load of "
               f"random texts at {r0['conns']} connections, and {r0.get('settle_s', '?')} s after the load. "
               "N is threads for Sharpserve (thread mode), worker processes for gunicorn.", "")
        img = self.reference.get("fasttext", {}).get("image_bytes")
        self.w(f"One copy of each model: the large fastText model is a {copy['fasttext'] / 1024:,.0f} MiB file "
               + (f"(Sharpserve maps its {img / MIB:,.0f} MiB model image) " if img else "") +
               f"(the fastText Python module holds {self.reference['fasttext']['python']['model_kb'] / 1024:,.0f} MiB "
               "of it in anonymous memory after `load_model`); the pure-Python dict model "
               f"({dict_ref.get('entries', 0):,} entries, `bench/python/dict_model.py`) is "
               f"{copy['dict'] / 1024:,.0f} MiB of Python objects (built in {dict_ref.get('build_s', 0)} s). "
               "Sharpserve does not run Python, so its like-for-like for the dict rows is the large fastText "
               "model, served from a read-only mapping: the same size class, shared the same way "
               "whatever N is. Every gunicorn worker runs one full `gc.collect()` after its "
               f"{r0.get('full_gc_at', '?')}th request "
               "(a stand-in for the first full collection of a long-lived worker: the table after the charts "
               "counts the full collections CPython's own thresholds started within these bounded runs).", "")
        rows = []
        for model in ("fasttext", "dict"):
            for cfg in ORDER:
                for n in ns:
                    rs = by.get((cfg, model, n))
                    if not rs:
                        continue
                    after_pss = [mib(r["after"]["pss_kb"]) for r in rs]
                    rows.append([
                        "fastText 1.3 GiB" if model == "fasttext" else "Python dict",
                        label(cfg), n,
                        span([mib(r["at_ready"]["pss_kb"]) for r in rs], f0),
                        span([mib(r["at_ready"]["uss_kb"]) for r in rs], f0),
                        span(after_pss, f0),
                        span([mib(r["after"]["uss_kb"]) for r in rs], f0),
                        fx(ratio(med(after_pss), copy[model] / 1024)),
                        span([rps(r["load"]) for r in rs], f0),
                    ])
        self.w(table(["model", "setup", "N", "PSS at ready, MiB", "USS at ready, MiB", "PSS after load, MiB",
                      "USS after load, MiB", "PSS after ÷ one copy", "req/s during load"], rows), "")
        self.w("Sharpserve's PSS includes the pages of the mapped model image that its processes have touched: "
               "those are the kernel's page cache, shared by every process mapping the file. The "
               "Python processes read the file into their own memory; the page cache's copy of the file that "
               "this leaves behind is reclaimable and not counted in their PSS.", "")
        # Headline: Sharpserve at the largest N, fastText model.
        nmax = max(ns)
        for cfg in ("sharpserve", "sharpserve-proc"):
            rs = by.get((cfg, "fasttext", nmax))
            if rs and copy["fasttext"]:
                pss = med([mib(r["after"]["pss_kb"]) for r in rs])
                self.headline.setdefault("memory", {})[cfg] = {
                    "n": nmax, "pss": pss, "copy": copy["fasttext"] / 1024, "ratio": pss / (copy["fasttext"] / 1024)}
        self.chart_memory_vs_n(by, ns, copy)
        self.chart("memory_vs_workers.png", "total memory vs number of workers")
        self.chart_memory_over_time(by, nmax)
        self.chart("memory_over_time.png", "total memory over time under load")
        self.gc_table(by, nmax)

    def chart_memory_vs_n(self, by, ns, copy):
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=False)
        for ax, model, title in ((axes[0], "fasttext", "large fastText model"),
                                 (axes[1], "dict", "pure-Python dict model (gunicorn); Sharpserve: fastText")):
            for cfg in ORDER:
                m = model
                if cfg.startswith("sharpserve"):
                    m = "fasttext"
                xs = [n for n in ns if by.get((cfg, m, n))]
                if not xs:
                    continue
                after = [statistics.median([r["after"]["pss_kb"] / MIB for r in by[(cfg, m, n)]]) for n in xs]
                ready = [statistics.median([r["at_ready"]["pss_kb"] / MIB for r in by[(cfg, m, n)]]) for n in xs]
                style = "--" if (model == "dict" and cfg.startswith("sharpserve")) else "-"
                ax.plot(xs, after, style, marker="o", color=COLORS[cfg], label=f"{label(cfg)}: after load")
                ax.plot(xs, ready, ":", marker=".", color=COLORS[cfg], alpha=0.6, label=f"{label(cfg)}: at ready")
            if copy.get(model):
                ax.axhline(copy[model] / MIB, color="gray", lw=1)
                ax.text(ns[0], copy[model] / MIB, " one copy of the model", va="bottom", fontsize=8, color="gray")
            ax.set_xscale("log", base=2)
            ax.set_xticks(ns, [str(n) for n in ns])
            ax.set_xlabel("N (workers; threads for Sharpserve thread mode)")
            ax.set_ylabel("total PSS of all processes, GiB")
            ax.set_title(title, fontsize=10)
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle("Total memory vs N (median of repeats)")
        fig.tight_layout()
        fig.savefig(os.path.join(self.charts, "memory_vs_workers.png"), dpi=110)
        plt.close(fig)

    def chart_memory_over_time(self, by, nmax):
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
        load_s = None
        for ax, model, title in ((axes[0], "fasttext", "large fastText model"),
                                 (axes[1], "dict", "pure-Python dict model (gunicorn); Sharpserve: fastText")):
            for cfg in ORDER:
                m = "fasttext" if cfg.startswith("sharpserve") else model
                rs = by.get((cfg, m, nmax))
                if not rs:
                    continue
                # The repeat whose final PSS is the median one.
                rs = sorted(rs, key=lambda r: r["after"]["pss_kb"])
                r = rs[len(rs) // 2]
                load_s = r["load_s"]
                path = os.path.join(self.results, "samples", r["samples"])
                if not os.path.exists(path):
                    continue
                with open(path, encoding="utf-8") as f:
                    samples = [json.loads(line) for line in f if line.strip()]
                # t = 0: the sample taken at ready, just before the load; then the sampler's, each stamped when
                # it was complete (reading every process's smaps_rollup takes longer with many big processes).
                ts = [0.0] + [s["t_s"] for s in samples]
                ps = [r["at_ready"]["pss_kb"] / MIB] + [s["pss_kb"] / MIB for s in samples]
                ax.plot(ts, ps, marker=".", color=COLORS[cfg],
                        ls="--" if (model == "dict" and cfg.startswith("sharpserve")) else "-", label=label(cfg))
            if load_s:
                ax.axvspan(0, load_s, color="gray", alpha=0.1, label=f"load ({load_s} s)")
            ax.set_xlabel("seconds since the load started")
            ax.set_ylabel("total PSS of all processes, GiB")
            ax.set_title(f"{title}, N={nmax}", fontsize=10)
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle("Total memory over time under load (the median repeat)")
        fig.tight_layout()
        fig.savefig(os.path.join(self.charts, "memory_over_time.png"), dpi=110)
        plt.close(fig)

    def gc_table(self, by, nmax):
        rows = []
        for model in ("fasttext", "dict"):
            for cfg in ORDER:
                rs = by.get((cfg, model, nmax))
                if not rs or not cfg.startswith("gunicorn"):
                    continue
                workers = [w for r in rs for w in r["workers"]]
                if not workers:
                    continue
                natural = [w["gc_collections"][2] - (1 if w["full_gc_seconds"] is not None else 0) for w in workers]
                forced = [w["full_gc_seconds"] * 1000 for w in workers if w["full_gc_seconds"] is not None]
                ready = [r["at_ready"]["uss_kb"] for r in rs]
                after = [r["after"]["uss_kb"] for r in rs]
                rows.append(["fastText" if model == "fasttext" else "Python dict", label(cfg), len(workers),
                             f"{statistics.median([w['requests'] for w in workers]):,.0f}",
                             f"{sum(natural)} ({max(natural)})",
                             f"{len(forced)}: {span(forced, f0)} ms" if forced else "0",
                             f"{(med(after) - med(ready)) / 1024:+,.0f} MiB"])
        if rows:
            self.w(f"What the garbage collector did in the gunicorn workers at N={nmax} (all repeats): full "
                   "collections that CPython's own thresholds started (total, and the most in one worker), the "
                   "forced one's duration, and the growth of total USS from ready to after the load.", "")
            self.w(table(["model", "setup", "workers", "requests per worker (median)", "own full collections",
                          "forced full collections: duration", "USS growth (median)"], rows), "")

    def coldstart_section(self):
        self.w("## Cold start and first requests", "")
        self.w("**Launch → first answer**: from starting the process to the first `200` from `POST /labelservice/`, "
               "polled every 5 ms (`bench/python/probe.py ready`). **All ready**: every gunicorn worker has "
               "loaded the app (a `post_worker_init` hook writes the time). Sharpserve answers inference only once "
               "it is ready (503 before, like `GET /v2/health/ready`), so its first answer is its ready time, "
               "within the polling interval: in thread mode every executor is then warm; in process mode the "
               "first worker is warm and has served its warm-up through Kestrel (for the fastText model all "
               "workers start together and are Ready by then; all ready: every worker `Ready` in `GET /status`, "
               "polled after the probe's 200 requests, so an upper bound).", "")
        self.w("**First request after ready**: the readiness probe's first `200` is, for Sharpserve, the first "
               "request served after ready (it answers 503 until then), and the probe times it; "
               "it then sends 200 more requests one after the other (a new connection each) and takes the median "
               "of the last 100 as the steady p50. No idle gap separates the two. A gunicorn master accepts "
               "connections while its workers boot, so that first request may have waited in the listen backlog; "
               "for gunicorn the column that counts is the server side: each worker times its own first request "
               "(handler only: Flask dispatch + predict) against its later median.", "")
        rows = []
        idle_rows = []
        by = defaultdict(list)
        for r in self.coldstart:
            by[(r["config"], r["n"])].append(r)
        for (cfg, n), rs in sorted(by.items(), key=lambda kv: (ORDER.index(kv[0][0]), kv[0][1])):
            ss = cfg.startswith("sharpserve")
            first = [r["ready"]["first_request_ms"] for r in rs]
            steady = [r["ready"]["steady_p50_ms"] for r in rs]
            ratios = [r["ready"]["first_request_ms"] / r["ready"]["steady_p50_ms"] for r in rs]
            nxt = [statistics.median(r["ready"]["next_ms"][:3]) for r in rs]
            workers = [w for r in rs for w in r["workers"]]
            wf = med([w["first_ms"] for w in workers])
            ws = med([w["steady_p50_ms"] for w in workers])
            rows.append([label(cfg, n), span([r["ready"]["first_response_ms"] for r in rs], f0),
                         span([r["ready"]["all_ready_ms"] for r in rs], f0),
                         span(first, f2) if ss else f"({span(first, f1)}: queued)",
                         span(nxt, f2), span(steady, f3),
                         span(ratios, f1, "×") if ss else "–",
                         f"{wf:,.3f} / {ws:,.3f} ({wf / ws:,.1f}×)" if wf and ws else "–"])
            idle = [r["ready"]["after_idle_ms"] for r in rs if r["ready"].get("after_idle_ms")]
            if idle:
                idle_rows.append([label(cfg, n)] + [span([i[g] for i in idle], f3) for g in IDLE_GAPS]
                                 + [span([r["ready"]["first_request_ms"] / r["ready"]["after_idle_ms"]["5"]
                                          for r in rs if r["ready"].get("after_idle_ms")], f1, "×") if ss else "–"])
            if ss:
                self.headline.setdefault("first", {})[cfg] = {
                    "first": med(first), "steady": med(steady), "ratio": med(ratios), "n": n, "next": med(nxt),
                    "idle5": med([i["5"] for i in idle]) if idle else None}
        if rows:
            self.w("Demo model:", "")
            self.w(table(["setup", "launch → first answer, ms", "all ready, ms", "first request, ms",
                          "requests 2–4 (median), ms", "steady p50, ms", "first ÷ steady",
                          "server side: first / later handler ms"], rows), "")
        if idle_rows:
            self.w("**Idle, not cold.** Once every worker is up, the same request is timed after idle gaps of 0 to "
                   "50 ms (30 each, median; `probe.py idle`). On this virtual machine a request after a few "
                   "milliseconds of idle is several times slower than back-to-back ones, for every server alike "
                   "(vCPUs halt when idle and waking them costs; threads park): it is the machine, not a cold "
                   "worker. The probe polls every 5 ms, so the first request after ready follows up to 5 ms of "
                   "idle; the last column compares it with warm requests after the same gap.", "")
            self.w(table(["setup"] + [f"after {g} ms idle, ms" for g in IDLE_GAPS] + ["first request ÷ after 5 ms"],
                         idle_rows), "")
        # Large models: from the memory runs.
        by = defaultdict(list)
        for r in self.memory:
            by[(r["config"], r["model"], r["n"])].append(r)
        rows = []
        for (cfg, model, n), rs in sorted(by.items(), key=lambda kv: (kv[0][1] != "fasttext", ORDER.index(kv[0][0]),
                                                                       kv[0][2])):
            workers = [w for r in rs for w in r["workers"]]
            wf = med([w["first_ms"] for w in workers])
            ws = med([w["steady_p50_ms"] for w in workers])
            rows.append(["fastText 1.3 GiB" if model == "fasttext" else "Python dict", label(cfg), n,
                         span([r["ready"]["first_response_ms"] for r in rs], f0),
                         span([r["ready"]["all_ready_ms"] for r in rs], f0),
                         f"{wf:,.3f} / {ws:,.3f} ({wf / ws:,.1f}×)" if wf and ws else "–"])
        if rows:
            self.w("Large models (page cache warm), from the memory runs:", "")
            self.w(table(["model", "setup", "N", "launch → first answer, ms", "all ready, ms",
                          "server side: first / later handler ms"], rows), "")

    def model_load_section(self):
        if not self.model_load:
            return
        methods = sorted({r["eviction"] for r in self.model_load if r["cache"] == "cold"})
        self.w("## Model load", "")
        self.w(f"The large fastText model ({self.model_load[0]['file_bytes'] / MIB:,.0f} MiB), launch → first answer "
               "with the file in the page cache (read just before) and evicted from it. Sharpserve does not "
               "serve the `.bin` itself: it maps a model image that it builds from the `.bin` on first use and "
               "keeps in its cache directory (`sharpserve prepare` does it ahead of time), so it has a third "
               "case, the first start with no image yet. Cold evicts both the `.bin` and the image. Eviction: "
               + ", ".join(f"`{m}`" for m in methods)
               + " (checked with `fincore` from util-linux: the file's resident bytes before launch are in the "
               "table). Then one second of random-text load right after ready: a server that maps the file pays "
               "for a cold cache on its first requests instead of before ready; the cache column at ready shows how "
               "much of the file each server had read by then. On a virtual machine the host may "
               "still cache the disk, so \"cold\" here is the guest's page cache only.", "")
        by = defaultdict(list)
        for r in self.model_load:
            by[(r["config"], r["n"], r["cache"])].append(r)
        cases = {"no-image": "first start, no image yet", "cold": "cold page cache", "warm": "warm page cache"}
        rows = []
        for (cfg, n, cache), rs in sorted(by.items(), key=lambda kv: (ORDER.index(kv[0][0]),
                                                                       list(cases).index(kv[0][2]))):
            ss = cfg.startswith("sharpserve")
            rows.append([label(cfg, n), cases.get(cache, cache),
                         span([r["resident_before"] / MIB for r in rs], f0),
                         span([r.get("image_before", 0) / MIB for r in rs], f0) if ss else "",
                         span([r["ready"]["first_response_ms"] for r in rs], f0),
                         span([(r.get("image_at_ready", 0) if ss else r["resident_at_ready"]) / MIB for r in rs], f0),
                         span([rps(r["first_second"]) for r in rs], f0),
                         span([r["first_second"]["lat_p99_us"] / 1000 for r in rs], f1)])
        self.w(table(["setup", "case", ".bin cached at launch, MiB", "image cached at launch, MiB",
                      "launch → first answer, ms", "in the page cache at ready (Sharpserve: image), MiB",
                      "req/s, first second", "p99 ms, first second"], rows), "")

    def issue3_section(self):
        rs = self.serve_memory
        if not rs:
            return
        self.w("## Issue 3: one copy, little heap", "")
        self.w("`sharpserve serve bench/models/large.bin --threads 2`, the file in the page cache: launch → "
               "`GET /v2/health/ready` 200, then the process's `Anonymous:` (memory not backed by a file: heaps, "
               "stacks) from `/proc/PID/smaps_rollup` at ready and after at least 10,000 requests of random texts "
               "(wrk, 16 connections, 1-second chunks until the count is reached; `bench/serve-memory.sh`). "
               "Targets: Anonymous < 150 MiB, ready < 2 s.", "")
        rows = [[r["rep"], f"{r['file_bytes'] / MIB:,.0f} MiB", f"{r['ready']['all_ready_ms']:,.0f} ms",
                 f"{mib(r['at_ready']['anon_kb']):,.1f} MiB", f"{r['requests']:,} ({r['errors']})",
                 f"{mib(r['after']['anon_kb']):,.1f} MiB", f"{mib(r['after']['rss_kb']):,.0f} MiB",
                 f"{mib(r['after']['pss_kb']):,.0f} MiB"] for r in rs]
        rows.append(["**median**", "", f"{med([r['ready']['all_ready_ms'] for r in rs]):,.0f} ms",
                     f"{med([mib(r['at_ready']['anon_kb']) for r in rs]):,.1f} MiB", "",
                     f"{med([mib(r['after']['anon_kb']) for r in rs]):,.1f} MiB",
                     f"{med([mib(r['after']['rss_kb']) for r in rs]):,.0f} MiB",
                     f"{med([mib(r['after']['pss_kb']) for r in rs]):,.0f} MiB"])
        self.w(table(["repeat", "model", "launch → ready", "Anonymous at ready", "requests (errors)",
                      "Anonymous after", "Rss after", "Pss after"], rows), "")
        self.headline["issue3"] = {"anon": med([mib(r["after"]["anon_kb"]) for r in rs]),
                                   "requests": min(r["requests"] for r in rs),
                                   "ready": med([r["ready"]["all_ready_ms"] for r in rs])}

    def reading_section(self):
        h = self.headline
        self.w("## Reading", "")
        lines = []
        if h.get("throughput"):
            parts = [f"{label(cfg, t['n'])} answered {f0(t['ss'])} requests/s, {fx(t['ratio'])} the best gunicorn "
                     f"setup ({t['peer_label']}, {f0(t['peer'])} req/s)" for cfg, t in h["throughput"].items()]
            conns = next(iter(h["throughput"].values()))["conns"]
            lines.append(f"**Throughput.** At {conns} connections " + "; ".join(parts) + ". All share the 2 cores "
                         "with wrk; gunicorn's sync workers also pay a new connection per request, which is part of "
                         "the stack being replaced.")
        by = defaultdict(list)
        for r in self.memory:
            by[(r["config"], r["model"], r["n"])].append(r)
        if by:
            nmax = max(k[2] for k in by)

            def after(cfg, model, key="pss_kb"):
                return med([mib(r["after"][key]) for r in by.get((cfg, model, nmax), [])])

            def ready(cfg, model, key="pss_kb"):
                return med([mib(r["at_ready"][key]) for r in by.get((cfg, model, nmax), [])])

            copy = self.one_copy_kb("fasttext") / 1024
            parts = []
            for cfg in ("sharpserve", "sharpserve-proc", "gunicorn-per-worker", "gunicorn-preload", "gunicorn-freeze"):
                a = after(cfg, "fasttext")
                if a:
                    parts.append(f"{label(cfg)} {a / 1024:,.2f} GiB ({fx(a / copy)})")
            if parts:
                lines.append(f"**Memory, fastText model, N={nmax}** (total PSS after the load, and its ratio to the "
                             f"{copy / 1024:,.2f} GiB file): " + "; ".join(parts) + ". Per-worker loading multiplies "
                             "the model by N. Preloading shares it: the fastText module keeps its matrices in native "
                             "memory that nothing writes after loading, so what a preloaded stack adds over one copy "
                             "is mostly each process's own interpreter and heap (total USS after the load: "
                             + ", ".join(f"{label(cfg)} {after(cfg, 'fasttext', 'uss_kb'):,.0f} MiB"
                                         for cfg in ("sharpserve-proc", "gunicorn-preload", "gunicorn-freeze")
                                         if after(cfg, "fasttext", "uss_kb") is not None) + ").")
            loads = [f"{label(cfg)} {f0(med([rps(r['load']) for r in by[(cfg, 'fasttext', nmax)]]))}"
                     for cfg in ORDER if by.get((cfg, "fasttext", nmax))]
            if loads:
                lines.append(f"**Throughput on the large model** (random texts, during the memory loads, N={nmax}), "
                             "requests/s: " + "; ".join(loads) + ". The per-N numbers are in the memory table.")
            dcopy = self.one_copy_kb("dict")
            if dcopy:
                dcopy /= 1024
                parts = []
                for cfg in ("gunicorn-preload", "gunicorn-freeze"):
                    r_uss, a_uss = ready(cfg, "dict", "uss_kb"), after(cfg, "dict", "uss_kb")
                    a_pss = after(cfg, "dict")
                    if r_uss is not None and a_uss is not None:
                        parts.append(f"{label(cfg)}: USS {r_uss:,.0f} → {a_uss:,.0f} MiB, total PSS "
                                     f"{a_pss:,.0f} MiB ({fx(a_pss / dcopy)} the {dcopy:,.0f} MiB model)")
                if parts:
                    g_pre = after("gunicorn-preload", "dict", "uss_kb") - ready("gunicorn-preload", "dict", "uss_kb") \
                        if after("gunicorn-preload", "dict", "uss_kb") is not None else None
                    g_frz = after("gunicorn-freeze", "dict", "uss_kb") - ready("gunicorn-freeze", "dict", "uss_kb") \
                        if after("gunicorn-freeze", "dict", "uss_kb") is not None else None
                    lines.append(f"**Memory, pure-Python dict model, N={nmax}.** " + "; ".join(parts) + ". "
                                 "Preloading shares the dict at fork, then every worker copies the pages it writes: "
                                 "reference counts of the entries its requests look up, and, when a full "
                                 "collection runs, the collector's link words in every tracked object."
                                 + (f" gc.freeze() cut the growth from {g_pre:,.0f} to {g_frz:,.0f} MiB "
                                    f"({(1 - g_frz / g_pre) * 100:,.0f}% less): it spares the collector's writes, "
                                    "not the reference counts." if g_pre and g_frz is not None and g_pre > 0 else ""))
                    gcs = []
                    for cfg in ("gunicorn-preload", "gunicorn-freeze"):
                        ws = [w["full_gc_seconds"] for r in by.get((cfg, "dict", nmax), []) for w in r["workers"]
                              if w["full_gc_seconds"] is not None]
                        if ws:
                            gcs.append(f"{label(cfg)} {statistics.median(ws) * 1000:,.0f} ms per worker, "
                                       f"{f0(med([rps(r['load']) for r in by[(cfg, 'dict', nmax)]]))} req/s during "
                                       "the load")
                    if gcs:
                        lines.append("**The full collection's cost, dict model, N=" + str(nmax) + ":** "
                                     + "; ".join(gcs) + ". Without freeze, one collection walks every tracked object "
                                     "and copies the pages it writes; with N workers on 2 cores they do so at once.")
        if h.get("first"):
            parts = [f"{label(cfg, fr['n'])}: first request {f3(fr['first'])} ms against a steady p50 of "
                     f"{f3(fr['steady'])} ms ({fx(fr['ratio'])}), requests 2–4 {f3(fr['next'])} ms"
                     for cfg, fr in h["first"].items()]
            idle = [f"{label(cfg, fr['n'])} {f3(fr['idle5'])} ms" for cfg, fr in h["first"].items() if fr.get("idle5")]
            lines.append("**First requests.** " + "; ".join(parts) + ". These are sub-millisecond to "
                         "millisecond effects on loopback, not the seconds of a lazily loaded model"
                         + (", and they are the machine's idle wake-up rather than cold code: a warm request after "
                            "the same ≤ 5 ms of idle takes " + "; ".join(idle) + " (the idle table above; gunicorn's "
                            "requests slow down the same way)" if idle else "") + ". The gunicorn "
                         "workers' own timings of their first handler against their later ones are in the tables "
                         "above.")
        i3 = h.get("issue3")
        if i3:
            lines.append(f"**Issue 3.** Serving the {self.machine.get('model_bytes') and int(self.machine['model_bytes']) / MIB:,.0f}"
                         f" MiB model with 2 threads, Sharpserve's Anonymous memory was {i3['anon']:,.1f} MiB after "
                         f"{i3['requests']:,} requests and it was ready in {i3['ready']:,.0f} ms: the model stays in "
                         "the file mapping (page cache), not on the heap.")
        if not any(r["config"] == "sharpserve-proc" for r in self.memory + self.throughput):
            lines.append("**Process mode** (`--workers N`) is pending in Sharpserve: when `sharpserve serve --help` "
                         "lists `--workers`, bench/run.sh adds it as one more setup (`sharpserve-proc`, N worker "
                         "processes with one thread each) to the memory and throughput steps.")
        lines.append("**Noise.** Each configuration ran "
                     f"{max([r['rep'] for r in self.memory + self.throughput] or [1])} time(s), interleaved (every "
                     "setup once, then again); tables give the median and the range. The load generator runs on "
                     "the same 2 cores as the server under test, which caps every server's throughput alike.")
        for line in lines:
            self.w(f"- {line}")
        self.w("")

    def commands_section(self):
        self.w("## Exact commands", "")
        self.w("```sh", f"bench/run.sh{' --quick' if self.mode == 'quick' else ''}    # everything below, then "
               "this document", "```", "")
        self.w("Every distinct command as run, with the port, N, and wrk's threads (T), connections (C) and "
               "duration (D) left as names; paths relative to the repository:", "")
        seen = set()
        self.w("```sh")
        for c in self.commands:
            cmd = generic_command(c["cmd"])
            if cmd not in seen:
                seen.add(cmd)
                self.w(cmd)
        self.w("```", "")
        steps = [s for s in self.steps if s["step"] != "total"]
        if steps:
            self.w("Time per step: " + ", ".join(f"`{s['step']}` {s['seconds']} s" for s in steps) + ".", "")

    def python_block(self):
        """The Python models' section, markers included ("" without records of bench/steps/python.sh)."""
        return "\n".join(python_section.PythonSection(self.results, self.charts, self.chart_rel, self.mode,
                                                      generic_command).render())

    def write_python_only(self, path):
        """Replaces only the Python models' section of the document at PATH (run.sh --only python)."""
        block = self.python_block()
        if not block:
            raise SystemExit(f"no records of bench/steps/python.sh in {self.results}")
        previous = ""
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                previous = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(python_section.splice(previous, block))

    def write_protocols_only(self, path):
        """Replaces only the Protocols section of the document at PATH (run.sh --only protocols)."""
        block = protocols_section.render(self.results, self.mode)
        if not block:
            raise SystemExit(f"no records of bench/steps/protocols.sh in {self.results}")
        previous = ""
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                previous = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(protocols_section.splice(previous, block))

    def write(self, path):
        self.header()
        self.machine_section()
        # Sections that fill the headline first, then the targets table at the top.
        body_start = len(self.out)
        self.throughput_section()
        self.access_log_section()
        self.inprocess_section()
        self.memory_section()
        self.coldstart_section()
        self.model_load_section()
        self.issue3_section()
        self.reading_section()
        self.commands_section()
        body = self.out[body_start:]
        self.out = self.out[:body_start]
        self.targets_section()
        self.out += body
        # The Protocols and Python models' sections: from this run's records, or, when it has none, the
        # document's as it was.
        protocols = protocols_section.render(self.results, self.mode)
        if protocols:
            self.out += ["", protocols]
        python = self.python_block()
        if python:
            self.out += ["", python]
        # Sections measured apart are kept as they are: ONNX (bench/onnx/run.sh → bench/onnx/report.py) and the
        # GC mode per role (bench/gc-modes.sh).
        kept = ""
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                previous = f.read()
            begin, end = previous.find(protocols_section.BEGIN), previous.find(protocols_section.END)
            if not protocols and 0 <= begin < end:
                self.out += ["", previous[begin:end + len(protocols_section.END)]]
            begin, end = previous.find(python_section.BEGIN), previous.find(python_section.END)
            if not python and 0 <= begin < end:
                self.out += ["", previous[begin:end + len(python_section.END)]]
            for section in ("batching", "onnx", "gc"):
                begin = previous.find(f"<!-- {section}:begin -->")
                end = previous.find(f"<!-- {section}:end -->")
                if 0 <= begin < end:
                    kept += "\n" + previous[begin:end + len(f"<!-- {section}:end -->")] + "\n"
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(self.out).rstrip() + "\n" + kept)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(ROOT) if os.path.basename(ROOT) == "bench" else ROOT

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--charts", required=True)
    parser.add_argument("--mode", choices=("full", "quick"), default="full")
    parser.add_argument("--section", choices=("python", "protocols"),
                        help="rewrite only this section of --out (between its markers), from --results")
    args = parser.parse_args()
    os.makedirs(args.charts, exist_ok=True)
    if args.section == "python":
        Report(args.results, args.charts, args.mode).write_python_only(args.out)
    elif args.section == "protocols":
        Report(args.results, args.charts, args.mode).write_protocols_only(args.out)
    else:
        for old in glob.glob(os.path.join(args.charts, "*.png")):
            os.remove(old)
        Report(args.results, args.charts, args.mode).write(args.out)
