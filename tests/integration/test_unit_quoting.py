"""Values that reach the replica's unit and environment file arrive byte for byte, read by real systemd.

The real templates (replica.service.j2, replica.env.j2) are rendered with hostile values - an API key holding
" \\ $ ` # ' %, arguments holding ${LLAMA_API_KEY}, $HOME, %h, quotes and spaces - and installed as a unit in the
systemd container; the unit runs a probe that records the argv and the key it was started with. Without the
escapes, systemd expands ${LLAMA_API_KEY} into the process list, %h into a home directory, and its environment-file
parser drops backslashes and quotes from the key (the server then rejects its own key).
"""
import json
import pathlib

import jinja2
from ansible.module_utils.serving_planner import build_serving_plan

from lab_host import ROOT, docker
from test_unit_sandbox import render

ENV_TEMPLATE = ROOT / "roles/inference_server/templates/replica.env.j2"
KEY = "k\"ey\\with$dollar`tick#hash'quote%pct${HOME}-0123456789"
ARGS = ["${LLAMA_API_KEY}", "$HOME", "%h", "%%", 'say "hi"', "back\\slash", "semi;colon", "spaces in one argument",
        "--flag=$(id)"]
PROBE = ("import json, os, sys; json.dump({'argv': sys.argv[1:], 'key': os.environ.get('LLAMA_API_KEY')}, "
         "open(os.environ['HOME'] + '/probe.json', 'w'))")


def render_env(plan, replica):
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True)
    environment.filters["combine"] = lambda a, b: dict(a, **b)
    return environment.from_string(ENV_TEMPLATE.read_text()).render(
        ansible_managed="test", replica=replica, gpt_oss_plan=plan, gpt_oss_service_user="gpt-oss-probe",
        gpt_oss_state_dir="/var/lib/gpt-oss-quoting", gpt_oss_hf_home="/var/lib/gpt-oss-quoting/hf",
        gpt_oss_api_key=KEY)


def test_systemd_reads_back_every_argument_and_the_key(lab_host, tmp_path):
    plan = build_serving_plan({"devices": []}, allow_cpu=True)
    replica = dict(plan["replicas"][0], name="gpt-oss-quoting-probe", argv=["/usr/bin/python3", "-c", PROBE] + ARGS)
    unit = render(dict(plan, replicas=[replica])).replace("/var/lib/gpt-oss", "/var/lib/gpt-oss-quoting") \
        .replace("/etc/gpt-oss/", "/etc/gpt-oss-quoting/").replace("=gpt-oss\n", "=gpt-oss-probe\n")
    (tmp_path / "unit").write_text(unit)
    (tmp_path / "env").write_text(render_env(plan, replica))
    setup = ("useradd --system --user-group gpt-oss-probe && mkdir -p /etc/gpt-oss-quoting /var/lib/gpt-oss-quoting/hf "
             "&& chown gpt-oss-probe: /var/lib/gpt-oss-quoting && systemctl daemon-reload "
             "&& systemctl start gpt-oss-quoting-probe.service && for i in $(seq 50); do "
             "[ -s /var/lib/gpt-oss-quoting/probe.json ] && break; sleep 0.2; done; cat /var/lib/gpt-oss-quoting/probe.json")
    docker("cp", str(tmp_path / "unit"), "%s:/etc/systemd/system/gpt-oss-quoting-probe.service" % lab_host)
    docker("exec", lab_host, "mkdir", "-p", "/etc/gpt-oss-quoting")
    docker("cp", str(tmp_path / "env"), "%s:/etc/gpt-oss-quoting/gpt-oss-quoting-probe.env" % lab_host)
    try:
        result = docker("exec", lab_host, "bash", "-c", setup, check=False)
        journal = docker("exec", lab_host, "journalctl", "--no-pager", "-u", "gpt-oss-quoting-probe", check=False).stdout
        assert result.returncode == 0, result.stdout + result.stderr + journal
        seen = json.loads(result.stdout)
        pathlib.Path(tmp_path / "seen.json").write_text(json.dumps(seen, indent=1))
        assert seen["argv"] == ARGS
        assert seen["key"] == KEY
    finally:
        docker("exec", lab_host, "bash", "-c", "systemctl stop gpt-oss-quoting-probe.service; rm -rf "
               "/etc/systemd/system/gpt-oss-quoting-probe.service /etc/gpt-oss-quoting /var/lib/gpt-oss-quoting; "
               "userdel gpt-oss-probe; systemctl daemon-reload", check=False)
