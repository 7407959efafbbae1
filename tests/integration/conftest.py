"""A throwaway Debian 12 systemd container (the same image and options as the Molecule platforms)."""
import os
import time

import pytest

from lab_host import CA, CACHE, IMAGE, docker


@pytest.fixture(scope="session")
def lab_host():
    if docker("info", check=False).returncode != 0:
        pytest.fail("no Docker engine: run tests/env/bootstrap.sh")
    name = os.environ.get("FLEET_LAB_HOST", "gpt-oss-guardrails")  # another name lets two sessions run at once
    docker("rm", "-f", name, check=False)
    docker("run", "-d", "--name", name, "--hostname", name, "--cap-add", "SYS_ADMIN", "--cgroupns=host",
           "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
           "-v", "%s/uv:/var/cache/gpt-oss/uv:rw" % CACHE, "-v", "%s:/etc/gpt-oss-test/ca.pem:ro" % CA,
           IMAGE, "/lib/systemd/systemd")
    for _ in range(60):
        state = docker("exec", name, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            break
        time.sleep(1)
    # a replayed Secure Boot machine: efivarfs's SecureBoot variable (4 attribute bytes, then 1 = enabled)
    docker("exec", name, "bash", "-c", "mkdir -p /etc/gpt-oss-test/efivars-secure-boot-on && printf '\\x06\\x00"
           "\\x00\\x00\\x01' > /etc/gpt-oss-test/efivars-secure-boot-on/SecureBoot-8be4df61-93ca-11d2-aa0d-"
           "00e098032b8c")
    # what a shared machine has: a data disk everyone uses, a team directory and a home directory of another user
    docker("exec", name, "bash", "-c", "useradd --create-home alice && mkdir -p /data /srv/team "
           "&& chown alice:alice /srv/team && chmod 2770 /srv/team && mkdir -p /home/alice/models")
    yield name
    docker("rm", "-f", name, check=False)


# Modules that stay whole in one shard, weighted in ordinary tests (a guardrail case, about 9 s): their tests share a
# module-scoped converge (test_tags_alone.py, about 240 s: split, each shard converged a host of its own) or a
# module fixture that starts their report afresh (split, each shard truncated the other's half).
KEEP_TOGETHER = {"test_tags_alone.py": 27, "test_weights.py": 15, "test_engine_resolve.py": 17,
                 "test_engine_gate.py": 6, "test_cli.py": 8}


def pytest_collection_modifyitems(config, items):
    """FLEET_TEST_SHARD=i/n splits the tests between n shards: tests/run-all.sh runs two at once, each with its own lab
    container (FLEET_LAB_HOST), so the guardrail cases' waits on Docker and Ansible overlap. The modules in
    KEEP_TOGETHER go whole to one shard each, heaviest first; every other test goes to the shard with the least weight
    so far."""
    shard = os.environ.get("FLEET_TEST_SHARD")
    if not shard:
        return
    index, count = (int(part) for part in shard.split("/"))
    weight = [0] * count
    placed = {}
    for module in sorted({item.path.name for item in items} & set(KEEP_TOGETHER), key=KEEP_TOGETHER.get, reverse=True):
        placed[module] = min(range(count), key=lambda shard_index: (weight[shard_index], shard_index))
        weight[placed[module]] += KEEP_TOGETHER[module]
    keep = []
    for item in items:
        target = placed.get(item.path.name)
        if target is None:
            target = min(range(count), key=lambda shard_index: (weight[shard_index], shard_index))
            weight[target] += 1
        if target == index:
            keep.append(item)
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep
