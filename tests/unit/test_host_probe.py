"""host_probe (the preflight's and the server role's one read of a host) and the planning modules' in-process
action plugins, through `ansible localhost -m` as a play runs them: the real argument specs, the real os.stat, group
database, dpkg and systemctl of this machine (not mocks). Which side computed a result is proven by taking the host's
Python away (NO_PYTHON): a module run there then fails, a result computed on the controller does not."""
import grp
import os
import pwd

from fixture_loader import replay_options
from module_runner import run_module

from ansible.module_utils.host_probe import package_states, systemctl_show, unit_states

NO_PYTHON = "/nonexistent/python3"


def test_probe_reads_paths_groups_python_and_packages_as_the_host_has_them(tmp_path):
    owned = tmp_path / "state"
    owned.mkdir()
    owned.chmod(0o750)
    old_python = tmp_path / "python3"
    old_python.write_text("#!/bin/sh\necho 3.8.10\n")
    old_python.chmod(0o755)
    read = run_module("host_probe", {"paths": [str(owned), str(tmp_path / "absent")], "groups": True,
                                     "python_path": str(old_python), "packages": ["dpkg", "no-such-package-xyz"]})
    assert not read.get("failed"), read.get("msg")
    info = os.stat(owned)
    assert read["paths"][str(owned)] == {"uid": info.st_uid, "gid": info.st_gid,
                                         "user": pwd.getpwuid(info.st_uid).pw_name,
                                         "group": grp.getgrgid(info.st_gid).gr_name, "st_mode": info.st_mode,
                                         "size": info.st_size, "mtime": int(info.st_mtime)}
    assert read["paths"][str(tmp_path / "absent")] is None
    assert read["groups"] == sorted({g.gr_name for g in grp.getgrall()})
    assert read["python_version"] == "3.8.10"
    assert read["packages"] == {"dpkg": True, "no-such-package-xyz": False}
    users = run_module("host_probe", {"users": ["root", "no-such-user-xyz"]})["users"]
    root = pwd.getpwnam("root")
    assert users["no-such-user-xyz"] is None
    assert users["root"] == {"uid": 0, "gid": root.pw_gid, "group": grp.getgrgid(root.pw_gid).gr_name,
                             "comment": root.pw_gecos, "home": root.pw_dir, "shell": root.pw_shell,
                             "groups": sorted({grp.getgrgid(root.pw_gid).gr_name}
                                              | {g.gr_name for g in grp.getgrall() if "root" in g.gr_mem})}
    missing = run_module("host_probe", {"python_path": str(tmp_path / "nope")})
    assert missing["python_version"] is None and missing["groups"] is None


def test_probe_units_unreadable_is_none_never_all_fine():
    # this controller has no systemd as PID 1: systemctl fails, and the caller must start and reload, not skip
    read = run_module("host_probe", {"units": ["gpt-oss-firewall.service"]})
    assert not read.get("failed"), read.get("msg")
    if not os.path.isdir("/run/systemd/system"):
        assert read["units"] is None


def test_package_states_unknown_when_dpkg_cannot_read_its_database():
    class Broken:
        returncode, stdout = 2, ""

    # dpkg-query exits 2 on a database it cannot read: unknown (apt then runs and says why), never "not installed"
    # for some and "installed" for others
    assert package_states(["nftables"], run=lambda *a, **k: Broken) is None


def test_unit_states_from_systemctl_show_as_a_lab_host_printed_it():
    # captured: `systemctl show -p Id -p NeedDaemonReload -p ActiveState -p UnitFileState gpt-oss-0.service
    # gpt-oss-9.service` on a converged lab container (gpt-oss-9 has no unit file)
    captured = ("Id=gpt-oss-0.service\nActiveState=active\nUnitFileState=enabled\nNeedDaemonReload=no\n\n"
                "Id=gpt-oss-9.service\nActiveState=inactive\nUnitFileState=\nNeedDaemonReload=no\n")

    class Done:
        returncode, stdout = 0, captured

    states = unit_states(["gpt-oss-0.service", "gpt-oss-9.service"], run=lambda *a, **k: Done)
    assert states["gpt-oss-0.service"] == {"ActiveState": "active", "UnitFileState": "enabled",
                                           "NeedDaemonReload": "no"}
    assert states["gpt-oss-9.service"]["UnitFileState"] == ""
    # a unit systemctl did not print is not guessed: the whole answer is unknown
    assert unit_states(["gpt-oss-0.service", "gpt-oss-7.service"], run=lambda *a, **k: Done) is None
    assert systemctl_show("") == {}


def test_owned_dirs_judged_on_the_controller_from_the_probe_as_on_the_host(tmp_path):
    taken = tmp_path / "state"  # an existing directory the toolkit did not make: root's, 0755
    taken.mkdir()
    taken.chmod(0o755)
    args = {"values": {}, "specs": {}, "owned_dirs": {"gpt_oss_state_dir": str(taken)}, "host_name": "box-1"}
    on_host = run_module("fleet_inputs", args)
    probe = run_module("host_probe", {"paths": [str(taken)]})
    here = run_module("fleet_inputs", dict(args, dir_stats=probe["paths"]), host_python=NO_PYTHON)
    assert "interpreter" in run_module("fleet_inputs", args, host_python=NO_PYTHON)["msg"]  # needs the host
    assert on_host["failed"] and here["failed"]
    assert here["msg"] == on_host["msg"] and "gpt_oss_state_dir" in here["msg"]
    # a path the probe did not read is refused, never taken as absent
    unread = run_module("fleet_inputs", dict(args, dir_stats={}), host_python=NO_PYTHON)
    assert unread["failed"] and "dir_stats has no record of %s" % taken in unread["msg"]
    # a directory with the wanted owner, group and mode passes both ways (a host converged before)
    ours = tmp_path / "root"
    ours.mkdir()
    ours.chmod(0o755)
    args = dict(args, owned_dirs={"gpt_oss_root": str(ours)}) if os.geteuid() == 0 else args
    if os.geteuid() == 0:
        assert not run_module("fleet_inputs", args).get("failed")
        assert not run_module("fleet_inputs", dict(args, dir_stats=run_module(
            "host_probe", {"paths": [str(ours)]})["paths"]), host_python=NO_PYTHON).get("failed")


def test_gpu_driver_plan_reads_the_host_only_for_a_kernel_module_build():
    common = {"os_id": "Ubuntu", "os_version": "24.04", "kernel_release": "6.8.0-45-generic"}
    cpu = run_module("gpu_driver_plan", dict(common, driver={"stack": "none"}), host_python=NO_PYTHON)
    assert not cpu.get("failed"), cpu.get("msg")
    assert cpu["install"]["stack"] == "none"
    # the driver record the planner makes for a captured H200 host (fixture replay, not a typed dict)
    gpu = run_module("gpu_facts", {k: v for k, v in replay_options("h200").items() if v is not None})
    hopper = run_module("serving_plan", {"gpu": gpu["ansible_facts"]["gpu"], "engine": "vllm", "vllm_version": "0.32.0",
                                         "host_groups": [], "host_python": "3.12.3", "distribution": "Ubuntu",
                                         "distribution_version": "24.04"})["plan"]["driver"]
    dkms = run_module("gpu_driver_plan", dict(common, driver=hopper))
    assert not dkms.get("failed"), dkms.get("msg")
    assert dkms["install"]["dkms"], dkms["install"]
    # in a container or not is the host's to say: without a Python there the plan cannot be made
    assert run_module("gpu_driver_plan", dict(common, driver=hopper), host_python=NO_PYTHON)["failed"]
    told = run_module("gpu_driver_plan", dict(common, driver=hopper, in_container=True), host_python=NO_PYTHON)
    assert not told.get("failed"), told.get("msg")
    assert "linux-headers-6.8.0-45-generic" not in told["install"]["packages"]
    outside = run_module("gpu_driver_plan", dict(common, driver=hopper, in_container=False), host_python=NO_PYTHON)
    assert "linux-headers-6.8.0-45-generic" in outside["install"]["packages"]


def test_bad_arguments_fail_in_process_as_ansible_module_words_them():
    bad = run_module("serving_plan", {"gpu": {"devices": []}, "bogus": 1})
    assert bad["failed"] and bad["msg"].startswith("Unsupported parameters for (serving_plan) module: bogus")
    wrong = run_module("serving_plan", {"gpu": {"devices": []}, "port": "eighty"})
    assert wrong["failed"] and "argument 'port' is of type str" in wrong["msg"]
    secret = "s3cr3t-value-never-echoed"
    masked = run_module("fleet_inputs", {"values": {}, "specs": {}, "host_name": "h", "sensitive": {"k": secret},
                                         "bogus": secret})
    assert masked["failed"] and secret not in str(masked)


def test_serving_plan_computed_on_the_controller_when_the_host_reads_are_given():
    args = {"gpu": {"devices": []}, "allow_cpu": True, "host_groups": [], "host_python": "3.11.2"}
    here = run_module("serving_plan", args, host_python=NO_PYTHON)
    assert not here.get("failed"), here.get("msg")
    assert here["plan"] == run_module("serving_plan", dict(args, read_host=True))["plan"]
    # read_host with something left to read needs the host
    assert run_module("serving_plan", dict(args, read_host=True, host_python=None),
                      host_python=NO_PYTHON)["failed"]


def test_a_plan_computed_on_the_controller_warns_as_the_module_did():
    # a captured H100 with MIG on: the planner leaves it out with a warning, which must reach the output
    gpu = run_module("gpu_facts", {k: v for k, v in replay_options("h100-mig").items() if v is not None})
    args = {"gpu": gpu["ansible_facts"]["gpu"], "engine": "vllm", "vllm_version": "0.32.0", "allow_cpu": True,
            "host_groups": [], "host_python": "3.12.3"}
    here = run_module("serving_plan", args, host_python=NO_PYTHON)
    on_host = run_module("serving_plan", dict(args, read_host=True, host_python=None))
    assert not here.get("failed") and not on_host.get("failed"), (here.get("msg"), on_host.get("msg"))
    assert any("MIG" in str(w) for w in on_host.get("warnings", [])), on_host.get("warnings")
    assert [str(w) for w in here.get("warnings", [])] == [str(w) for w in on_host.get("warnings", [])]
