"""Each role is data, then one task file per concern with its own tag (as dev-sec's os_hardening): read from
`ansible-playbook site.yml --list-tasks` (Ansible's own tag resolution), not from our YAML alone. Every task of a
role carries the role tag and at least one concern tag; the tasks carrying a concern tag are that file's tasks
(and the role's data tasks, which carry every concern tag of the role)."""
import os
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLE_TAGS = {"gpu_driver": "driver", "inference_runtime": "runtime", "model_weights": "weights",
             "inference_server": "server", "load_balancer": "gateway"}


@pytest.fixture(scope="module")
def listed(tmp_path_factory):
    work = tmp_path_factory.mktemp("concern-tags")
    hosts = {"all": {"children": {group: {"hosts": {"lab": {"ansible_connection": "local"}}}
                                  for group in ("gpt_oss_servers", "gateway", "monitoring")}}}
    (work / "hosts.yml").write_text(yaml.safe_dump(hosts))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    result = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i",
                             str(work / "hosts.yml"), "site.yml", "--list-tasks"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    tasks = []
    for line in result.stdout.splitlines():
        match = re.match(r"^\s{6}(\S+) : (.*)\tTAGS: \[(.*)\]$", line)
        if match:
            tasks.append((match.group(1), match.group(2), {t.strip() for t in match.group(3).split(",") if t.strip()}))
    return tasks


def task_names(tasks):
    for task in tasks or []:
        if "block" in task:  # --list-tasks lists a block's tasks, not its rescue or always sections
            yield from task_names(task["block"])
        elif "name" in task:
            yield task["name"]


def concern_files(role):
    """{tag: task names of the file imported with it} from the role's main.yml."""
    main = yaml.safe_load((ROOT / "roles" / role / "tasks" / "main.yml").read_text())
    files = {}
    for task in main:
        path = task.get("ansible.builtin.import_tasks")
        tags = task.get("tags") or []
        if path and len(tags) == 1:
            names = set(task_names(yaml.safe_load((ROOT / "roles" / role / "tasks" / path).read_text())))
            files[tags[0]] = {re.sub(r"\{\{.*?\}\}", "*", name) for name in names}
    return files


def matches(pattern, name):
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), name) is not None


@pytest.mark.parametrize("role", sorted(ROLE_TAGS))
def test_every_task_of_a_role_has_a_concern_tag(listed, role):
    prefix = ROLE_TAGS[role] + "_"
    own = [(name, tags) for task_role, name, tags in listed if task_role == role
           and not name.startswith("Validating arguments against arg spec")]
    assert own, "no task of %s listed" % role
    untagged = [name for name, tags in own if ROLE_TAGS[role] not in tags or not any(t.startswith(prefix) for t in tags)]
    assert untagged == [], "%s tasks without a %s* concern tag: %s" % (role, prefix, untagged)


@pytest.mark.parametrize("role", sorted(ROLE_TAGS))
def test_a_concern_tag_selects_its_file(listed, role):
    prefix = ROLE_TAGS[role] + "_"
    files = concern_files(role)
    if not files:
        pytest.skip("%s imports no concern file" % role)
    concerns = {t for _, _, tags in listed for t in tags if t.startswith(prefix)}
    for tag, names in files.items():
        tagged = [(name, tags) for task_role, name, tags in listed if task_role == role and tag in tags]
        only_this = {name for name, tags in tagged if {t for t in tags if t.startswith(prefix)} == {tag}}
        # the file's tasks are exactly the tasks carrying only this concern tag
        assert only_this and all(any(matches(p, name) for p in names) for name in only_this), (tag, only_this, names)
        assert all(any(matches(p, name) for name in only_this) for p in names), (tag, names, only_this)
        # whatever else the tag selects is the role's data, which every concern of the role needs
        shared = [name for name, tags in tagged if name not in only_this]
        assert all({t for t in tags if t.startswith(prefix)} == concerns for name, tags in tagged
                   if name in shared), (tag, shared)


@pytest.mark.parametrize("role", sorted(ROLE_TAGS))
def test_an_included_concern_file_carries_its_tag_to_its_tasks(role):
    """--list-tasks cannot see into a dynamic include: its tag must also be applied to the included tasks, or
    `--tags <concern>` would run the include and skip everything in it."""
    main = yaml.safe_load((ROOT / "roles" / role / "tasks" / "main.yml").read_text())
    includes = [task for task in main if isinstance(task.get("ansible.builtin.include_tasks"), (dict, str))]
    for task in includes:
        spec = task["ansible.builtin.include_tasks"]
        assert isinstance(spec, dict) and spec.get("apply", {}).get("tags") == task.get("tags"), (role, task["name"])
