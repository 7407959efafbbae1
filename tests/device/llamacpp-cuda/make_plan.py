#!/usr/bin/env python3
"""Run HERE (the controller side, not on the device): ask the project's own planner for the llama.cpp plan of the
H200 fixture and write what run.sh needs, so the device (no Ansible, no PyYAML guaranteed) uses the planner's
values verbatim.

    PYTHONPATH=.devicecheck/shim:tests/unit python3 .devicecheck/make_plan.py

Writes .devicecheck/plan-h200-llamacpp.json (the whole plan), cmake-args.txt, server-argv.txt and build-env.txt
(one item per line).
"""
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE / "shim"), str(ROOT / "tests" / "unit")]

from ansible.module_utils.serving_planner import build_serving_plan  # noqa: E402
from fixture_loader import load_facts  # noqa: E402

# gpt_oss_engine: llamacpp on the H200 fixture (tests/fixtures/gpus/h200); everything else the planner's defaults
# (gpt_oss_llamacpp_artifact auto -> a source build for a GPU plan). No distribution is given: it only enters the
# build id and the distribution check, not the CMake options.
plan = build_serving_plan(load_facts("h200"), host="h200", engine="llamacpp")
assert plan["engine"] == "llamacpp" and plan["backend"] == "cuda", (plan["engine"], plan["backend"])
assert plan["build"]["artifact"] == "source", plan["build"]["artifact"]
(HERE / "plan-h200-llamacpp.json").write_text(json.dumps(plan, indent=1, sort_keys=True) + "\n")
(HERE / "cmake-args.txt").write_text("\n".join(plan["build"]["cmake_args"]) + "\n")
(HERE / "server-argv.txt").write_text("\n".join(plan["replicas"][0]["argv"]) + "\n")
(HERE / "build-env.txt").write_text("".join("%s=%s\n" % kv for kv in sorted(plan["build"]["build_env"].items())))
print("cmake args :", " ".join(plan["build"]["cmake_args"]))
print("build env  :", plan["build"]["build_env"])
print("replica    :", plan["replicas"][0]["name"], plan["replicas"][0]["env"])
print("argv       :", " ".join(plan["replicas"][0]["argv"]))
print("gate       :", json.dumps(plan["build"]["gate"], sort_keys=True))
