"""Memory and CPU of a process tree (a server's root process and all its descendants), from /proc.

  memsample.py once PID [KEY=VALUE ...]          one JSON object on stdout
  memsample.py watch PID T0_NS INTERVAL OUT      appends one JSON object per INTERVAL seconds to OUT until PID
                                                 exits or this sampler gets SIGTERM; "t_s" counts from T0_NS

Per process, /proc/PID/smaps_rollup gives Rss, Pss (each shared page divided among its sharers: summed over
processes it counts a shared page once), Private_Clean + Private_Dirty (USS: pages no other process maps) and
Anonymous (memory not backed by a file: heaps, and the pages a forked worker copied on write). Values in KiB.
CPU is utime + stime from /proc/PID/stat, summed over the tree, in seconds.
"""

import json
import os
import signal
import sys
import time

FIELDS = {"Rss": "rss_kb", "Pss": "pss_kb", "Private_Clean": "priv_clean_kb", "Private_Dirty": "priv_dirty_kb",
          "Anonymous": "anon_kb", "Shared_Clean": "shared_clean_kb", "Shared_Dirty": "shared_dirty_kb"}
TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid):
    """The process and its descendants (children read from every thread's children file)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def sample(pid):
    total = {v: 0 for v in FIELDS.values()}
    cpu = 0
    pids = []
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                values = {}
                for line in f:
                    parts = line.split()
                    if parts and parts[0].rstrip(":") in FIELDS:
                        values[FIELDS[parts[0].rstrip(":")]] = int(parts[1])
            with open(f"/proc/{p}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for k, v in values.items():
            total[k] += v
        cpu += int(stat[11]) + int(stat[12])  # utime, stime (fields 14 and 15 of stat)
        pids.append(p)
    total["uss_kb"] = total["priv_clean_kb"] + total["priv_dirty_kb"]
    total["cpu_s"] = cpu / TICKS
    total["nprocs"] = len(pids)
    total["pids"] = pids
    return total


def main(argv):
    if len(argv) >= 2 and argv[0] == "once":
        record = sample(int(argv[1]))
        for kv in argv[2:]:
            k, _, v = kv.partition("=")
            record[k] = v
        print(json.dumps(record))
        return 0
    if len(argv) == 5 and argv[0] == "watch":
        pid, t0, interval, out = int(argv[1]), int(argv[2]), float(argv[3]), argv[4]
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with open(out, "a", encoding="utf-8") as f:
            while os.path.exists(f"/proc/{pid}"):
                record = sample(pid)
                record["t_s"] = round((time.time_ns() - t0) / 1e9, 3)
                del record["pids"]
                f.write(json.dumps(record) + "\n")
                f.flush()
                time.sleep(interval)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
