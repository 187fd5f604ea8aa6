"""Where a `terraform apply` spends its time: from the `apply -json` events (per resource type)
and the TF_LOG=debug log (provider processes). Used by `scripts/bench-apply --terraform`.

Usage: python3 scripts/bench_terraform.py APPLY.jsonl TF.log
"""

import json
import re
import sys
from datetime import datetime


def seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def events(path: str) -> None:
    start, end, first = {}, {}, None
    for line in open(path):
        event = json.loads(line)
        t = seconds(event["@timestamp"])
        first = t if first is None else first
        addr = event.get("hook", {}).get("resource", {}).get("addr")
        if event["type"] == "apply_start":
            start[addr] = t
        elif event["type"] in ("apply_complete", "apply_errored"):
            end[addr] = t
    by_type = {}
    for addr, t in end.items():
        if addr in start:
            by_type.setdefault(addr.split(".")[0], []).append(t - start[addr])
    print(
        f"  apply -json: {len(end)} resources; first change {min(start.values()) - first:.1f} s "
        f"after start (provider start, refresh, plan); last one done at {max(end.values()) - first:.1f} s"
    )
    for kind, durations in sorted(by_type.items(), key=lambda kv: -max(kv[1]))[:5]:
        print(f"    {kind}: {len(durations)} x {min(durations):.1f}-{max(durations):.1f} s")


def providers(path: str) -> None:
    """Time from `starting plugin` to the plugin's handshake, per provider process."""
    pending, ready = [], []
    for line in open(path, errors="replace"):
        stamp = line.split(" ", 1)[0]
        if "[DEBUG] provider: starting plugin:" in line and "terraform-provider-aws" in line:
            pending.append(seconds(stamp))
        elif re.search(r"\[DEBUG\] provider: using plugin: version=", line) and pending:
            ready.append(seconds(stamp) - pending.pop(0))
    if ready:
        print(
            f"  provider processes: {len(ready)}, each {min(ready):.1f}-{max(ready):.1f} s from exec to handshake"
        )


if __name__ == "__main__":
    events(sys.argv[1])
    providers(sys.argv[2])
