"""`plan.yml` (= site.yml --tags plan) prints each host's plan table, changes nothing and works in check mode,
on a host with no GPU driver: run for real against localhost with a replayed 8x H100 host."""
import json
import os
import pathlib
import subprocess
import sys

import yaml

from fixture_loader import replay_options

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_plan(tmp_path, *extra):
    inventory = {"all": {"children": {"gpt_oss_servers": {"hosts": {"replayed-dgx": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    replay = {k: v for k, v in replay_options("dgx-h100-8x-nvswitch").items() if v is not None}
    (tmp_path / "vars.json").write_text(json.dumps({"gpt_oss_gpu_replay": replay,
                                                   "gpt_oss_api_key": "plan-test-key-0123456789"}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    result = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i",
                             str(tmp_path / "hosts.yml"), "-e", "@%s" % (tmp_path / "vars.json"), "plan.yml", *extra],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return json.loads(result.stdout)


def test_plan_playbook_prints_the_table_and_changes_nothing(tmp_path):
    output = run_plan(tmp_path, "--check")
    assert output["stats"]["replayed-dgx"]["changed"] == 0
    shown = [task["hosts"]["replayed-dgx"] for play in output["plays"] for task in play["tasks"]
             if task["task"]["name"].endswith("Show the plan")]
    table = "\n".join(shown[0]["msg"])
    assert "engine    : vllm@0.10.2 (cuda, wheel cu128)" in table
    assert "replicas  : 8 x TP1" in table
    assert len([line for line in table.splitlines() if line.startswith("gpu ") and "H100 80GB HBM3" in line]) == 8
