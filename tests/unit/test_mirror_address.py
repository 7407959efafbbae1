"""The model mirror's address is defined once (roles/gpt_oss/defaults: gpt_oss_model_mirror_port/_netloc) and read
by both sides: olah's own config on the mirror host and model_weights' default URL on the replicas. Evaluated by
Ansible itself from the roles' real defaults, for settings made in the mirror's host vars or for everyone; a
setting under the old names is refused, naming the new one."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROBE = [{"ansible.builtin.debug": {"msg": {"netloc": "{{ gpt_oss_model_mirror_netloc }}",
                                            "url": "{{ model_weights_mirror_url }}"}}}]


def probe_role(tmp_path):
    """A role whose defaults are the two roles' real defaults: role-default precedence, as in a real run (play
    vars would override the inventory)."""
    role = tmp_path / "roles" / "mirror_probe"
    (role / "defaults").mkdir(parents=True)
    (role / "tasks").mkdir()
    defaults = {}
    for path in ("roles/gpt_oss/defaults/main.yml", "roles/model_weights/defaults/main.yml"):
        defaults.update(yaml.safe_load((ROOT / path).read_text()))
    (role / "defaults" / "main.yml").write_text(yaml.safe_dump(defaults))
    (role / "tasks" / "main.yml").write_text(yaml.safe_dump(PROBE))
    return [{"hosts": "all", "gather_facts": False, "roles": [str(role)]}]


def evaluate(tmp_path, mirror_vars, everyone=None):
    hosts = {"all": {"vars": dict({"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                                  **(everyone or {})),
                     "children": {"model_mirror": {"hosts": {"mirror-1": dict({"ansible_host": "10.0.0.5"},
                                                                               **mirror_vars)}},
                                  "gpt_oss_servers": {"hosts": {"replica-1": {"ansible_host": "10.0.0.9"}}}}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(hosts))
    (tmp_path / "play.yml").write_text(yaml.safe_dump(probe_role(tmp_path)))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    result = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i",
                             str(tmp_path / "hosts.yml"), str(tmp_path / "play.yml")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    return {host: outcome["msg"] for host, outcome in json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"].items()}


@pytest.mark.parametrize("mirror_vars, everyone, netloc", [
    ({}, {}, "10.0.0.5:8090"),
    ({"gpt_oss_model_mirror_port": 9000}, {}, "10.0.0.5:9000"),
    ({"gpt_oss_model_mirror_netloc": "mirror.lab:8443"}, {}, "mirror.lab:8443"),
    ({}, {"gpt_oss_model_mirror_netloc": "mirror.lab:8443"}, "mirror.lab:8443"),
])
def test_the_mirror_and_the_replicas_agree(tmp_path, mirror_vars, everyone, netloc):
    seen = evaluate(tmp_path, mirror_vars, everyone)
    assert seen["mirror-1"]["netloc"] == netloc  # what olah listens on / writes into its redirects
    assert seen["replica-1"]["url"] == "http://" + netloc  # where model_weights fetches from


def test_a_setting_under_its_old_name_is_refused():
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    result = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible"), "localhost", "-m",
                             "ansible.builtin.include_role", "-a", "name=gpt_oss", "-e", "model_mirror_port=9000"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "model_mirror_port is now gpt_oss_model_mirror_port" in result.stdout + result.stderr
