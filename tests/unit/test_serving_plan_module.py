"""The real serving_plan module through ansible (not a mock): with read_host it reads the host's group database
and the engine Python's version itself, in the planning round trip (the getent and command tasks it replaced)."""
import grp

from fixture_loader import replay_options
from module_runner import run_module

def run(module, args):
    host = run_module(module, args)
    assert not host.get("failed"), host.get("msg")
    return host


def gpu_facts(fixture):
    options = {k: v for k, v in replay_options(fixture).items() if v is not None}
    return run("gpu_facts", options)["ansible_facts"]["gpu"]


def test_read_host_takes_the_group_database_and_the_engine_python(tmp_path):
    gpu = gpu_facts("h200")
    old_python = tmp_path / "python3"
    old_python.write_text("#!/bin/sh\necho 3.8.10\n")
    old_python.chmod(0o755)
    common = {"gpu": gpu, "engine": "vllm", "vllm_version": "0.32.0", "distribution": "Ubuntu",
              "distribution_version": "24.04"}
    read = run("serving_plan", dict(common, read_host=True, python_path=str(old_python)))["plan"]
    given = run("serving_plan", dict(common, host_groups=[g.gr_name for g in grp.getgrall()],
                                           host_python="3.8.10"))["plan"]
    without = run("serving_plan", dict(common, host_groups=[]))["plan"]
    # the groups read on the host are the ones `getent group` lists: the same unit as when they are passed in,
    # and a different one from a host without them (a CUDA unit wants video and render; the NVIDIA driver stack
    # creates neither, so only the host's own count)
    host_has = {g.gr_name for g in grp.getgrall()} & {"video", "render"}
    assert host_has, "this test needs a host with a video or render group (Debian and Ubuntu have video)"
    assert read["unit"] == given["unit"]
    assert set(read["unit"]["groups"]) == host_has and without["unit"]["groups"] == []
    # the interpreter's own answer decides the venv's Python: 3.8 is refused by the release -> uv-managed CPython
    assert read["build"]["python"] == given["build"]["python"]
    assert read["build"]["python"]["source"] == "uv" and "3.8.10" in read["build"]["python"]["reason"]
    # an interpreter that is not there leaves the version unknown instead of failing the plan
    missing = run("serving_plan", dict(common, read_host=True, python_path=str(tmp_path / "nope")))["plan"]
    assert "(unknown)" in missing["build"]["python"]["reason"]
