"""Reconcile: which replica files on a host the record no longer wants (module_utils/replica_units.py)."""
import pytest

from ansible.module_utils.replica_units import replica_files, stale_replicas, units_needing_reload, units_running
from ansible.module_utils.serving_planner import PlanError, build_serving_plan

# what /etc/systemd/system and /etc/gpt-oss hold on a host that served four replicas and a mirror, with a firewall
UNITS = ["gpt-oss-0.service", "gpt-oss-1.service", "gpt-oss-2.service", "gpt-oss-3.service", "gpt-oss-10.service",
         "gpt-oss-firewall.service", "gpt-oss-mirror.service", "multi-user.target.wants", "ssh.service",
         "gpt-oss-1.service.d", "gpt-oss-x.service"]
ENVS = ["gpt-oss-0.env", "gpt-oss-1.env", "gpt-oss-2.env", "gpt-oss-3.env", "firewall.nft", "gpt-oss-9.env"]


def test_only_replica_names_are_found():
    found = replica_files(UNITS, ENVS)
    assert sorted(found) == ["gpt-oss-0", "gpt-oss-1", "gpt-oss-10", "gpt-oss-2", "gpt-oss-3", "gpt-oss-9"]
    assert found["gpt-oss-2"] == ["unit", "env"]
    assert found["gpt-oss-9"] == ["env"]  # an env file whose unit is gone still holds a key: it goes too


def test_four_replicas_becoming_two_leave_the_others_stale_in_number_order():
    found = replica_files(UNITS, ENVS)
    assert stale_replicas(found, ["gpt-oss-0", "gpt-oss-1"]) == ["gpt-oss-2", "gpt-oss-3", "gpt-oss-9", "gpt-oss-10"]
    assert stale_replicas(found, sorted(found)) == []


def test_keep_must_name_replicas():
    with pytest.raises(ValueError, match="gpt-oss-firewall"):
        stale_replicas({}, ["gpt-oss-firewall"])


def _cpu_plan(**overrides):
    return build_serving_plan({"devices": []}, engine="llamacpp", allow_cpu=True, host="box", port=8000,
                              overrides=overrides, cpu_count=16, host_memory_mib=65536)


def test_cpu_replicas_split_the_cores_on_consecutive_ports():
    plan = _cpu_plan(cpu_replicas=4)
    assert [(r["name"], r["port"]) for r in plan["replicas"]] == [
        ("gpt-oss-0", 8000), ("gpt-oss-1", 8001), ("gpt-oss-2", 8002), ("gpt-oss-3", 8003)]
    for replica in plan["replicas"]:
        argv = replica["argv"]
        assert argv[argv.index("--threads") + 1] == "4"
        assert argv[argv.index("--port") + 1] == str(replica["port"])
    assert len(_cpu_plan()["replicas"]) == 1


def test_cpu_replicas_are_refused_where_they_would_be_ignored_or_copy_the_weights():
    with pytest.raises(PlanError, match="cpu_replicas is for CPU plans"):
        build_serving_plan({"devices": [{"vendor": "nvidia", "name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559,
                                         "compute_capability": "9.0", "index": 0}]},
                           host="gpu", overrides={"cpu_replicas": 2})
    with pytest.raises(PlanError, match="vLLM's CPU build holds its own copy"):
        build_serving_plan({"devices": []}, engine="vllm", allow_cpu=True, host="box", overrides={"cpu_replicas": 2})


def test_units_needing_reload_read_from_systemctl_show():
    # captured from `systemctl show -p Id -p NeedDaemonReload gpt-oss-0.service gpt-oss-9.service` on a Debian 12
    # lab host after gpt-oss-0.service was edited on disk (systemd 252)
    show = "Id=gpt-oss-0.service\nNeedDaemonReload=yes\n\nId=gpt-oss-9.service\nNeedDaemonReload=no\n"
    assert units_needing_reload(show) == ["gpt-oss-0.service"]
    assert units_needing_reload(show.replace("=yes", "=no")) == []
    assert units_needing_reload("") == []


def test_units_running_needs_active_enabled_and_loaded():
    # the blocks `systemctl show -p Id -p NeedDaemonReload -p ActiveState -p UnitFileState` prints (captured on a
    # converged lab host, then one property changed per unit)
    show = ("Id=gpt-oss-0.service\nNeedDaemonReload=no\nActiveState=active\nUnitFileState=enabled\n\n"
            "Id=gpt-oss-1.service\nNeedDaemonReload=yes\nActiveState=active\nUnitFileState=enabled\n\n"
            "Id=gpt-oss-2.service\nNeedDaemonReload=no\nActiveState=failed\nUnitFileState=enabled\n\n"
            "Id=gpt-oss-3.service\nNeedDaemonReload=no\nActiveState=active\nUnitFileState=disabled\n\n"
            "Id=gpt-oss-4.service\nNeedDaemonReload=no\nActiveState=activating\nUnitFileState=enabled\n")
    assert units_running(show) == ["gpt-oss-0.service"]
    assert units_running("") == []
