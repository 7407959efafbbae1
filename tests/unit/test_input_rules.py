"""The declared input rules (module_utils/input_rules.py): every role input has one, and each kind refuses what it
exists for. The end-to-end proof (rejected before any change, host unchanged) is tests/integration/test_guardrails.py;
real systemd reading the quoted values back is tests/integration/test_unit_quoting.py."""
import os
import pathlib
import re
import stat as stat_module

import pytest
import yaml
from ansible.module_utils.input_rules import (
    OWNED_DIRS, RULES, batch_size, check_inputs, check_owned_dirs, check_rollout, owned_dir_wants,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPECS = {}
for spec_file in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
    SPECS.update(yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]["options"])


def test_every_text_path_and_list_input_of_every_role_has_a_rule():
    needing = {name for name, spec in SPECS.items() if spec.get("type", "str") in ("str", "path", "list", "raw", "dict")}
    assert sorted(needing - set(RULES)) == []
    assert sorted(set(RULES) - set(SPECS)) == [], "rules for variables no role declares"


def test_every_owned_directory_has_an_owner_and_mode():
    owned = {name for name, (kind, _) in RULES.items() if kind == "owned_dir"}
    server_dirs = owned - {"model_mirror_cache_dir", "model_mirror_install_dir", "model_mirror_config_dir"}
    assert server_dirs == set(OWNED_DIRS)


def test_options_that_may_hold_credentials_are_no_log_in_their_specs():
    """preflight sends no_log options to fleet_inputs as `sensitive` (never echoed, not even at -vvv)."""
    credential_kinds = {"secret", "secret_list", "client_keys", "url", "url_list", "url_or_dir_list", "proxy_url"}
    for name, (kind, _) in RULES.items():
        if kind in credential_kinds:
            assert SPECS[name].get("no_log") is True, name


def errors(**values):
    return check_inputs(values, SPECS)


@pytest.mark.parametrize("values, needle", [
    ({"gpt_oss_hf_home": "/var/lib/gpt oss"}, "gpt_oss_hf_home=/var/lib/gpt oss must be an absolute path"),
    ({"gpt_oss_hf_home": "/var/lib/x\nExecStartPre=+/bin/sh"}, "must be an absolute path"),
    ({"gpt_oss_root": "/opt/a/../../etc"}, "must be an absolute path"),
    ({"gpt_oss_root": "/opt/gpt-oss/"}, "must be an absolute path"),
    ({"gpt_oss_state_dir": "/var/lib"}, "is a system directory"),
    ({"gpt_oss_root": "/"}, "is a system directory"),
    ({"gpt_oss_hf_home": "/home/me/models"}, "is under /home"),
    ({"gpt_oss_state_dir": "/tmp/gpt"}, "is under /tmp"),
    ({"gpt_oss_model_revision": "../../etc"}, "is not a revision"),
    ({"gpt_oss_model_revision": "main/../x"}, "is not a revision"),
    ({"gpt_oss_model_revision": "v1.lock"}, "is not a revision"),
    ({"gpt_oss_model_revision": 493}, "is not a string"),
    ({"gpt_oss_served_model_name": "${LLAMA_API_KEY}"}, "gpt_oss_served_model_name"),
    ({"gpt_oss_served_model_name": "a%h"}, "gpt_oss_served_model_name"),
    ({"gpt_oss_api_key": "0123456789abcdef\nX=1"}, "gpt_oss_api_key must be printable"),
    ({"gpt_oss_api_key": "0123456789 abcdef"}, "gpt_oss_api_key must be printable"),
    ({"gpt_oss_engine_extra_args": ["--seed", "1\n"]}, "gpt_oss_engine_extra_args[1]"),
    ({"gpt_oss_engine_extra_args": "--seed 1"}, "gpt_oss_engine_extra_args must be a list"),
    ({"inference_runtime_extra_packages": ["-e", "git+x"]}, "inference_runtime_extra_packages[0]"),
    ({"model_weights_hf_endpoint": "https://u:p@hub"}, "model_weights_hf_token"),
    ({"inference_runtime_index_url": "https://u:p@pypi/simple"}, "/root/.netrc"),
    ({"inference_runtime_extra_index_urls": ["https://ok/simple", "https://u:p@x/simple"]},
     "inference_runtime_extra_index_urls[1] has credentials"),
    ({"gpt_oss_http_proxy": "http://u:p@proxy:3128"}, "sudo's log"),
    ({"gpu_driver_rocm_repo_url": "https://u:p@apt/rocm"}, "/etc/apt/auth.conf.d"),
    ({"inference_runtime_index_url": "htp:/x"}, "inference_runtime_index_url is not a URL"),
    ({"gpt_oss_allow_cpu": "false"}, "must be true or false"),
    ({"inference_server_firewall": "yes"}, "must be true or false"),
    ({"gpt_oss_port": 80}, "gpt_oss_port=80 must be between 1024 and 65535"),
    ({"gpt_oss_port": "eighty"}, "must be a whole number"),
    ({"gpt_oss_port": True}, "must be a whole number"),
    ({"load_balancer_timeout_server": "5 min"}, "load_balancer_timeout_server"),
    ({"monitoring_labels": {"team x": "a"}}, "label name"),
    ({"gpu_driver_key_checksums": {"gpt-oss-rocm": "43f37e55" * 8}}, "is not a checksum"),
    ({"load_balancer_client_api_keys": ["0123456789abcdef", "with space 0123456789"]},
     "load_balancer_client_api_keys[1] must be printable"),
    ({"load_balancer_client_api_keys": [{"name": "team-a", "models": ["gpt-oss-20b"]}]},
     "load_balancer_client_api_keys[0] has no key"),
    ({"load_balancer_client_api_keys": [{"key": "0123456789abcdef", "name": "team a"}]}, "must be a plain word"),
    ({"load_balancer_client_api_keys": [{"key": "0123456789abcdef", "models": "gpt-oss-20b"}]},
     "models must be a list of served model names"),
    ({"load_balancer_client_api_keys": [{"key": "0123456789abcdef", "models": ["a b"]}]}, "models must be a list"),
    ({"load_balancer_client_api_keys": [{"key": "0123456789abcdef", "requests_per_minute": "60"}]},
     "requests_per_minute='60' must be a whole number"),
    ({"load_balancer_client_api_keys": [{"key": "0123456789abcdef", "scope": "all"}]}, "has scope; a client key takes only"),
    ({"load_balancer_client_api_keys": [42]}, "must be a key, or a mapping"),
    ({"load_balancer_client_api_keys": [{"key": "0123456789abcdef", "models": []}]}, "models is empty"),
    ({"load_balancer_client_api_keys": ["#0123456789abcdef"]}, "starts with '#'"),
    ({"load_balancer_virtual_ip": "10.0.0.300"}, "is not an IPv4 address"),
    ({"load_balancer_vrrp_router_id": 256}, "must be between 1 and 255"),
    ({"inference_runtime_find_links": ["/opt/wheels dir"]}, "inference_runtime_find_links[0]=/opt/wheels dir"),
    ({"inference_runtime_find_links": ["https://u:p@wheels.lab/"]}, "has credentials"),
    ({"gpt_oss_service_user": "root:root"}, "gpt_oss_service_user"),
    ({"gpt_oss_bind_address": "not an address!"}, "gpt_oss_bind_address=not an address!"),
])
def test_bad_values_are_refused_naming_the_variable(values, needle):
    found = errors(**values)
    assert found and any(needle in e for e in found), found


@pytest.mark.parametrize("values", [
    {"gpt_oss_hf_home": "/data/gpt-oss/hf", "gpt_oss_root": "/opt/gpt-oss", "gpt_oss_state_dir": "/srv/gpt-oss"},
    {"gpt_oss_model_revision": "6cee5e81ee83917806bbde320786a8fb61efebee"},
    {"gpt_oss_model_revision": "refs/pr/12"}, {"gpt_oss_model_revision": "release/v1.0"},
    {"gpt_oss_api_key": "k\"e\\y$`#'%-0123456789"},  # quoted where it lands
    {"gpt_oss_engine_extra_args": ["--chat-template-kwargs", '{"reasoning_effort": "high"}']},
    {"gpt_oss_served_model_name": "openai/gpt-oss-20b:v2"},
    {"inference_runtime_index_url": "https://pypi.lab:8443/simple", "gpt_oss_http_proxy": "http://proxy.lab:3128",
     "gpt_oss_no_proxy": "localhost,127.0.0.1,.lab,10.0.0.0/8"},
    {"gpt_oss_port": "8001", "gpt_oss_allow_cpu": True, "inference_server_firewall": False},
    {"gpt_oss_bind_address": "::", "gpt_oss_advertise_address": "10.1.2.3"},
    {"model_weights_controller_dir": "weights/20b", "inference_runtime_python": "python3.12"},
    # what the Molecule scenarios set
    {"inference_runtime_find_links": ["/opt/gpt-oss-test/wheels", "https://wheels.lab/cpu/"]},
    {"gpu_driver_key_checksums": {"gpt-oss-rocm": "sha256:" + "43f37e55" * 8}},
    {"model_mirror_upstream_netloc": "hf-hub:8080", "model_mirror_upstream_scheme": "http"},
    {"load_balancer_client_api_keys": ["molecule-client-key-0123456789abcdef",
                                       {"key": "k\"e$y-0123456789", "name": "team-20b", "models": ["gpt-oss-20b"],
                                        "requests_per_minute": 12}],
     "load_balancer_virtual_ip": "10.213.47.250"},
])
def test_good_values_pass(values):
    assert errors(**values) == []


def test_a_bad_client_key_is_named_by_its_place_never_quoted():
    secret = "team key with spaces 0123456789"
    found = errors(load_balancer_client_api_keys=[{"key": secret, "name": "team-a"}])
    assert found and "load_balancer_client_api_keys[0].key" in found[0]
    assert secret not in " ".join(found)


class FakeStat:
    def __init__(self, uid, gid, mode, directory=True):
        self.st_uid, self.st_gid = uid, gid
        self.st_mode = mode | (stat_module.S_IFDIR if directory else stat_module.S_IFREG)


USERS = {0: "root", 990: "gpt-oss", 1000: "alice"}


def dir_errors(paths, existing, dedicated=()):
    wants = owned_dir_wants(paths, "gpt-oss")
    return check_owned_dirs(wants, set(dedicated), existing.get, USERS.get, USERS.get)


def test_an_existing_directory_of_someone_else_is_refused_unless_dedicated():
    existing = {"/data": FakeStat(0, 0, 0o755)}
    found = dir_errors({"gpt_oss_hf_home": "/data"}, existing)
    assert len(found) == 1 and "owner root, group root, mode 0755" in found[0] and "gpt_oss_dedicated_dirs" in found[0]
    assert dir_errors({"gpt_oss_hf_home": "/data"}, existing, dedicated=["/data"]) == []


def test_a_directory_already_as_the_toolkit_makes_it_passes():
    """A host this toolkit converged before: nothing would change."""
    existing = {"/var/lib/gpt-oss": FakeStat(990, 990, 0o750), "/opt/gpt-oss": FakeStat(0, 0, 0o755)}
    assert dir_errors({"gpt_oss_state_dir": "/var/lib/gpt-oss", "gpt_oss_root": "/opt/gpt-oss"}, existing) == []
    existing["/opt/gpt-oss"] = FakeStat(1000, 1000, 0o700)
    assert "gpt_oss_root=/opt/gpt-oss" in dir_errors({"gpt_oss_root": "/opt/gpt-oss"}, existing)[0]


def test_a_file_where_a_directory_goes_is_refused():
    assert "is not a directory" in dir_errors({"gpt_oss_root": "/opt/x"}, {"/opt/x": FakeStat(0, 0, 0o644, False)})[0]


def test_two_directories_with_different_owners_cannot_be_one():
    found = dir_errors({"gpt_oss_state_dir": "/srv/g", "gpt_oss_config_dir": "/srv/g"}, {})
    assert found and "gpt_oss_config_dir and gpt_oss_state_dir are both /srv/g" in found[0]


def test_check_owned_dirs_on_the_real_filesystem(tmp_path):
    """The module's own stat path: a directory made here (mode 0700, this user) is someone else's to the toolkit."""
    target = tmp_path / "shared"
    target.mkdir(mode=0o700)
    os.chmod(target, 0o700)
    found = check_owned_dirs(owned_dir_wants({"gpt_oss_hf_home": str(target)}, "gpt-oss"), set(),
                             lambda p: os.stat(p) if os.path.exists(p) else None, str, str)
    assert found and "mode 0700" in found[0]


@pytest.mark.parametrize("serial, hosts, size", [(1, 5, 1), ("60%", 5, 3), ("10%", 5, 1), ("100%", 4, 4), ("3", 5, 3)])
def test_batch_size_follows_ansibles_arithmetic(serial, hosts, size):
    assert batch_size(serial, hosts) == size


@pytest.mark.parametrize("serial, max_fail, members, allow, needle", [
    (0, 0, {"gw": 4}, False, "0 would drain every host"),
    ("abc", 0, {"gw": 4}, False, "rollout_serial='abc'"),
    ("0%", 0, {"gw": 4}, False, "rollout_serial='0%'"),
    (4, 0, {"gw": 4}, False, "takes all 4 server(s) behind gw"),
    ("100%", 0, {"gw": 4}, False, "takes all 4"),
    (1, 0, {"gw": 1}, False, "takes all 1 server(s)"),
    (1, "x", {"gw": 4}, False, "rollout_max_fail_percentage='x'"),
    (1, 101, {"gw": 4}, False, "rollout_max_fail_percentage=101"),
])
def test_rollouts_that_drain_everything_or_cannot_be_read_are_refused(serial, max_fail, members, allow, needle):
    found = check_rollout(serial, max_fail, members, allow)
    assert any(needle in e for e in found), found


MIXED = ["replica-1", "replica-2", "replica-3", "replica-4", "replica-5"]
MODELS = {"gpt-oss-20b": ["replica-1", "replica-2", "replica-3"], "gpt-oss-120b": ["replica-4", "replica-5"]}


def test_a_batch_that_drains_every_host_of_a_model_is_refused_with_a_size_that_works():
    # Ansible's own arithmetic for serial 60% of 5 hosts: batches of 3, replica-1..3 first (the fleet scenario's
    # first run of this rollout failed 3521 of 5795 requests with 503: gpt-oss-20b had no server left)
    found = check_rollout("60%", 0, {"gw": 5}, False, MIXED, MODELS)
    assert "batch 1 (replica-1, replica-2, replica-3) takes every host serving gpt-oss-20b" in found[0]
    assert "batch 2 (replica-4, replica-5) takes every host serving gpt-oss-120b" in found[1]
    assert len(found) == 2 and "rollout_serial=2 keeps every model served" in found[0]
    assert check_rollout("40%", 0, {"gw": 5}, False, MIXED, MODELS) == []
    # 2 per batch in another order: batch 2 is replica-4, replica-5
    order = ["replica-1", "replica-2", "replica-4", "replica-5", "replica-3"]
    assert "batch 2 (replica-4, replica-5)" in check_rollout(2, 0, {"gw": 5}, False, order, MODELS)[0]
    assert check_rollout("60%", 0, {"gw": 5}, True, MIXED, MODELS) == []
    # a model served by one host only: no batch size keeps it up
    assert "m is served by a alone, so no batch keeps it up" in check_rollout(
        1, 0, {"gw": 2}, False, ["a", "b"], {"m": ["a"], "n": ["b"]})[0]
    # no gateway: nothing is drained, nothing to refuse (Molecule default's single host rolls out on its own)
    assert check_rollout(1, 0, {}, False, ["a"], {"m": ["a"]}) == []
    # sizes are not monotonic: with m on c, d of a..f, 2 fails (c, d together) but 3 works
    found = check_rollout(2, 0, {"gw": 6}, False, list("abcdef"), {"m": ["c", "d"], "n": ["a", "b", "e", "f"]})
    assert "batch 2 (c, d)" in found[0] and "rollout_serial=3 keeps every model served" in found[0]


@pytest.mark.parametrize("serial, members, allow", [
    (1, {"gw": 4}, False), ("60%", {"gw": 5}, False), ("2", {"gw": 3}, False), (4, {"gw": 4}, True), (1, {}, False)])
def test_rollouts_that_keep_servers_up_pass(serial, members, allow):
    assert check_rollout(serial, 0, members, allow) == []


def _settings(tree):
    """Every variable set in an inventory tree (Molecule's provisioner inventory, or an inventory's group_vars)."""
    found = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key in SPECS:
                found.setdefault(key, []).append(value)
            elif isinstance(value, (dict, list)):
                for name, values in _settings(value).items():
                    found.setdefault(name, []).extend(values)
    elif isinstance(tree, list):
        for item in tree:
            for name, values in _settings(item).items():
                found.setdefault(name, []).extend(values)
    return found


SHIPPED = sorted(ROOT.glob("molecule/*/molecule.yml")) + sorted(ROOT.glob("inventories/**/*.yml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(ROOT)) for p in SHIPPED])
def test_what_the_scenarios_and_example_inventories_set_passes(path):
    """The rules refuse hostile values, not what the project's own scenarios and examples use (templated values,
    which Ansible renders first, are left out)."""
    # Molecule expands ${VAR:-default} in molecule.yml before Ansible sees it
    text = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", path.read_text())
    settings = _settings(yaml.safe_load(text))
    literal = {name: value for name, values in settings.items() for value in values
               if "{{" not in str(value) and "$" not in str(value)}
    assert check_inputs(literal, SPECS) == []
