"""Every role tag alone, on a converged host, plans as a full run does and changes nothing.

The host serves two llama.cpp replicas on the CPU and is its own gateway and monitoring host, so all six role tags
have work to find: `driver`, `runtime`, `weights`, `server`, `gateway`, `monitoring`. preflight's tasks run (always)
in each of these runs, so `plan` and `preflight` alone are covered too; two concern tags (one file of a role) run
their part alone. Before the host record was planned under
every tag, `--tags server` stopped at "'preflight_plan' is undefined" (the record's old name).
"""
import json

import pytest

from test_guardrails import BASE, first_failure, run_site

SERVING = {"gpt_oss_plan_overrides": dict(BASE["gpt_oss_plan_overrides"], cpu_replicas=2),
           "gpt_oss_bind_address": "0.0.0.0", "_groups": ["gateway", "monitoring"],
           "monitoring_file_sd_path": "/etc/prometheus/file_sd/gpt-oss.json"}
TAGS = ["driver", "runtime", "weights", "server", "gateway", "monitoring"]


@pytest.fixture(scope="module")
def converged(lab_host, tmp_path_factory):
    result = run_site(lab_host, SERVING, tmp_path_factory.mktemp("converge"))
    assert result.returncode == 0, first_failure(json.loads(result.stdout), lab_host)
    return lab_host


@pytest.mark.parametrize("tag", TAGS)
def test_a_role_tag_alone_changes_nothing(converged, tmp_path, tag):
    result = run_site(converged, SERVING, tmp_path, "--tags", tag)
    output = json.loads(result.stdout)
    assert result.returncode == 0, first_failure(output, converged)
    changed = [task["task"]["name"] for play in output["plays"] for task in play["tasks"]
               if task["hosts"].get(converged, {}).get("changed")]
    assert changed == [], changed
    ran = [task["task"]["name"] for play in output["plays"] for task in play["tasks"]]
    # the tag's own role ran, not only preflight
    role = {"driver": "gpu_driver", "runtime": "inference_runtime", "weights": "model_weights",
            "server": "inference_server", "gateway": "load_balancer", "monitoring": "monitoring"}[tag]
    assert any(name.startswith(role + " : ") for name in ran), ran[-10:]


# a concern tag runs its part and nothing else: server_units is an imported file, weights_fetch an included one (its
# tag reaches the tasks through `apply`; the cache directories it needs carry it too)
CONCERNS = {
    "server_units": ("inference_server", "inference_server : Write the replicas' systemd units",
                     "inference_server : Smoke-test a chat completion"),
    "weights_fetch": ("model_weights", "model_weights : Record the revision",
                      "model_weights : Note what check mode cannot show"),
}


@pytest.mark.parametrize("tag", sorted(CONCERNS))
def test_a_concern_tag_alone_runs_its_part(converged, tmp_path, tag):
    result = run_site(converged, SERVING, tmp_path, "--tags", tag)
    output = json.loads(result.stdout)
    assert result.returncode == 0, first_failure(output, converged)
    ran = {task["task"]["name"]: task["hosts"].get(converged, {}) for play in output["plays"] for task in play["tasks"]}
    role, wanted, other = CONCERNS[tag]
    assert wanted in ran and not ran[wanted].get("skipped"), sorted(ran)
    assert other not in ran, sorted(ran)
    # besides preflight and the shared role (every tag plans), only the tag's own role ran
    roles = {name.split(" : ")[0] for name in ran if " : " in name and "Validating arguments" not in name}
    assert roles <= {"preflight", "gpt_oss", role}, sorted(roles)
    assert [name for name, host in ran.items() if host.get("changed")] == []
