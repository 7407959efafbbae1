"""The replica unit and environment file come from the plan's `unit` record (issue #16), with the same result as
before: the current templates and the templates from before the change (tests/fixtures/unit-templates-before-16)
are rendered by Ansible (the template lookup: the template module's engine, trim_blocks and ansible_managed) for
plans of real hosts (CPU, CUDA, ROCm, Vulkan); both must give the same unit and environment file, and every unit
must pass the real `systemd-analyze verify` without a warning.

Groups: before the change the unit and the service user took video/render as `getent group` saw them in the
runtime role, after gpu_driver (which creates video and render for ROCm and Vulkan stacks); now preflight passes
the groups it sees to the planner. Each case names both states of the host, so the comparison covers a group
that only the driver role creates.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from ansible.module_utils.serving_planner import ENGINES, PlanError, build_serving_plan
from ansible.module_utils.unit_profiles import BACKEND_SANDBOX, ENGINE_PROFILES

from fixture_loader import FIXTURE_NAMES, load_facts

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "roles/inference_server/templates"
BEFORE = ROOT / "tests/fixtures/unit-templates-before-16"
OTHER = ["root", "adm", "systemd-journal", "gpt-oss"]  # groups every host has, unrelated to devices

# name: (plan arguments, groups when preflight runs (None: not told), groups when the runtime role ran before)
CASES = {
    "llamacpp-cpu": (dict(gpus={"devices": []}, allow_cpu=True), OTHER + ["video"], OTHER + ["video"]),
    "vllm-cpu": (dict(gpus={"devices": []}, engine="vllm", allow_cpu=True, vllm_version="0.32.0"),
                 OTHER + ["video", "render"], OTHER + ["video", "render"]),
    "vllm-cuda-h200": (dict(fixture="h200"), OTHER + ["video", "render"], OTHER + ["video", "render"]),
    # the NVIDIA driver creates no group: a host without render keeps only video
    "llamacpp-cuda-l4": (dict(fixture="l4", engine="llamacpp"), OTHER + ["video"], OTHER + ["video"]),
    "vllm-cuda-no-device-groups": (dict(fixture="h200"), OTHER, OTHER),
    "vllm-cuda-not-told": (dict(fixture="h200"), None, OTHER + ["video", "render"]),
    "vllm-rocm-mi300x": (dict(fixture="mi300x-8x-azure", rocm_variant="rocm700"), OTHER + ["video", "render"],
                         OTHER + ["video", "render"]),
    # a Debian host without render (like a bare bookworm): the ROCm driver role creates it before the runtime role
    "llamacpp-rocm-mi300x": (dict(fixture="mi300x-8x-azure"), OTHER + ["video"], OTHER + ["video", "render"]),
    "llamacpp-vulkan-rx6800": (dict(fixture="rx6800"), OTHER, OTHER + ["video", "render"]),
    "llamacpp-vulkan-arc": (dict(fixture="intel-arc-a770"), OTHER + ["video", "render"], OTHER + ["video", "render"]),
}
SETTINGS = {"gpt_oss_service_user": "gpt-oss", "gpt_oss_config_dir": "/etc/gpt-oss",
            "gpt_oss_state_dir": "/var/lib/gpt-oss", "gpt_oss_hf_home": "/var/lib/gpt-oss/hf",
            "inference_server_timeout_start_sec": 900, "gpt_oss_api_key": "unit-profile-test-key-0123456789"}
RENDERINGS = {"before.service": BEFORE / "replica.service.j2", "gpt-oss-0.service": TEMPLATES / "replica.service.j2",
              "before.env": BEFORE / "replica.env.j2", "after.env": TEMPLATES / "replica.env.j2"}


def make_plan(arguments, host_groups, venv):
    arguments = dict(arguments)
    fixture = arguments.pop("fixture", None)
    gpus = arguments.pop("gpus", None) if fixture is None else load_facts(fixture)
    return build_serving_plan(gpus, venv_path=venv, host_groups=host_groups, **arguments)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Every case rendered by Ansible's templating (the template lookup: the engine, trim_blocks and ansible_managed
    of the template module) in one `ansible-playbook` run. The old template read ansible_facts.getent_group: each
    case hands it the groups of the host as the runtime role saw them."""
    work = tmp_path_factory.mktemp("unit-profiles")
    venv = work / "venv"  # ExecStart must name an executable for systemd-analyze verify
    (venv / "bin").mkdir(parents=True)
    for name in ("python", "llama-server"):
        (venv / "bin" / name).write_text("#!/bin/sh\n")
        (venv / "bin" / name).chmod(0o755)
    plans = {name: make_plan(arguments, preflight_groups, str(venv))
             for name, (arguments, preflight_groups, _) in CASES.items()}
    cases = [{"name": name, "plan": plans[name], "getent_group": {group: [] for group in runtime_groups}}
             for name, (_, _, runtime_groups) in CASES.items()]
    # the old templates read the record under its old name (preflight_plan)
    template_vars = "{'gpt_oss_plan': case.plan, 'preflight_plan': case.plan, 'replica': case.plan.replicas[0], " \
                    "'ansible_facts': {'getent_group': case.getent_group}}"
    (work / "render.yml").write_text(yaml.safe_dump([{
        "name": "Render the replica templates", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Render", "ansible.builtin.debug": {"msg": {
            kind: "{{ lookup('ansible.builtin.template', '%s', template_vars=%s) }}" % (path, template_vars)
            for kind, path in RENDERINGS.items()}},
            "loop": "{{ cases }}", "loop_control": {"loop_var": "case", "label": "{{ case.name }}"}}]}],
        sort_keys=False))
    (work / "vars.json").write_text(json.dumps(dict(SETTINGS, cases=cases)))
    (work / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(work / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    result = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                             "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable,
                             "-e", "@%s" % (work / "vars.json"), "render.yml"],
                            cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    results = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["results"]
    out = {}
    for item in results:
        name = item["case"]["name"]
        (work / name).mkdir()
        for kind, text in item["msg"].items():
            (work / name / kind).write_text(text)
        out[name] = dict(item["msg"], plan=plans[name], dir=work / name)
    assert sorted(out) == sorted(CASES)
    return out


def sandbox_lines(unit):
    """The unit's directives without comments; an empty SupplementaryGroups= (the old template's way of saying
    none: an empty assignment resets the list to nothing) counts as no line, which is how the new one says it."""
    return [line for line in unit.splitlines()
            if line and not line.startswith("#") and line != "SupplementaryGroups="]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("name", sorted(CASES))
def test_unit_passes_systemd_analyze_verify(rendered, name):
    unit = rendered[name]["dir"] / "gpt-oss-0.service"
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # systemd only warns (and ignores the line) for an unknown key, bad device rights or address family
    assert result.stdout + result.stderr == "", result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_unit_is_what_the_template_before_the_change_rendered(rendered, name):
    before, after = rendered[name]["before.service"], rendered[name]["gpt-oss-0.service"]
    assert sandbox_lines(after) == sandbox_lines(before)
    if "SupplementaryGroups=" not in before.splitlines():
        assert after == before  # byte for byte whenever the old unit had no empty assignment


@pytest.mark.parametrize("name", sorted(CASES))
def test_environment_file_is_byte_for_byte_the_same(rendered, name):
    assert rendered[name]["after.env"] == rendered[name]["before.env"]


def test_cases_cover_every_backend_and_engine(rendered):
    seen = {(case["plan"]["engine"], case["plan"]["backend"]) for case in rendered.values()}
    assert {backend for _, backend in seen} == {"cpu", "cuda", "rocm", "vulkan"}
    assert {engine for engine, _ in seen} == {"vllm", "llamacpp"}
    units = {name: case["gpt-oss-0.service"].splitlines() for name, case in rendered.items()}
    assert "PrivateDevices=yes" in units["llamacpp-cpu"] and "DevicePolicy=closed" not in units["llamacpp-cpu"]
    assert "DeviceAllow=/dev/nvidiactl rw" in units["vllm-cuda-h200"]
    assert "DeviceAllow=/dev/kfd rw" in units["vllm-rocm-mi300x"]
    assert "SupplementaryGroups=video" in units["llamacpp-cuda-l4"]
    assert "SupplementaryGroups=video render" in units["llamacpp-vulkan-rx6800"]  # gpu_driver creates both
    assert not any(line.startswith("SupplementaryGroups") for line in units["vllm-cuda-no-device-groups"])


@pytest.mark.parametrize("fixture", FIXTURE_NAMES)
def test_every_fixture_plan_has_a_unit_record_consistent_with_its_build(fixture):
    try:
        plan = build_serving_plan(load_facts(fixture), allow_cpu=True, rocm_variant="rocm700")
    except PlanError as error:  # a fixture the planner refuses is covered by the planner's own tests
        pytest.skip(str(error))
    unit = plan["unit"]
    assert unit["memory_deny_write_execute"] is (not plan["build"]["write_execute"])
    assert unit["private_devices"] is (plan["backend"] == "cpu")
    assert bool(unit["device_allow"]) is (plan["backend"] != "cpu")
    assert ("AF_NETLINK" in unit["address_families"]) is (plan["engine"] == "vllm")
    assert unit["api_key_env"] == {"vllm": "VLLM_API_KEY", "llamacpp": "LLAMA_API_KEY"}[plan["engine"]]


def test_groups_are_those_the_host_has_or_its_driver_stack_creates():
    h200, mi300x = load_facts("h200"), load_facts("mi300x-8x-azure")
    assert build_serving_plan(h200)["unit"]["groups"] == ["video", "render"]  # not told: all wanted
    assert build_serving_plan(h200, host_groups=["render", "adm"])["unit"]["groups"] == ["render"]
    assert build_serving_plan(h200, host_groups=[])["unit"]["groups"] == []
    assert build_serving_plan(mi300x, host_groups=[])["unit"]["groups"] == ["video", "render"]
    assert build_serving_plan({"devices": []}, allow_cpu=True, host_groups=["video"])["unit"]["groups"] == []


def test_tables_cover_the_planner_and_hold_only_what_systemd_and_env_files_take():
    assert set(ENGINE_PROFILES) == set(ENGINES) - {"auto"}
    assert set(BACKEND_SANDBOX) == {"cuda", "rocm", "vulkan", "cpu"}
    for backend, sandbox in BACKEND_SANDBOX.items():
        assert sandbox["private_devices"] is not bool(sandbox["device_allow"]), backend
        for entry in sandbox["device_allow"]:
            assert re.fullmatch(r"(/dev/[A-Za-z0-9_/-]+|char-[a-z0-9_-]+) [rwm]+", entry), entry
    for engine, profile in ENGINE_PROFILES.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", profile["api_key_env"]), engine
        assert all(re.fullmatch(r"AF_[A-Z0-9]+", family) for family in profile["address_families"]), engine
        for key, value in list(profile["engine_env"].items()) + list(profile["state_env"].items()):
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", key), key
            assert re.fullmatch(r"[A-Za-z0-9._/-]+", value) and not value.startswith("/"), (key, value)


def test_templates_and_service_user_do_not_branch_on_backend_or_engine():
    for path in (TEMPLATES / "replica.service.j2", TEMPLATES / "replica.env.j2",
                 ROOT / "roles/inference_runtime/tasks/service-user.yml"):
        text = path.read_text()
        assert not re.search(r"\{%[^%]*gpt_oss_plan\.(backend|engine)", text), path
        assert not re.search(r"if gpt_oss_plan\.(backend|engine)|getent_group", text), path
