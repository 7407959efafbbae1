"""Run the real gpu_facts module through ansible (not a mock): live on this GPU-less machine, and replayed."""
import pathlib

import pytest

import module_runner
from fixture_loader import FIXTURES, replay_options


def run_module(args):
    return module_runner.run_module("gpu_facts", args)


def test_live_on_a_machine_without_gpus():
    if pathlib.Path("/dev/nvidia0").exists() or pathlib.Path("/dev/kfd").exists():
        pytest.skip("this machine has a GPU")
    result = run_module({})
    assert not result.get("failed"), result
    assert result["ansible_facts"]["gpu"]["summary"]["count"] == 0
    assert result["changed"] is False


def test_replayed_fixture_returns_its_gpus():
    options = {k: v for k, v in replay_options("dgx-h100-8x-nvswitch").items() if v is not None}
    result = run_module(options)
    summary = result["ansible_facts"]["gpu"]["summary"]
    assert summary["count"] == 8 and summary["families"] == ["hopper"]


def test_replayed_sysfs_tree():
    result = run_module({"sysfs_root": str(FIXTURES / "mi300x-cpx-sysfs" / "sysfs")})
    assert result["ansible_facts"]["gpu"]["summary"]["compute_partitions"] == 16


def test_bad_sysfs_root_fails_with_the_option_name():
    result = run_module({"sysfs_root": "/nonexistent/sys"})
    assert result["failed"] and "sysfs_root" in result["msg"]
