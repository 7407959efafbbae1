"""Run one of the project's real modules through `ansible localhost -m` (its argument spec, check mode and JSON
result as Ansible delivers them, not a mock) and return the host's result."""
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE = pathlib.Path(sys.executable).parent / "ansible"


def run_module(module, args=None, host_python=None):
    """host_python: the interpreter the host runs modules with; a missing one fails every module run on the host,
    which proves a result was computed on the controller."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    argv = [str(ANSIBLE), "localhost", "-m", module] + (["-a", json.dumps(args)] if args else [])
    argv += ["-e", "ansible_python_interpreter=%s" % host_python] if host_python else []
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
