#!/usr/bin/env python3
"""Evaluate every query of a Grafana dashboard against a real Prometheus and fail when one returns no series.

    check_dashboard.py --prometheus http://127.0.0.1:9090 --dashboard roles/monitoring/files/gpt-oss-fleet-dashboard.json \
        --sources fleet,llamacpp,gateway --report reports/dashboard.txt [--rate-interval 1m] [--bearer-file FILE]

Each panel names its source on the last line of its description ("Source: llamacpp"): fleet (Prometheus' own `up`
of the replicas), gateway (HAProxy's exporter), vllm or llamacpp (the engine's /metrics). Only the panels of the
sources given are evaluated (a llama.cpp fleet has no vLLM series); the template variables' label_values() queries
are checked for the "fleet" source. Dashboard variables are replaced by `.*` (Grafana's "All"), $__rate_interval
and $__interval by --rate-interval. Writes one line per query (series found, how many are numbers, not NaN) and the
totals to --report; exits 1 naming every panel and query that returned nothing.
Standard library only: it runs on the controller or on any test host with python3.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

SOURCE_LINE = re.compile(r"(?:^|\n)Source:\s*([a-z]+)\.?\s*$")
# $var, ${var}, ${var:format}, [[var]]
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
INTERVALS = ("__rate_interval", "__interval", "__range")
LABEL_VALUES = re.compile(r"^\s*label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\s*\)\s*$")


def substitute(expr: str, rate_interval: str = "1m", values: dict | None = None) -> str:
    """The query Grafana would send with every variable at "All" (`.*`) and the rate interval fixed."""
    values = values or {}

    def replace(match):
        name = match.group(1) or match.group(2) or match.group(3)
        if name in INTERVALS:
            return rate_interval
        return values.get(name, ".*")
    return VARIABLE.sub(replace, expr)


def panel_source(panel: dict) -> str | None:
    match = SOURCE_LINE.search((panel.get("description") or "").strip())
    return match.group(1) if match else None


def iter_panels(dashboard: dict):
    """(row title, panel) for every panel that is not a row, in collapsed rows too."""
    row = None
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            row = panel.get("title")
            for inner in panel.get("panels", []):
                yield row, inner
        else:
            yield row, panel


def queries(dashboard: dict, sources: set[str]) -> list[dict]:
    """[{panel, source, row, ref, expr}] of the panels whose source is in `sources`."""
    found = []
    for row, panel in iter_panels(dashboard):
        source = panel_source(panel)
        if source not in sources:
            continue
        for target in panel.get("targets", []):
            if target.get("expr") and not target.get("hide"):
                found.append({"panel": panel.get("title"), "source": source, "row": row,
                              "ref": target.get("refId", "?"), "expr": target["expr"]})
    return found


def variable_queries(dashboard: dict) -> list[dict]:
    """[{name, selector, label}] of the dashboard's Prometheus label_values() variables."""
    found = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        match = LABEL_VALUES.match(query or "")
        if match:
            found.append({"name": variable["name"], "selector": match.group("selector"), "label": match.group("label")})
    return found


def problems(dashboard: dict) -> list[str]:
    """What makes a dashboard uncheckable: a panel without a source, a row mixing sources."""
    errors, by_row = [], {}
    for row, panel in iter_panels(dashboard):
        source = panel_source(panel)
        if source is None:
            errors.append("panel %r has no 'Source: ...' line at the end of its description" % panel.get("title"))
            continue
        by_row.setdefault(row, set()).add(source)
        if not [t for t in panel.get("targets", []) if t.get("expr")]:
            errors.append("panel %r has no query" % panel.get("title"))
    for row, seen in by_row.items():
        if len(seen) > 1:
            errors.append("row %r mixes sources %s" % (row, ", ".join(sorted(seen))))
    return errors


def count_series(result: dict) -> tuple[int, int]:
    """(series, series whose value is a number) of an instant query's data."""
    data = result.get("data", {})
    if data.get("resultType") == "scalar":
        return 1, int(not math.isnan(float(data["result"][1])))
    series = data.get("result", [])
    numbers = sum(1 for item in series if "value" in item and not math.isnan(float(item["value"][1])))
    return len(series), numbers


class Prometheus:
    def __init__(self, url: str, timeout: float = 10.0):
        self.url, self.timeout = url.rstrip("/"), timeout

    def get(self, path: str, params: list[tuple[str, str]]) -> dict:
        url = "%s%s?%s" % (self.url, path, urllib.parse.urlencode(params))
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:  # 400 on a bad query: Prometheus explains in the body
            body = error.read().decode(errors="replace")
            try:
                return json.loads(body)
            except ValueError:
                return {"status": "error", "error": "HTTP %d: %s" % (error.code, body[:300])}

    def query(self, expr: str) -> dict:
        return self.get("/api/v1/query", [("query", expr)])

    def label_values(self, label: str, selector: str | None) -> dict:
        return self.get("/api/v1/label/%s/values" % label, [("match[]", selector)] if selector else [])


def run(prometheus, dashboard: dict, sources: set[str], rate_interval: str) -> tuple[list[str], list[str]]:
    """(report lines, failures)."""
    lines, failures = [], []
    for problem in problems(dashboard):
        failures.append(problem)
    checked = queries(dashboard, sources)
    for item in checked:
        expr = substitute(item["expr"], rate_interval)
        answer = prometheus.query(expr)
        if answer.get("status") != "success":
            failures.append("%s / %s [%s]: query failed: %s: %s" % (item["source"], item["panel"], item["ref"],
                                                                    answer.get("error"), expr))
            lines.append("FAIL %s | %s [%s]: error | %s" % (item["source"], item["panel"], item["ref"], expr))
            continue
        series, numbers = count_series(answer)
        status = "ok  " if series else "FAIL"
        lines.append("%s %s | %s [%s]: %d series, %d numbers | %s" % (status, item["source"], item["panel"],
                                                                      item["ref"], series, numbers, expr))
        if not series:
            failures.append("%s / %s [%s]: no series for %s" % (item["source"], item["panel"], item["ref"], expr))
    variables = variable_queries(dashboard) if "fleet" in sources else []
    for variable in variables:
        selector = substitute(variable["selector"], rate_interval) if variable["selector"] else None
        answer = prometheus.label_values(variable["label"], selector)
        values = answer.get("data") or [] if answer.get("status") == "success" else []
        lines.append("%s variable $%s: %d values (%s) | label_values(%s, %s)" % (
            "ok  " if values else "FAIL", variable["name"], len(values), ", ".join(values[:8]), selector,
            variable["label"]))
        if not values:
            failures.append("variable $%s: no values for label_values(%s, %s)" % (variable["name"], selector,
                                                                               variable["label"]))
    panels = {(item["source"], item["panel"]) for item in checked}
    lines.append("checked %d panels (%d queries) of sources %s and %d variables: %d failure(s)" % (
        len(panels), len(checked), ",".join(sorted(sources)), len(variables), len(failures)))
    return lines, failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", required=True, help="base URL, e.g. http://127.0.0.1:9090")
    parser.add_argument("--dashboard", required=True)
    parser.add_argument("--sources", required=True, help="comma-separated: fleet, gateway, vllm, llamacpp")
    parser.add_argument("--report", help="file the lines are written to (they are printed too)")
    parser.add_argument("--rate-interval", default="1m")
    args = parser.parse_args(argv)
    with open(args.dashboard, encoding="utf-8") as handle:
        dashboard = json.load(handle)
    sources = {s.strip() for s in args.sources.split(",") if s.strip()}
    lines, failures = run(Prometheus(args.prometheus), dashboard, sources, args.rate_interval)
    text = "dashboard %s (%s) against %s\n%s\n" % (dashboard.get("title"), args.dashboard, args.prometheus,
                                                   "\n".join(lines))
    if args.report:
        with open(args.report, "w", encoding="utf-8") as handle:
            handle.write(text)
    sys.stdout.write(text)
    for failure in failures:
        sys.stderr.write("FAILED: %s\n" % failure)
    if not queries(dashboard, sources):
        sys.stderr.write("FAILED: no panel of sources %s\n" % ",".join(sorted(sources)))
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
