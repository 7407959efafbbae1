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
                  r"changed=(\d+), machine CPU busy ([\d.]+) s on (\d+) cores$")


def noop_lines(fleet_report):
    try:
        with open(fleet_report) as handle:
            found = [NOOP.match(line.strip()) for line in handle]
    except OSError:
        found = []
    runs = sorted((int(m.group(1)), float(m.group(3)), m.group(2), float(m.group(5)), int(m.group(6)))
                  for m in found if m)
    if len(runs) < 2 or runs[0][0] != 1:
        return ["no-op converge: not measured in this run (the fleet scenario writes it to fleet.txt)"]
    (_, one, one_limit, one_cpu, cores), (hosts, many, many_limit, many_cpu, _) = runs[0], runs[-1]
    # the lab hosts share the controller's cores: N hosts cannot take less than the CPU they need over the cores
    per_host = many_cpu / hosts
    floor_ten = 10 * per_host / cores
    return ["no-op site.yml, 1 host (--limit %s): %.1f s (goal: 15 s or less); the machine's CPU busy %.1f s of the "
            "%.1f its %d cores had" % (one_limit, one, one_cpu, one * cores, cores),
            "no-op site.yml, %d hosts (--limit %s): %.1f s = %.2fx one host (goal: 2x or less for ten hosts); CPU busy "
            "%.1f s of %.1f, %.1f s per host (controller, host containers and Docker together)"
            % (hosts, many_limit, many, many / one, many_cpu, many * cores, per_host),
            "no-op site.yml, ten hosts here: at least %.1f s = %.2fx one host, from the CPU one host needs on these %d "
            "cores shared with the hosts (not measured: the fleet scenario has %d replica hosts)"
            % (floor_ten, floor_ten / one, cores, hosts)]


def main(reports):
    lines = noop_lines(os.path.join(reports, "fleet.txt"))
    try:
        with open(os.path.join(reports, "speed.txt")) as handle:
            measured = any(line.startswith("fresh host: toolkit to the same first chat") for line in handle)
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
