"""The "Protocols" section of docs/benchmarks.md (issue 14), from bench/steps/protocols.sh's records:
protocols.jsonl, protocols_commands.jsonl, protocols_run.jsonl and protocols_machine.json (or machine.json).
make_report.py calls render(); the section stands alone between <!-- protocols:begin --> and
<!-- protocols:end -->, so that a run of the step alone (`bench/run.sh --only protocols`) replaces it in the
document and leaves the rest as it was.
"""

import statistics
from collections import defaultdict

import sections

BEGIN = "<!-- protocols:begin -->"
END = "<!-- protocols:end -->"
TARGET = 0.60   # issue 14: binary or gRPC at ≥ 60% of the in-process rate
JSON_BEFORE = 0.33  # issue 14: OIP JSON was about a third of it
BIG = (("http-json", "OIP JSON (`POST /v2/models/langid/infer`, BYTES `data`)"),
       ("http-binary", "binary tensor data extension (same URL)"),
       ("grpc", "gRPC `ModelInfer`, `raw_input_contents`"),
       ("wrk-binary", "binary tensor data extension, replayed by wrk"),
       ("h2load", "gRPC `ModelInfer`, replayed by h2load"))
SINGLE = (("grpc-single", "gRPC `ModelInfer` (load client)"),
          ("http-json-single", "HTTP OIP JSON infer (load client)"),
          ("wrk", "HTTP `POST /labelservice/` (wrk)"))








def _span(values, fmt, unit=""):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    m = fmt(statistics.median(values))
    if len(values) == 1 or min(values) == max(values):
        return f"{m}{unit}"
    return f"{m}{unit} ({fmt(min(values))}–{fmt(max(values))})"


def _f0(v):
    return f"{v:,.0f}"


def _f2(v):
    return f"{v:,.2f}"


def _pct(v):
    return f"{100 * v:.0f}%"




class ProtocolsSection:
    def __init__(self, results, mode):
        self.results = results
        self.mode = mode
        self.records = sections.jsonl(results, "protocols")
        self.commands = sections.jsonl(results, "protocols_commands")
        self.runs = sections.jsonl(results, "protocols_run")
        self.machine = sections.read_json(results, "protocols_machine.json") or sections.read_json(results, "machine.json") or {}
        self.out = []

    def w(self, *lines):
        self.out.extend(lines)

    def _measures(self):
        """{(case, conns): [(rep, measure)]}: the load client's lines and wrk's, in one shape."""
        by = defaultdict(list)
        for r in self.records:
            if r.get("tool") == "loadclient":
                m = r["result"]
                by[(m["case"], m["conns"])].append((r["rep"], {
                    "rps": m["requests_per_second"], "texts": m["texts_per_second"], "p50": m["p50_ms"],
                    "p99": m["p99_ms"], "errors": m["errors"], "requests": m["requests"],
                    "first_error": m.get("first_error")}))
            elif r.get("tool") == "wrk":
                w = r["wrk"]
                rps = w["requests"] / (w["duration_us"] / 1e6)
                errors = sum(w[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_status",
                                            "errors_timeout"))
                by[("wrk", r["conns"])].append((r["rep"], {
                    "rps": rps, "texts": rps, "p50": w["lat_p50_us"] / 1000, "p99": w["lat_p99_us"] / 1000,
                    "errors": errors, "requests": w["requests"], "first_error": None}))
            elif r.get("tool") == "wrk-binary":
                w = r["wrk"]
                rps = w["requests"] / (w["duration_us"] / 1e6)
                errors = sum(w[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_status",
                                            "errors_timeout", "bad"))
                by[("wrk-binary", r["conns"])].append((r["rep"], {
                    "rps": rps, "texts": rps * r["texts"], "p50": w["lat_p50_us"] / 1000,
                    "p99": w["lat_p99_us"] / 1000, "errors": errors, "requests": w["requests"], "first_error": None}))
            elif r.get("tool") == "h2load":
                h = r["h2load"]
                by[("h2load", r["conns"])].append((r["rep"], {
                    "rps": h["requests_per_second"], "texts": h["requests_per_second"] * r["texts"],
                    "p50": h["p50_ms"], "p99": h["p99_ms"], "errors": h["errors"], "requests": h["requests"],
                    "first_error": None}))
        return by

    def render(self):
        if not any(r.get("tool") in ("loadclient", "wrk") for r in self.records):
            return []
        by = self._measures()
        texts = next((m["result"]["texts_per_request"] for m in self.records
                      if m.get("tool") == "loadclient" and m["result"]["case"] == "inproc"), 256)
        big_conns = sorted({c for (case, c) in by if case == "inproc"})
        single_conns = sorted({c for (case, c) in by if case in ("grpc-single", "wrk")})
        reps = sorted({r["rep"] for r in self.records if "rep" in r})
        self.w(BEGIN, "", "## Protocols", "")
        m = self.machine
        self.w(f"Issue 14: the same inference over the three protocols Sharpserve speaks, against the model's "
               f"in-process rate. Measured by `bench/steps/protocols.sh` (`bench/run.sh --only protocols` runs it "
               f"alone and rewrites only this section) on {m.get('date', '?')}, commit `{m.get('commit', '?')}`, "
               f"{len(reps)} repeat(s); medians with the range over repeats in brackets.", "")
        loads = "; ".join(f"repeat {r['rep']}: {r.get('loadavg_start', '?')} → {r.get('loadavg_end', '?')}"
                          for r in self.runs)
        self.w(f"Load average (1, 5, 15 min) at the start and end of each repeat: {loads or '?'}. The machine has "
               f"{m.get('nproc', '?')} cores and is shared: anything above {m.get('nproc', '?')} means other work "
               f"took CPU from the server, the client or the in-process loop while they ran, so the figures "
               f"are noisy and the ratios (taken within one repeat) are the more stable numbers.", "")
        self.w(f"Server: `sharpserve serve --threads 2` with no model (the embedded demo fastText model, "
               f"`langid`), HTTP and gRPC (`--grpc-port`) on 127.0.0.1. Client: `bench/Sharpserve.LoadClient`, one "
               f".NET process on the same cores, closed loop (each connection sends its next request when the "
               f"previous one is answered), bounded by time, each load after a few seconds of the same load that are not "
               f"counted (`--warmup`: the server's JSON path takes seconds of traffic to reach full speed, tiered "
               f"JIT), answers read whole and checked (HTTP status or gRPC "
               f"status, every text answered). In-process: the same client process opens the model image the "
               f"server maps (`sharpserve prepare`) through the fastText backend and calls the backend session's "
               f"`Infer` with the same {texts}-text BYTES tensor in a loop, one session per caller (the server has "
               f"one per executor thread), before the server is started: no HTTP, no parsing, no queue. A fraction "
               f"compares a protocol at C connections with the in-process loop at C callers in the same repeat "
               f"(C = 2 keeps both executor threads busy; C = 1 is one request at a time).", "")
        self.w("The rows \"replayed by wrk\" and \"replayed by h2load\" send the very same request bytes (written by "
               "`Sharpserve.LoadClient body`) from load generators written in C, as Kestrel's and Triton's own "
               "benchmarks do (TechEmpower's wrk; Triton's perf_analyzer is C++). The client shares the two cores "
               "with the server, and the .NET client, which parses every answer through HttpClient or Grpc.Net, "
               "costs several times their CPU per request (measured at 256 texts, 2 connections: about 0.2 ms of "
               "CPU per request for the .NET client against 0.03 ms for wrk), CPU the server then does not get. "
               "wrk checks every answer (200, binary, longer than its JSON part: `bench/lua/oip_binary.lua`); "
               "h2load cannot see gRPC's status trailer, so its answers are checked by their total size: every "
               "whole answer to the same request is the same bytes, measured alone first "
               "(`bench/lib/h2load_summary.py`), and any shortfall counts as errors.", "")

        self.w(f"### {texts} texts a request", "")
        rows = []
        ratios = defaultdict(list)  # (case, conns) → per-repeat fractions
        for c in big_conns:
            inproc = dict(by.get(("inproc", c), []))
            rows.append([f"in-process `Infer` ({c} caller{'s' if c > 1 else ''})", c,
                         _span([x["texts"] for x in inproc.values()], _f0), "100%",
                         _span([x["p50"] for x in inproc.values()], _f2), _span([x["p99"] for x in inproc.values()], _f2),
                         sum(x["errors"] for x in inproc.values())])
            for case, name in BIG:
                got = dict(by.get((case, c), []))
                for rep, x in got.items():
                    if rep in inproc and inproc[rep]["texts"]:
                        ratios[(case, c)].append(x["texts"] / inproc[rep]["texts"])
                rows.append([name, c, _span([x["texts"] for x in got.values()], _f0),
                             _span(ratios[(case, c)], _pct), _span([x["p50"] for x in got.values()], _f2),
                             _span([x["p99"] for x in got.values()], _f2), sum(x["errors"] for x in got.values())])
        self.w(sections.table(["path", "conns", "texts/s", "÷ in-process (same repeat)", "p50 ms", "p99 ms", "errors"], rows),
               "")

        top = max(big_conns) if big_conns else None
        trows = []
        for case, name in BIG:
            for c in big_conns:
                r = ratios.get((case, c))
                if not r:
                    continue
                value = statistics.median(r)
                if case == "http-json":
                    target, ok = f"for reference: about {_pct(JSON_BEFORE)} before", None
                else:
                    target, ok = f"≥ {_pct(TARGET)}", value >= TARGET
                trows.append([name, c, _span(r, _pct), target, sections.met(ok) if c == top else "– (one request at a time)"])
        self.w("Issue 14's target: binary tensor data or gRPC at 60% or more of the in-process rate (OIP JSON was "
               f"about a third). Judged at {top} connections, where the server can use both executor threads as "
               "the in-process loop uses both cores, for each client.", "")
        self.w(sections.table(["protocol", "conns", "÷ in-process", "target", "verdict"], trows), "")

        self.w("### One text a request", "")
        rows = []
        for c in single_conns:
            for case, name in SINGLE:
                got = dict(by.get((case, c), []))
                if not got:
                    continue
                rows.append([name, c, _span([x["rps"] for x in got.values()], _f0),
                             _span([x["p50"] for x in got.values()], _f2), _span([x["p99"] for x in got.values()], _f2),
                             sum(x["errors"] for x in got.values())])
        self.w(sections.table(["protocol", "conns", "requests/s", "p50 ms", "p99 ms", "errors"], rows), "")
        self.w("gRPC: one channel (one HTTP/2 connection) per concurrent call. The load client is .NET and costs "
               "more CPU per request than wrk (C), on the same two cores as the server, so compare gRPC with the "
               "OIP JSON row from the same client; the wrk row is the HTTP figure as `steps/throughput.sh` takes "
               "it (the plain-text endpoint, which skips OIP's JSON).", "")
        errors = [(k, x["first_error"]) for k, v in by.items() for _, x in v if x.get("first_error")]
        if errors:
            self.w("First error seen per failing case: " + "; ".join(f"{k[0]} at {k[1]}: {e}" for k, e in errors[:6]),
                   "")
        if self.commands:
            self.w("Commands:", "", "```")
            self.w(*[c["cmd"] for c in self.commands])
            self.w("```", "")
        self.w(END)
        return self.out


def render(results, mode):
    """The section, markers included ("" without records of bench/steps/protocols.sh)."""
    return "\n".join(ProtocolsSection(results, mode).render())


def splice(previous, block):
    """The document with its Protocols section replaced by BLOCK (or inserted before the Python models' section,
    or before the sections measured apart, or at the end); everything else unchanged."""
    return sections.splice(previous, block, BEGIN, END, ("<!-- python:begin -->", "<!-- onnx:begin -->", "<!-- gc:begin -->"))
