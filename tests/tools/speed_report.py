#!/usr/bin/env python3
"""Completes REPORTS/speed.txt (issue #19's ratios) from what the suite measured in this run.

The weights lines come from tests/tools/bench_weights.py and the fresh-host lines from tests/tools/bench-fresh-host.sh,
run by the suite on a quiet machine; this adds the no-op
converge times the fleet scenario measured (molecule/fleet/verify.yml writes them to fleet.txt) as seconds and as the
ratio of all replica hosts to one, and says plainly what this run did not measure.

usage: speed_report.py REPORTS
"""
import os
import re
import sys

NOOP = re.compile(r"^no-op site\.yml \(.*\): (\d+) host\(s\) in the recap for --limit (\S+): ([\d.]+) s wall, "
                  r"changed=(\d+)$")


def noop_lines(fleet_report):
    try:
        with open(fleet_report) as handle:
            found = [NOOP.match(line.strip()) for line in handle]
    except OSError:
        found = []
    runs = sorted((int(m.group(1)), float(m.group(3)), m.group(2), int(m.group(4))) for m in found if m)
    if len(runs) < 2 or runs[0][0] != 1:
        return ["no-op converge: not measured in this run (the fleet scenario writes it to fleet.txt)"]
    (_, one, one_limit, _), (hosts, many, many_limit, _) = runs[0], runs[-1]
    return ["no-op site.yml, 1 host (--limit %s): %.1f s (goal: 15 s or less)" % (one_limit, one),
            "no-op site.yml, %d hosts (--limit %s): %.1f s = %.2fx one host (goal: 2x or less for ten hosts)"
            % (hosts, many_limit, many, many / one)]


def main(reports):
    lines = noop_lines(os.path.join(reports, "fleet.txt"))
    try:
        with open(os.path.join(reports, "speed.txt")) as handle:
            measured = any(line.startswith("fresh host: toolkit / plain script") for line in handle)
    except OSError:
        measured = False
    if not measured:
        lines.append("fresh host to healthy endpoint against a plain script: not measured in this run "
                     "(tests/tools/bench-fresh-host.sh writes it)")
    with open(os.path.join(reports, "speed.txt"), "a") as handle:
        handle.write("".join(line + "\n" for line in lines))
    with open(os.path.join(reports, "speed.txt")) as handle:
        sys.stdout.write(handle.read())


if __name__ == "__main__":
    main(sys.argv[1])
