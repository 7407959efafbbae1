#!/usr/bin/env python3
"""Print the serving-plan table for captured hosts: tests/tools/plan_tables.py [FIXTURE ...] [--model M] [--vllm V]."""
import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "unit"))
import conftest  # noqa: E402,F401  (registers module_utils as ansible.module_utils)
from ansible.module_utils.serving_planner import PlanError, build_serving_plan, plan_table  # noqa: E402
from fixture_loader import FIXTURE_NAMES, load_facts  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("fixtures", nargs="*", default=FIXTURE_NAMES)
parser.add_argument("--model", default="openai/gpt-oss-20b")
parser.add_argument("--vllm", default="0.10.2")
parser.add_argument("--allow-cpu", action="store_true")
args = parser.parse_args()
for name in args.fixtures:
    facts = load_facts(name)
    try:
        plan = build_serving_plan(facts, model=args.model, vllm_version=args.vllm, host=name, allow_cpu=args.allow_cpu,
                                  hf_home="/var/lib/gpt-oss/hf")
        print("\n".join(plan_table(plan, facts)))
    except PlanError as error:
        print("host      : %s\nPLAN ERROR: %s" % (name, error))
    print()
