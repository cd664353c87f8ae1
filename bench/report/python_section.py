"""The "Python models" section of docs/benchmarks.md (issue 13), from bench/steps/python.sh's records:
python.jsonl, python_reference.jsonl, python_commands.jsonl, python_run.jsonl and python_machine.json (or
machine.json), and its chart in CHARTS/python/. make_report.py calls render(); the section stands alone between
<!-- python:begin --> and <!-- python:end -->, so that a run of the step alone (`bench/run.sh --only python`)
replaces it in the document and leaves the rest as it was.
"""

import json
import os
import re
import statistics
from collections import defaultdict

import sections

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BEGIN = "<!-- python:begin -->"
END = "<!-- python:end -->"
MIB_KB = 1024
SETUPS = ("gunicorn-per-worker", "gunicorn-preload", "gunicorn-freeze", "sharpserve-python")
LABELS = {
    "gunicorn-per-worker": "gunicorn per-worker",
    "gunicorn-preload": "gunicorn preload",
    "gunicorn-freeze": "gunicorn preload + gc.freeze()",
    "sharpserve-python": "Sharpserve `serve --python`",
}
COLORS = {"gunicorn-per-worker": "#d62728", "gunicorn-preload": "#ff7f0e", "gunicorn-freeze": "#2ca02c",
          "sharpserve-python": "#1f77b4"}
MODELS = {"dict": "Python dict", "sklearn": "scikit-learn TF-IDF + SGD"}










def _size_mib(text):
    """'64m' / '1g' / '65536k' → MiB."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg]?)b?", str(text).strip().lower())
    if not m:
        return None
    v = float(m.group(1))
    return {"k": v / 1024, "m": v, "g": v * 1024, "": v / 1024 / 1024}[m.group(2)]


def _rps(w):
    return w["requests"] / (w["duration_us"] / 1e6)


def _failed(r):
    w = r["load"]
    errors = sum(w[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout"))
    return errors + r["first"].get("failed", 0)


def _samples(results, r):
    path = os.path.join(results, "samples", r["samples"])
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _reforks(r):
    """Workers Sharpserve replaced during the run: ids beyond the first N (ids count up from 1)."""
    s = r.get("status")
    if not s or not s.get("worker_ids"):
        return None
    return max(s["worker_ids"]) - r["n"]


class PythonSection:
    def __init__(self, results, charts, chart_rel, mode, generic_command):
        self.results = results
        self.charts = os.path.join(charts, "python")
        self.chart_rel = chart_rel + "/python"
        self.mode = mode
        self.generic_command = generic_command
        self.runs_all = sections.jsonl(results, "python")
        self.runs = [r for r in self.runs_all if not r.get("failed")]
        self.reference = {r["model"]: r for r in sections.jsonl(results, "python_reference")}
        self.commands = sections.jsonl(results, "python_commands")
        runs = sections.jsonl(results, "python_run")
        self.run = runs[-1] if runs else {}
        self.machine = sections.read_json(results, "python_machine.json") or sections.read_json(results, "machine.json") or {}
        self.out = []

    def w(self, *lines):
        self.out.extend(lines)

    def copy_mib(self, model):
        ref = self.reference.get(model)
        return ref["python"]["model_kb"] / MIB_KB if ref else None

    def measure(self, r):
        """The figures of one run, in MiB and ms."""
        samples = _samples(self.results, r)
        load_pss = [s["pss_kb"] / MIB_KB for s in samples if s["t_s"] <= r["load_s"] + 0.5]
        all_pss = [r["at_ready"]["pss_kb"] / MIB_KB, r["after_burst"]["pss_kb"] / MIB_KB,
                   r["after"]["pss_kb"] / MIB_KB] + [s["pss_kb"] / MIB_KB for s in samples]
        tail = [s["pss_kb"] / MIB_KB for s in samples if s["t_s"] >= r["load_s"] / 2 and s["t_s"] <= r["load_s"] + 0.5]
        first = r["first"]
        return {
            "ready_s": r["ready"]["all_ready_ms"] / 1000,
            "pss_ready": r["at_ready"]["pss_kb"] / MIB_KB,
            "pss_max": max(all_pss),
            "pss_after": r["after"]["pss_kb"] / MIB_KB,
            # Growth under load: the last sample of the load minus the first one.
            "growth": (load_pss[-1] - load_pss[0]) if len(load_pss) >= 2 else None,
            # Growth over the second half of the load: still growing, or levelled off?
            "growth_2nd_half": (tail[-1] - tail[0]) if len(tail) >= 2 else None,
            "rps": _rps(r["load"]),
            "p50": r["load"]["lat_p50_us"] / 1000,
            "p99": r["load"]["lat_p99_us"] / 1000,
            "first_max": first["first_max_ms"],
            "first_median": first["first_median_ms"],
            "warm_p50": first["warm_p50_ms"],
            "failed": _failed(r),
            "requests": r["load"]["requests"],
            "reforks": _reforks(r),
        }

    # ------------------------------------------------------------------ the section

    def render(self):
        if not self.runs_all:
            return []
        by = defaultdict(list)
        for r in self.runs:
            by[(r["model"], r["config"], r["n"])].append(r)
        ns = sorted({r["n"] for r in self.runs})
        models = [m for m in MODELS if any(r["model"] == m for r in self.runs)]
        r0 = self.runs[0] if self.runs else self.runs_all[0]
        budget = _size_mib(r0.get("budget", "64m"))
        m = self.machine
        self.w(BEGIN, "## Python models (issue 13)", "")
        self.w(f"Measured by `bench/steps/python.sh` ({'`bench/run.sh --quick`' if self.mode == 'quick' else '`bench/run.sh`, or alone: `bench/run.sh --only python`'})"
               + (f" on {self.run.get('date', m.get('date', '?'))}" if self.run or m else "")
               + (f" in {self.run['seconds'] / 60:.1f} minutes" if self.run.get("seconds") else "")
               + f"; Sharpserve commit `{m.get('commit', '?')}`"
               + (f" + {m['dirty']} uncommitted file(s) under src/" if m.get("dirty", "0") not in ("0", "") else "")
               + f", {m.get('python', 'Python ?')}, scikit-learn {m.get('sklearn', '?')}, numpy {m.get('numpy', '?')}, "
               f"gunicorn {m.get('gunicorn', '?')}; {m.get('nproc', '?')} cores; load average "
               f"{self.run.get('loadavg_start', '?')} at the start of the step and {self.run.get('loadavg_end', '?')} "
               "at its end (1, 5, 15 min; anything above 2 means other work shared the cores).", "")
        refs = []
        for model in models:
            ref = self.reference.get(model, {}).get("python", {})
            if model == "dict":
                refs.append(f"the pure-Python dict model (`bench/python/dict_model.py`, {ref.get('entries', 0):,} "
                            f"entries: {self.copy_mib(model):,.0f} MiB of Python objects, built in "
                            f"{ref.get('build_s', '?')} s)")
            else:
                refs.append(f"a scikit-learn text classifier (`bench/python/sklearn_model.py`: TfidfVectorizer + "
                            f"SGDClassifier trained by `load()` on a fixed synthetic corpus; vocabulary of "
                            f"{ref.get('vocabulary', 0):,} words, a Python dict, and numpy arrays such as the "
                            f"{ref.get('coef_bytes', 0) / 1024 / 1024:,.0f} MiB `coef_`: {self.copy_mib(model):,.0f} "
                            f"MiB in all, trained in {ref.get('build_s', '?')} s)")
        self.w("Two Python models, each served with the very same `predict` by every setup: " + "; ".join(refs)
               + ". \"One copy\" is the model's anonymous memory in one process after loading, minus before "
               "(the modules it imports are not counted). Setups: gunicorn + Flask (`bench/python/label_service.py`) "
               "with each worker loading its own model (per-worker; only at N ≤ "
               f"{max([r['n'] for r in self.runs if r['config'] == 'gunicorn-per-worker'] or [0])}: N loads on 2 "
               "cores), with `--preload`, and with `--preload` plus `gc.freeze()` before each fork; and "
               "`sharpserve serve --python` (`bench/python/sharpserve_models.py`), whose zygote loads the model, "
               "warms up, runs `gc.collect(); gc.freeze()`, then forks N workers that each warm up before they "
               f"are ready, with `--max-worker-memory {r0.get('budget', '?')}` (a worker whose Private_Dirty grew "
               "more than that since it was ready is replaced by a fresh fork). No forced `gc.collect()` in these "
               "runs. Each run, in order:", "")
        self.w("1. **launch → ready**: gunicorn: every worker has run its `post_worker_init` hook; Sharpserve: "
               "`GET /v2/health/ready` answers 200 and `GET /status` lists N workers ready. No inference request "
               "is sent before step 3.",
               "2. total **PSS** of the process tree (the server's process and all its descendants, "
               "`bench/python/memsample.py`) at ready;",
               f"3. **first requests after ready** (`probe.py burst`): N client threads start at once, each "
               f"sending {r0['first'].get('per_conn', '?')} requests one after the other (a new connection each; "
               "bodies of 10 random keys). The first wave of N requests finds N idle workers, so each worker's "
               "first request is in it: \"first\" is the slowest of that wave, \"warm p50\" the median of every "
               "thread's later half, measured by the same client in the same run;",
               f"4. a **{r0['load_s']}-second load** with wrk at {r0['conns']} connections, random texts of 10 "
               f"keys (`bench/lua/bench.lua`); PSS sampled every {r0.get('interval_s', '?')} s meanwhile and once "
               f"more {r0['settle_s']} s after it; requests/s and p50/p99 from wrk; **failed** counts wrk's "
               "connect, read, write, timeout and non-2xx errors plus the probe's failures.", "")

        # ---- targets
        rows = []
        for model in models:
            copy = self.copy_mib(model)
            parts, oks = [], []
            for n in ns:
                rs = by.get((model, "sharpserve-python", n))
                if not rs or copy is None or budget is None:
                    continue
                bound = copy + n * (budget + 30)
                peak = max(self.measure(r)["pss_max"] for r in rs)
                oks.append(peak <= bound)
                parts.append(f"N={n}: {peak:,.0f} ≤ {bound:,.0f} MiB? {'yes' if peak <= bound else 'no'}")
            if parts:
                rows.append([f"{MODELS[model]}: total PSS over the run ≤ one copy ({copy:,.0f} MiB) + N × (budget "
                             f"{budget:,.0f} MiB + 30 MiB)", "; ".join(parts), sections.met(all(oks))])
            # Bounded while preload + freeze grows: Sharpserve's PSS levels off (grows by less than 5% of its
            # peak over the second half of the load), and preload + freeze's growth over the whole load beside it.
            parts, oks = [], []
            for n in ns:
                ss, fr = by.get((model, "sharpserve-python", n)), by.get((model, "gunicorn-freeze", n))
                if not ss or not fr:
                    continue
                g_ss = statistics.median([self.measure(r)["growth"] or 0 for r in ss])
                g_ss2 = statistics.median([self.measure(r)["growth_2nd_half"] or 0 for r in ss])
                peak = statistics.median([self.measure(r)["pss_max"] for r in ss])
                g_fr = statistics.median([self.measure(r)["growth"] or 0 for r in fr])
                g_fr2 = statistics.median([self.measure(r)["growth_2nd_half"] or 0 for r in fr])
                oks.append(g_ss2 <= 0.05 * peak)
                parts.append(f"N={n}: Sharpserve {g_ss:+,.0f} MiB over the load, {g_ss2:+,.0f} in its second half; "
                             f"preload + freeze {g_fr:+,.0f} MiB, {g_fr2:+,.0f} in its second half")
            if parts:
                rows.append([f"{MODELS[model]}: Sharpserve's PSS bounded (its growth over the second half of the "
                             "load < 5% of its peak) while preload + freeze grows", "; ".join(parts), sections.met(all(oks))])
        parts, oks = [], []
        for n in ns:
            ss, fr = by.get(("dict", "sharpserve-python", n)), by.get(("dict", "gunicorn-freeze", n))
            if not ss or not fr:
                continue
            a = statistics.median([self.measure(r)["rps"] for r in ss])
            b = statistics.median([self.measure(r)["rps"] for r in fr])
            oks.append(a >= 2 * b)
            parts.append(f"N={n}: {a / b:,.2f}× ({a:,.0f} vs {b:,.0f} req/s)")
        if parts:
            rows.append([f"dict model: ≥ 2× the requests/s of preload + freeze at {r0['conns']} connections",
                         "; ".join(parts), sections.met(all(oks))])
        for model in models:
            parts, oks = [], []
            for n in ns:
                rs = by.get((model, "sharpserve-python", n))
                if not rs:
                    continue
                ms = [self.measure(r) for r in rs]
                fm = statistics.median([x["first_max"] for x in ms])
                wp = statistics.median([x["warm_p50"] for x in ms])
                oks.append(fm <= 2 * wp)
                parts.append(f"N={n}: {fm / wp:,.2f}× ({fm:,.2f} vs {wp:,.2f} ms)")
            if parts:
                rows.append([f"{MODELS[model]}: Sharpserve's first request after ready (slowest of the first wave) "
                             "≤ 2× warm p50", "; ".join(parts), sections.met(all(oks))])
        ss_runs = [r for r in self.runs if r["config"] == "sharpserve-python"]
        ss_failed_starts = [r for r in self.runs_all if r.get("failed") and r["config"] == "sharpserve-python"]
        if ss_runs:
            failed = sum(_failed(r) for r in ss_runs)
            total = sum(r["load"]["requests"] for r in ss_runs)
            rows.append(["Sharpserve: zero failed requests",
                         f"{failed:,} failed of {total:,} (wrk) + the probes' requests, over {len(ss_runs)} runs"
                         + (f"; {len(ss_failed_starts)} start(s) failed" if ss_failed_starts else ""),
                         sections.met(failed == 0 and not ss_failed_starts)])
        self.w("### Targets", "")
        fixed = []
        for model in models:
            copy = self.copy_mib(model)
            rs = [r for r in self.runs if r["model"] == model and r["config"] == "sharpserve-python"]
            if rs and copy is not None:
                r = min(rs, key=lambda r: r["n"])
                fixed.append(f"{MODELS[model]}: {r['at_ready']['pss_kb'] / MIB_KB - copy:,.0f} MiB at ready with "
                             f"N={r['n']}")
        self.w("The memory target counts one copy of the model and N workers' budgets, not the fixed cost around "
               "them: the .NET front, the zygote's interpreter and the modules the model imports (numpy, scipy and "
               "scikit-learn for the classifier). Sharpserve's total PSS minus one copy, for scale: "
               + "; ".join(fixed) + ".", "")
        self.w(sections.table(["target (issue 13)", "measured", ""], rows) if rows else "No results.", "")
        failed_starts = [r for r in self.runs_all if r.get("failed")]
        if failed_starts:
            self.w(f"**{len(failed_starts)} server start(s) failed** and are left out: "
                   + "; ".join(f"{LABELS.get(r['config'], r['config'])}, {r['model']}, N={r['n']}" for r in failed_starts)
                   + ".", "")

        # ---- the table
        self.w("### All runs", "")
        rows = []
        for model in models:
            copy = self.copy_mib(model)
            for n in ns:
                for cfg in SETUPS:
                    for r in by.get((model, cfg, n), []):
                        x = self.measure(r)
                        rows.append([
                            MODELS[model], LABELS[cfg], n, f"{x['ready_s']:,.1f}", f"{x['pss_ready']:,.0f}",
                            f"{x['pss_max']:,.0f}", f"{x['pss_after']:,.0f}",
                            "–" if x["growth"] is None else f"{x['growth']:+,.0f}",
                            f"{x['pss_after'] / copy:,.2f}×" if copy else "–",
                            f"{x['rps']:,.0f}", f"{x['p50']:,.2f}", f"{x['p99']:,.1f}",
                            f"{x['first_max']:,.2f}", f"{x['warm_p50']:,.2f}",
                            f"{x['first_max'] / x['warm_p50']:,.1f}×", f"{x['failed']:,}",
                            "–" if x["reforks"] is None else x["reforks"]])
        self.w(sections.table(["model", "setup", "N", "launch → ready, s", "PSS at ready, MiB", "PSS max, MiB",
                       "PSS after, MiB", "growth under load, MiB", "after ÷ one copy", "req/s",
                       "p50, ms", "p99, ms", "first after ready, ms", "warm p50, ms", "first ÷ warm", "failed",
                       "workers reforked"], rows), "")
        self.w("PSS max is the largest total PSS seen in the run (at ready, after the first requests, every sample "
               "under load, after); growth under load is the last sample of the load minus the first. Sharpserve's "
               "totals include its .NET front (the process that serves HTTP) and the zygote; gunicorn's, its "
               "master. \"workers reforked\" is how many workers Sharpserve replaced during the run (over the "
               "memory budget, or lost), read from `GET /status` at the end. First-request figures for gunicorn "
               "are the client's, like Sharpserve's; each gunicorn worker's own handler time for its first request "
               "is in the raw records (`workers`).", "")

        # ---- chart
        if self.chart(by, models, ns, budget):
            self.w("", f"![total PSS over time per setup]({self.chart_rel}/python_pss_over_time.png)", "")
        self.reading(by, models, ns)

        # ---- commands
        self.w("Commands of this section (port, N and wrk's threads, connections and duration left as names):", "")
        seen = set()
        self.w("```sh")
        for c in self.commands:
            cmd = self.generic_command(c["cmd"])
            if cmd not in seen:
                seen.add(cmd)
                self.w(cmd)
        self.w("```", END)
        return self.out

    def reading(self, by, models, ns):
        lines = []
        nmax = max(ns) if ns else None
        for model in models:
            ss = by.get((model, "sharpserve-python", nmax))
            fr = by.get((model, "gunicorn-freeze", nmax))
            pl = by.get((model, "gunicorn-preload", nmax))
            if not ss:
                continue
            x = self.measure(ss[0])
            parts = [f"Sharpserve ended the load at {x['pss_after']:,.0f} MiB ({x['growth']:+,.0f} MiB under load)"
                     if x["growth"] is not None else f"Sharpserve ended the load at {x['pss_after']:,.0f} MiB"]
            for name, rs in (("preload + freeze", fr), ("preload", pl)):
                if rs:
                    y = self.measure(rs[0])
                    parts.append(f"{name} at {y['pss_after']:,.0f} MiB"
                                 + (f" ({y['growth']:+,.0f} MiB)" if y["growth"] is not None else ""))
            lines.append(f"**{MODELS[model]}, N={nmax}:** " + "; ".join(parts) + ".")
            reforks = [(r["n"], _reforks(r), r["load_s"]) for r in self.runs
                       if r["model"] == model and r["config"] == "sharpserve-python" and _reforks(r) is not None]
            if any(k for _, k, _ in reforks):
                lines.append(f"**{MODELS[model]}: reforks.** Sharpserve replaced "
                             + ", ".join(f"{k} worker(s) at N={n}" for n, k, _ in reforks)
                             + f" during the runs (each about {reforks[0][2]} s of load plus the first requests): a "
                             f"worker whose Private_Dirty grew past the {self.runs[0].get('budget')} budget was "
                             "forked afresh and warmed before the old one drained. Each lookup in a Python object "
                             "model writes reference counts in the pages it reads, so random traffic copies the "
                             "shared pages into the worker at the rate it serves; the budget bounds the memory and "
                             "costs a fork and a warm-up per refork, which the requests/s above include.")
            # The model's own first predict in a fresh process, server-side: gunicorn per-worker's handler times.
            pw = [w for r in self.runs if r["model"] == model and r["config"] == "gunicorn-per-worker"
                  for w in r.get("workers", []) if w.get("first_ms") and w.get("steady_p50_ms")]
            if pw:
                f = statistics.median([w["first_ms"] for w in pw])
                st = statistics.median([w["steady_p50_ms"] for w in pw])
                lines.append(f"**{MODELS[model]}: first predict in a process.** gunicorn per-worker's own handler "
                             f"times (no network, no queue) put a worker's first request at {f:,.2f} ms and its "
                             f"steady median at {st:,.2f} ms ({f / st:,.1f}×): the first-request figures above "
                             "include what the model itself does on its first calls in a new process.")
        if lines:
            self.w("### Reading", "")
            for ln in lines:
                self.w(ln, "")

    def chart(self, by, models, ns, budget):
        if not models or not ns:
            return False
        os.makedirs(self.charts, exist_ok=True)
        fig, axes = plt.subplots(len(models), len(ns), figsize=(4.2 * len(ns), 3.6 * len(models)), squeeze=False)
        for i, model in enumerate(models):
            copy = self.copy_mib(model)
            for j, n in enumerate(ns):
                ax = axes[i][j]
                load_s = None
                for cfg in SETUPS:
                    rs = by.get((model, cfg, n))
                    if not rs:
                        continue
                    r = rs[len(rs) // 2]
                    load_s = r["load_s"]
                    samples = _samples(self.results, r)
                    ts = [s["t_s"] for s in samples]
                    ps = [s["pss_kb"] / MIB_KB for s in samples]
                    ax.plot(ts, ps, color=COLORS[cfg], label=LABELS[cfg].replace("`", ""), lw=1.4)
                    ax.plot([0], [r["at_ready"]["pss_kb"] / MIB_KB], marker="o", color=COLORS[cfg], ms=4)
                if copy is not None:
                    ax.axhline(copy, color="gray", lw=0.8)
                    ax.text(0, copy, " one copy", va="bottom", fontsize=7, color="gray")
                    if budget is not None:
                        bound = copy + n * (budget + 30)
                        ax.axhline(bound, color="#1f77b4", lw=0.8, ls="--")
                        ax.text(0, bound, " target for Sharpserve", va="bottom", fontsize=7, color="#1f77b4")
                if load_s:
                    ax.axvspan(0, load_s, color="gray", alpha=0.08)
                ax.set_title(f"{MODELS[model]}, N={n}", fontsize=9)
                ax.set_xlabel("s since the load started", fontsize=8)
                ax.set_ylabel("total PSS, MiB", fontsize=8)
                ax.set_ylim(bottom=0)
                ax.grid(alpha=0.3)
                ax.tick_params(labelsize=7)
                if i == 0 and j == 0:
                    ax.legend(fontsize=6.5, loc="lower right")
        fig.suptitle("Python models: total PSS of all processes over time\n(dot: at ready; shaded: the wrk load)",
                     fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(self.charts, "python_pss_over_time.png"), dpi=100)
        plt.close(fig)
        return True


def splice(previous, block):
    """The document with its Python section replaced by BLOCK (or inserted before the sections measured apart,
    or at the end); everything else unchanged."""
    return sections.splice(previous, block, BEGIN, END, ("<!-- onnx:begin -->", "<!-- gc:begin -->"))
