"""What the report's sections measured apart (python_section.py, protocols_section.py) share: reading their
records, markdown tables, target verdicts, and splicing a section between its markers into docs/benchmarks.md."""

import json
import os


def jsonl(results, name):
    """The records of RESULTS/NAME.jsonl, one JSON object a line; [] when there is no such file."""
    path = os.path.join(results, name + ".jsonl")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_json(results, name):
    """RESULTS/NAME as JSON; None when there is no such file."""
    path = os.path.join(results, name)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def met(ok):
    return "–" if ok is None else ("**met**" if ok else "**not met**")


def splice(previous, block, begin_marker, end_marker, before):
    """PREVIOUS with the section between BEGIN_MARKER and END_MARKER replaced by BLOCK; without one, BLOCK goes
    before the first of the BEFORE markers found, or at the end. Everything else is unchanged."""
    begin, end = previous.find(begin_marker), previous.find(end_marker)
    if 0 <= begin < end:
        return previous[:begin] + block + previous[end + len(end_marker):]
    for marker in before:
        at = previous.find(marker)
        if at >= 0:
            return previous[:at] + block + "\n\n" + previous[at:]
    return previous.rstrip() + "\n\n" + block + "\n"
