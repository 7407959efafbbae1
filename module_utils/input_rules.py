# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""One declared rule for every input of every role: what a value may be, given where it lands.

Values reach paths, systemd unit and environment files, templates, URLs and command lines. Each variable has a
kind in RULES; a kind says what the value may contain so that it can be written where it lands without being
reinterpreted (systemd's specifiers and `$` expansion, environment-file quoting, a newline that starts a new
directive), and what to write instead. The few kinds that cannot be made safe by quoting (paths, names, URLs) are
restricted to characters that need no quoting; free text that does need it (API keys, engine arguments) is
quoted where it lands (replica.env.j2, replica.service.j2) and only control characters are refused.

`check_inputs` runs in preflight on every host before any change; `check_owned_dirs` runs there too, on the host,
and refuses to take over a directory the toolkit did not create. Pure functions; the module is fleet_inputs.
"""
from __future__ import annotations

import os
import re

from ansible.module_utils.gpu_catalog import ACCEPTANCE_CHECKS

# ---- the kinds --------------------------------------------------------------------------------------------
# Characters a path may hold: what systemd unit lines (ReadWritePaths=, EnvironmentFile=, WorkingDirectory=), the
# environment files and shell-free command lines all take literally. No space, %, $, quotes, backslash or newline.
SAFE_PATH = re.compile(r"^/[A-Za-z0-9._+@-]+(/[A-Za-z0-9._+@-]+)*$")
SAFE_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
UNIX_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
# What clients send as "model": also in the unit's argv (--served-model-name / --alias) and in the gateway's config
SERVED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,127}$")
HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$")
IPV4 = re.compile(r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$")
IPV6 = re.compile(r"^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$")
URL = re.compile(r"^(?P<scheme>https?|file)://(?P<netloc>[^/?#\s]*)(?P<rest>[^\s]*)$")
PROXY_URL = re.compile(r"^(?P<scheme>https?|socks5h?)://(?P<netloc>[^/?#\s]+)/?$")
# haproxy time: a number with an optional unit
DURATION = re.compile(r"^[0-9]+(us|ms|s|m|h|d)?$")
SIZE = re.compile(r"^[0-9]+(\.[0-9]+)?\s?([KMGTP]i?B?|B)?$")
# a pip requirement or package name (no options: an item starting with '-' would be an option to pip/uv)
REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\[\],<>=!~*+-]*$")
SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")  # as get_url's checksum takes it
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
PR_REF = re.compile(r"^refs/pr/[0-9]+$")
REF_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")

# Directories no toolkit path may be: taking one over (owner/mode) breaks the machine for everyone else.
SYSTEM_DIRS = frozenset("""
/ /bin /boot /dev /etc /home /lib /lib32 /lib64 /libx32 /media /mnt /opt /proc /root /run /sbin /snap /srv /sys
/tmp /usr /usr/bin /usr/include /usr/lib /usr/lib64 /usr/libexec /usr/local /usr/local/bin /usr/local/lib
/usr/local/sbin /usr/local/share /usr/sbin /usr/share /usr/src /var /var/backups /var/cache /var/lib /var/local
/var/lock /var/log /var/mail /var/opt /var/run /var/spool /var/tmp /etc/systemd /etc/ssh /etc/apt /lib/systemd
/usr/lib/systemd
""".split())
# Trees the replicas cannot see or that do not keep files: the unit runs with ProtectHome=yes and PrivateTmp=yes,
# and /proc, /sys, /dev and /run are kernel or tmpfs trees.
HIDDEN_FROM_SERVICE = ("/home/", "/root/", "/tmp/", "/var/tmp/", "/run/", "/proc/", "/sys/", "/dev/", "/boot/")

# Where credentials go instead of a URL's user:password@ (which would show in task names, command lines and logs).
CREDENTIALS_INSTEAD = {
    "hub": "put the token in model_weights_hf_token (sent as an Authorization header from a no_log task)",
    "index": "put the credentials in /root/.netrc on the host (machine HOST login USER password SECRET, mode 0600), "
             "which pip and uv read",
    "apt": "put the credentials in /etc/apt/auth.conf.d/gpt-oss.conf on the host (machine HOST login USER password "
           "SECRET, mode 0600), which apt reads",
    "proxy": "a proxy password would be visible in the host's process list and in sudo's log; allow the hosts by "
             "address on the proxy, or run an authenticating forwarder on the host and point this variable at it",
    "mirror": "use a mirror that does not need credentials from the replicas' network, or put the token in "
              "model_weights_hf_token",
}

# variable -> (kind, option). Every str, path and list option of every role's meta/argument_specs.yml has a
# rule here (tests/unit/test_input_rules.py checks); bool, int and dict options get their type's rule.
RULES = {
    # gpt_oss
    "gpt_oss_model": ("token_path", None),
    "gpt_oss_model_revision": ("revision", None),
    "gpt_oss_served_model_name": ("served_name", None),
    "gpt_oss_engine": ("token", None),
    "gpt_oss_vllm_version": ("token", None),
    "gpt_oss_vllm_rocm_variant": ("token", None),
    "gpt_oss_llamacpp_artifact": ("token", None),
    "gpt_oss_plan_goal": ("token", None),
    "gpt_oss_llamacpp_version": ("token", None),
    "gpt_oss_engine_extra_args": ("argv", None),
    "gpt_oss_bind_address": ("address", None),
    "gpt_oss_advertise_address": ("address", None),
    "gpt_oss_api_key": ("secret", None),
    "gpt_oss_root": ("owned_dir", "install"),
    "gpt_oss_state_dir": ("owned_dir", "service"),
    "gpt_oss_hf_home": ("owned_dir", "service"),
    "gpt_oss_config_dir": ("owned_dir", "install"),
    "gpt_oss_service_user": ("unix_name", None),
    "gpt_oss_ca_bundle": ("host_path", None),
    "gpt_oss_http_proxy": ("proxy_url", "proxy"),
    "gpt_oss_https_proxy": ("proxy_url", "proxy"),
    "gpt_oss_no_proxy": ("no_proxy", None),
    "gpt_oss_fleet_report_file": ("controller_path", None),
    "gpt_oss_dedicated_dirs": ("host_path_list", None),
    # gpu_driver
    "gpu_driver_nvidia_route": ("token", None),
    "gpu_driver_nvidia_kernel_modules": ("token", None),
    "gpu_driver_nvidia_branch": ("token", None),
    "gpu_driver_nvidia_repo_url": ("url", "apt"),
    "gpu_driver_nvidia_key_file": ("host_path", None),
    "gpu_driver_rocm_version": ("token", None),
    "gpu_driver_rocm_repo_url": ("url", "apt"),
    "gpu_driver_amdgpu_repo_url": ("url", "apt"),
    "gpu_driver_rocm_key_url": ("url", "apt"),
    "gpu_driver_efivars_dir": ("host_path", None),
    "gpu_driver_device_users": ("unix_name_list", None),
    # inference_runtime
    "inference_runtime_uv_version": ("token", None),
    "inference_runtime_python": ("host_path_or_name", None),
    "inference_runtime_index_url": ("url", "index"),
    "inference_runtime_extra_index_urls": ("url_list", "index"),
    "inference_runtime_find_links": ("url_or_dir_list", "index"),
    "inference_runtime_uv_cache_dir": ("owned_dir", "install"),
    "inference_runtime_extra_packages": ("requirement_list", None),
    "inference_runtime_python_mirror": ("url", "index"),
    "inference_runtime_llamacpp_build_cache": ("controller_path", None),
    # inference_server
    "inference_server_smoke_prompt": ("text", None),
    "inference_server_firewall_sources": ("address_list", None),
    "inference_server_acceptance_skip": ("choice_list", ACCEPTANCE_CHECKS),
    "inference_server_benchmark": ("choice", ("auto", "always", "never")),
    "inference_server_history_dir": ("controller_path", None),
    # shared (gpt_oss)
    "gpt_oss_fleet_group": ("token", None),
    "gpt_oss_model_mirror_netloc": ("netloc", None),
    # load_balancer
    "load_balancer_replica_group": ("token", None),
    "load_balancer_bind_address": ("address", None),
    "load_balancer_tls_certificate": ("host_path", None),
    "load_balancer_api_key_mode": ("token", None),
    "load_balancer_client_api_keys": ("client_keys", None),
    "load_balancer_check_interval": ("duration", None),
    "load_balancer_check_fastinterval": ("duration", None),
    "load_balancer_timeout_connect": ("duration", None),
    "load_balancer_timeout_client": ("duration", None),
    "load_balancer_timeout_server": ("duration", None),
    "load_balancer_timeout_queue": ("duration", None),
    "load_balancer_runtime_socket": ("host_path", None),
    "load_balancer_backend": ("token", None),
    "load_balancer_virtual_ip": ("ipv4", None),
    "load_balancer_vrrp_interface": ("token", None),
    # model_mirror
    "model_mirror_olah_version": ("token", None),
    "model_mirror_bind_address": ("address", None),
    "model_mirror_upstream_scheme": ("token", None),
    "model_mirror_upstream_netloc": ("netloc", None),
    "model_mirror_upstream_lfs_netloc": ("netloc", None),
    "model_mirror_cache_dir": ("owned_dir", "service"),
    "model_mirror_cache_size_limit": ("size", None),
    "model_mirror_install_dir": ("owned_dir", "install"),
    "model_mirror_config_dir": ("owned_dir", "install"),
    "model_mirror_user": ("unix_name", None),
    "model_mirror_index_url": ("url", "index"),
    # model_weights
    "model_weights_source": ("token", None),
    "model_weights_controller_dir": ("controller_path", None),
    "model_weights_controller_cache": ("controller_path", None),
    "model_weights_hf_token": ("secret", None),
    "model_weights_hf_endpoint": ("url", "hub"),
    "model_weights_mirror_url": ("url", "mirror"),
    "model_weights_progress_file": ("host_path", None),
    # monitoring
    "monitoring_file_sd_path": ("host_path", None),
    "monitoring_file_sd_owner": ("unix_name", None),
    "monitoring_file_sd_group": ("unix_name", None),
    "monitoring_labels": ("labels", None),
    "monitoring_grafana_host": ("token", None),
    "monitoring_grafana_dashboards_dir": ("host_path", None),
    "monitoring_grafana_provisioning_dir": ("host_path", None),
    "monitoring_grafana_folder": ("text", None),
    "monitoring_grafana_service": ("token", None),
    # preflight
    "preflight_lock_path": ("host_path", None),
    # rollout
    "rollout_snapshot_dir": ("owned_dir", "install"),
    "rollout_serial": ("checked_by_rollout", None),
    "rollout_max_fail_percentage": ("checked_by_rollout", None),
    # dicts checked by their own code: the planner (overrides, replay), preflight's OS check, the driver planner
    "gpt_oss_plan_overrides": ("checked_by_planner", None),
    "gpt_oss_gpu_replay": ("checked_by_planner", None),
    "preflight_supported_os": ("checked_by_preflight", None),
    "gpu_driver_key_checksums": ("sha256_map", None),
    "model_weights_allow_patterns": ("pattern_map", None),
}

# The directories the server roles create, with the owner, group and mode they give them ("{service}" is
# gpt_oss_service_user). preflight compares existing ones with this; the integration suite checks a converged host
# against it, so a role that drifts from it fails there.
OWNED_DIRS = {
    "gpt_oss_root": ("root", "root", "0755"),
    "gpt_oss_state_dir": ("{service}", "{service}", "0750"),
    "gpt_oss_hf_home": ("{service}", "{service}", "0750"),
    "gpt_oss_config_dir": ("root", "{service}", "0750"),
    "inference_runtime_uv_cache_dir": ("root", "root", "0755"),
    "rollout_snapshot_dir": ("root", "root", "0755"),
}

# Numbers (int and float inputs): (lowest, highest). Others must be >= 0.
RANGES = {
    "gpt_oss_port": (1024, 65535), "load_balancer_port": (1, 65535), "load_balancer_tls_port": (1, 65535),
    "load_balancer_prometheus_port": (1, 65535), "load_balancer_request_buffer_bytes": (16384, 268435456),
    "load_balancer_requests_per_slot": (1, 64), "load_balancer_virtual_ip_prefix": (1, 32),
    "load_balancer_vrrp_router_id": (1, 255), "load_balancer_vrrp_advert_interval": (1, 255), "gpt_oss_model_mirror_port": (1, 65535),
    "inference_server_health_timeout": (1, 86400), "inference_server_health_quick_wait": (0, 600), "inference_server_timeout_start_sec": (1, 86400),
    "inference_server_smoke_max_tokens": (1, 4096), "inference_server_journal_lines": (1, 100000),
    "inference_server_history_keep": (2, 100000),
    "inference_server_max_regression_percent": (0, 100), "inference_server_benchmark_confirm_runs": (0, 10),
    "inference_server_benchmark_confirm_pause": (0, 600), "rollout_max_regression_percent": (0, 100),
    "gpu_driver_reboot_timeout": (1, 86400), "model_weights_timeout": (1, 86400),
    "model_weights_download_streams": (1, 32),
    "rollout_drain_timeout": (0, 86400), "rollout_ready_timeout": (1, 86400), "preflight_lock_wait": (0, 86400),
    "load_balancer_check_fall": (1, 100), "load_balancer_check_rise": (1, 100), "load_balancer_retries": (0, 100),
    "load_balancer_maxconn": (1, 10000000), "gpt_oss_apt_cache_valid_time": (0, 604800),
}


def _fix_path(name, value):
    return ("%s=%s must be an absolute path of letters, digits and . _ + @ - between slashes (no spaces, '..', "
            "'%%', '$', quotes or newlines: it is written into systemd units and environment files)" % (name, value))


def _normalized(path):
    return os.path.normpath(path) == path and "//" not in path


def _check_path(name, value, empty_ok=True):
    if value == "" and empty_ok:
        return None
    if not isinstance(value, str) or not SAFE_PATH.match(value) or not _normalized(value) \
            or any(part in (".", "..") for part in value.split("/")):
        return _fix_path(name, value)
    return None


def _check_owned_dir(name, value, use=None):
    error = _check_path(name, value, empty_ok=False)
    if error and value not in SYSTEM_DIRS:
        return error
    if value in SYSTEM_DIRS:
        return ("%s=%s is a system directory; gpt-oss-fleet sets the owner and mode of the directories it uses, so "
                "it needs one of its own, e.g. %s/gpt-oss" % (name, value, value.rstrip("/")))
    if use == "service" and value.startswith(HIDDEN_FROM_SERVICE):
        return ("%s=%s is under %s, which the replicas' sandbox hides or empties (ProtectHome=, PrivateTmp=, "
                "kernel and tmpfs trees); use a directory under /var/lib or /srv, or a data disk's mount point"
                % (name, value, "/" + value.split("/")[1]))
    return None


def _check_url(name, value, credentials=None):
    if value == "":
        return None
    if not isinstance(value, str) or CONTROL.search(value):
        return "%s must be a URL on one line (https://host[:port]/path)" % name
    match = URL.match(value)
    if not match or (match.group("scheme") != "file" and not match.group("netloc")):
        return "%s is not a URL; write it as https://host[:port]/path (file:///dir for a local index)." % name
    if "@" in match.group("netloc"):
        return ("%s has credentials in the URL (user:password@host); they would show in task names, command lines "
                "and logs. Remove them and %s." % (name, CREDENTIALS_INSTEAD[credentials]))
    return None


def _check_proxy(name, value, credentials=None):
    if value == "":
        return None
    match = PROXY_URL.match(value) if isinstance(value, str) else None
    if not match:
        return "%s is not a proxy URL; write it as http://host:port" % name
    if "@" in match.group("netloc"):
        return "%s has credentials in the URL (user:password@host). Remove them: %s." % (
            name, CREDENTIALS_INSTEAD[credentials])
    return None


def _check_address(name, value, option=None):
    if value == "" or (isinstance(value, str) and (IPV4.match(value) or IPV6.match(value) or HOSTNAME.match(value))):
        return None
    return "%s=%s is not an address; use an IP address such as 127.0.0.1 or 0.0.0.0, or a host name" % (name, value)


def _check_secret(name, value, option=None):
    if value == "":
        return None
    if not isinstance(value, str) or re.search(r"[^\x21-\x7e]", value):
        return ("%s must be printable ASCII without spaces or line breaks (it is sent as 'Authorization: Bearer ...'); "
                "generate one with `openssl rand -hex 24`" % name)
    if value.startswith("#"):
        return ("%s starts with '#': the gateway's key map would read that line as a comment and refuse the key; "
                "generate one with `openssl rand -hex 24`" % name)
    return None


KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CLIENT_KEY_FIELDS = {"key", "name", "models", "requests_per_minute"}


def _check_client_key(name, value, option=None):
    """A client key of the gateway: the key alone (every model, no rate limit) or a mapping with its scope. The key
    itself is never quoted back: an error names the item and, where it has one, its name."""
    if isinstance(value, str):
        return _check_secret(name, value) or (None if value else "%s is empty; give the key or remove the item" % name)
    if not isinstance(value, dict):
        return ("%s must be a key, or a mapping {key: ..., name: team-a, models: [gpt-oss-20b], requests_per_minute: 60}"
                % name)
    unknown = sorted(set(value) - CLIENT_KEY_FIELDS)
    if unknown:
        return "%s has %s; a client key takes only %s" % (name, ", ".join(map(str, unknown)),
                                                          ", ".join(sorted(CLIENT_KEY_FIELDS)))
    if not value.get("key"):
        return "%s has no key; add key: (16+ printable characters, e.g. `openssl rand -hex 24`)" % name
    error = _check_secret(name + ".key", value["key"])
    if error:
        return error
    if "name" in value and not (isinstance(value["name"], str) and KEY_NAME.match(value["name"])):
        return ("%s.name=%r must be a plain word of at most 64 letters, digits and . _ - (it names the key in HAProxy's "
                "stick table and logs)" % (name, value["name"]))
    models = value.get("models", ["all"])
    if not isinstance(models, list) or not all(isinstance(m, str) and SERVED_NAME.match(m) for m in models):
        return "%s.models must be a list of served model names such as [gpt-oss-20b]" % name
    if not models:
        return ("%s.models is empty: a key that may use no model is a key to remove (leave models out for every "
                "model)" % name)
    rate = value.get("requests_per_minute", 0)
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 0:
        return "%s.requests_per_minute=%r must be a whole number (0: no limit)" % (name, rate)
    return None


def _check_revision(name, value, option=None):
    if not isinstance(value, str):
        return ("%s=%r is not a string: YAML read it as a number (%s). Quote a revision that looks like one "
                "(0755 or 1e10 would be read as 493 or 10000000000.0): %s: \"...\"" % (name, value, type(value).__name__, name))
    if COMMIT.match(value) or PR_REF.match(value):
        return None
    parts = value.split("/")
    if len(value) <= 255 and all(REF_PART.match(part) and not part.endswith((".lock", ".")) and ".." not in part
                                 for part in parts):
        return None
    return ("%s=%r is not a revision; use a 40-character commit sha (best), a branch or tag name (letters, digits, "
            ". _ - and /, no '..'), or refs/pr/N for a pull request" % (name, value))


def _each(checker):
    def check_list(name, value, option=None):
        if not isinstance(value, list):
            return "%s must be a list" % name
        for index, item in enumerate(value):
            error = checker("%s[%d]" % (name, index), item, option)
            if error:
                return error
        return None
    return check_list


def _pattern(regex, what):
    def check(name, value, option=None):
        if value == "" or (isinstance(value, str) and regex.match(value)):
            return None
        return "%s=%r is not %s" % (name, value, what)
    return check


def _check_argv_item(name, value, option=None):
    if not isinstance(value, str) or not value.strip() or CONTROL.search(value):
        return ("%s=%r: engine arguments must be non-empty strings on one line, one list item per argument, e.g. "
                "['--seed', '1']" % (name, value))
    return None


def _check_text(name, value, option=None):
    if not isinstance(value, str) or CONTROL.search(value):
        return "%s must be text on one line (no control characters)" % name
    return None


def _check_labels(name, value, option=None):
    if not isinstance(value, dict):
        return "%s must be a mapping of label names to values" % name
    for key, label in value.items():
        if not isinstance(key, str) or not LABEL_NAME.match(key) or key.startswith("__"):
            return "%s has the label name %r; Prometheus label names are letters, digits and _" % (name, key)
        if not isinstance(label, str) or CONTROL.search(label):
            return "%s.%s must be text on one line" % (name, key)
    return None


def _check_sha256_map(name, value, option=None):
    if not isinstance(value, dict):
        return "%s must be a mapping" % name
    for key, digest in value.items():
        if not isinstance(digest, str) or not SHA256.match(digest):
            return "%s.%s=%r is not a checksum; write sha256: and 64 lower-case hex digits" % (name, key, digest)
    return None


def _check_pattern_map(name, value, option=None):
    if not isinstance(value, dict):
        return "%s must be a mapping" % name
    for key, patterns in value.items():
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p and not CONTROL.search(p)
                                                     and ".." not in p and not p.startswith("/") for p in patterns):
            return "%s.%s must be a list of file patterns relative to the repository (no '..')" % (name, key)
    return None


def _check_controller_path(name, value, option=None):
    if value == "" or (isinstance(value, str) and not CONTROL.search(value)):
        return None
    return "%s must be a path on one line" % name


def _check_host_path_or_name(name, value, option=None):
    if isinstance(value, str) and (SAFE_TOKEN.match(value) or _check_path(name, value) is None):
        return None
    return "%s=%r must be a command name (python3) or an absolute path" % (name, value)


def _check_host_path(name, value, option=None):
    return _check_path(name, value)


def _check_host_path_required(name, value, option=None):
    return _check_path(name, value, empty_ok=False)


def _check_url_or_dir(name, value, credentials=None):
    """pip and uv take a directory of wheels as well as a URL (--find-links)."""
    if isinstance(value, str) and value.startswith("/"):
        return _check_path(name, value, empty_ok=False)
    return _check_url(name, value, credentials)


def _checked_elsewhere(name, value, option=None):
    """The planner (overrides, replay), preflight's OS check and rollout.yml's batch check read these; their spec
    type is checked by check_type."""
    return None


def _check_token_path(name, value, option=None):
    if isinstance(value, str) and all(SAFE_TOKEN.match(part) for part in value.split("/")):
        return None
    return "%s=%r must be letters, digits and . _ + - (organisation/name)" % (name, value)


CHECKERS = {
    "owned_dir": _check_owned_dir,
    "host_path": _check_host_path,
    "host_path_list": _each(_check_host_path_required),
    "host_path_or_name": _check_host_path_or_name,
    "controller_path": _check_controller_path,
    "token": _pattern(SAFE_TOKEN, "a plain word (letters, digits and . _ + -)"),
    "token_path": _check_token_path,
    "unix_name": _pattern(UNIX_NAME, "a user or group name (lower-case letters, digits, _ and -)"),
    "unix_name_list": _each(_pattern(UNIX_NAME, "a user name (lower-case letters, digits, _ and -)")),
    "served_name": _pattern(SERVED_NAME, "a model name clients can send: letters, digits and . _ : / + - (at most 128; "
                                         "no spaces, '$' or '%', which systemd would expand)"),
    "revision": _check_revision,
    "argv": _each(_check_argv_item),
    "address": _check_address,
    "ipv4": _pattern(IPV4, "an IPv4 address such as 192.0.2.10 (the floating address keepalived moves between gateways)"),
    "address_list": _each(_pattern(re.compile(r"^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$"), "an address or CIDR block")),
    "netloc": _pattern(re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$"), "host[:port]"),
    "secret": _check_secret,
    "secret_list": _each(_check_secret),
    "client_keys": _each(_check_client_key),
    "url": _check_url,
    "url_list": _each(_check_url),
    "url_or_dir_list": _each(_check_url_or_dir),
    "proxy_url": _check_proxy,
    "no_proxy": _pattern(re.compile(r"^[A-Za-z0-9.,:*/_-]*$"), "a comma-separated list of hosts, domains and CIDR blocks"),
    "duration": _pattern(DURATION, "a time such as 5s, 300ms or 10m"),
    "size": _pattern(SIZE, "a size such as 500G"),
    "requirement_list": _each(_pattern(REQUIREMENT, "a package requirement such as name==1.2 (no options)")),
    "text": _check_text,
    "labels": _check_labels,
    "sha256_map": _check_sha256_map,
    "pattern_map": _check_pattern_map,
    "choice": lambda name, value, choices: None if value in choices else (
        "%s=%r must be one of %s" % (name, value, ", ".join(choices))),
    "choice_list": lambda name, value, choices: next((
        "%s has %r, which is not one of %s" % (name, item, ", ".join(choices)) for item in value
        if item not in choices), None),
    "checked_by_planner": _checked_elsewhere,
    "checked_by_rollout": _checked_elsewhere,
    "checked_by_preflight": _checked_elsewhere,
}


def check_type(name, value, spec):
    """Booleans must be booleans and numbers numbers: "false" is a non-empty string, which Ansible treats as true."""
    kind = spec.get("type", "str")
    if kind == "bool" and not isinstance(value, bool):
        return ("%s=%r must be true or false, not a string; on the command line pass it as JSON: -e '{\"%s\": %s}'"
                % (name, value, name, "true" if str(value).lower() in ("true", "yes", "1", "on") else "false"))
    if kind == "int":
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
            return "%s=%r must be a whole number" % (name, value)
        low, high = RANGES.get(name, (0, None))
        if int(value) < low or (high is not None and int(value) > high):
            return "%s=%s must be between %d and %s" % (name, value, low, high if high is not None else "any")
    if kind == "float" and value is not None:
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None:
            return "%s=%r must be a number" % (name, value)
        low, high = RANGES.get(name, (0, None))
        if number < low or (high is not None and number > high):
            return "%s=%s must be between %d and %s" % (name, value, low, high if high is not None else "any")
    if kind == "dict" and not isinstance(value, dict):
        return "%s must be a mapping (key: value)" % name
    if kind == "list" and not isinstance(value, list):
        return "%s must be a list" % name
    return None


def check_inputs(values, specs):
    """Every error among `values` (variable -> raw value), given the merged argument specs (variable -> spec)."""
    errors = []
    for name in sorted(values):
        value, spec = values[name], specs.get(name)
        if spec is None:
            continue
        error = check_type(name, value, spec)
        if error is None and spec.get("type", "str") in ("str", "path", "list", "raw", "dict"):
            kind, option = RULES[name]
            error = CHECKERS[kind](name, value, option)
        if error:
            errors.append(error)
    return errors


# ---- directories on the host ---------------------------------------------------------------------------------

def owned_dir_wants(paths, service_user):
    """[{var, path, owner, group, mode}] for the toolkit directories in `paths` (variable -> path; empty skipped)."""
    wants = []
    for var, path in sorted(paths.items()):
        if path:
            owner, group, mode = (v.replace("{service}", service_user) for v in OWNED_DIRS[var])
            wants.append({"var": var, "path": path, "owner": owner, "group": group, "mode": mode})
    return wants


def check_owned_dirs(dirs, dedicated, stat, owner_name, group_name):
    """Refuse to take over existing directories the toolkit did not make.

    dirs: [{var, path, owner, group, mode}] as the roles will create them (owned_dir_wants); dedicated: paths the operator says belong
    to gpt-oss-fleet (gpt_oss_dedicated_dirs); stat(path) -> os.stat_result or None; owner_name(uid) / group_name(gid)
    -> names. An existing directory passes when it already has the wanted owner, group and mode (nothing would
    change, e.g. a host this toolkit converged before) or is dedicated; anything else fails, before any change.
    """
    errors, seen = [], {}
    for entry in dirs:
        other = seen.setdefault(entry["path"], entry)
        if other is not entry and (other["owner"], other["group"], other["mode"]) != (
                entry["owner"], entry["group"], entry["mode"]):
            errors.append("%s and %s are both %s, which they need with different owners or modes; give each its "
                          "own directory" % (other["var"], entry["var"], entry["path"]))
    for entry in dirs:
        path = entry["path"]
        info = stat(path)
        if info is None:
            continue
        if not _is_dir(info):
            errors.append("%s=%s exists and is not a directory" % (entry["var"], path))
            continue
        have = (owner_name(info.st_uid), group_name(info.st_gid), info.st_mode & 0o7777)
        want = (entry["owner"], entry["group"], int(str(entry["mode"]), 8))
        if have == want or path in dedicated:
            continue
        errors.append(
            "%s=%s already exists (owner %s, group %s, mode %04o) and gpt-oss-fleet would make it %s:%s %04o, taking it "
            "over from whoever uses it. Point %s at a new directory (e.g. %s/gpt-oss-fleet; the toolkit creates it), "
            "or, if %s is only for gpt-oss-fleet, list it in gpt_oss_dedicated_dirs."
            % (entry["var"], path, have[0], have[1], have[2], want[0], want[1], want[2], entry["var"], path, path))
    return errors


def _is_dir(info):
    return (info.st_mode & 0o170000) == 0o040000


# ---- rollouts --------------------------------------------------------------------------------------------------

def batch_size(serial, hosts):
    """How many hosts Ansible puts in the first batch for `serial` (its own arithmetic: pct_to_int)."""
    if isinstance(serial, str) and serial.endswith("%"):
        return max(1, int(hosts * int(serial[:-1]) / 100.0))
    return int(serial)


def batches(serial, play_hosts):
    """The batches Ansible's `serial` makes of the play's hosts, in play order (every batch the first one's size)."""
    size = max(1, batch_size(serial, len(play_hosts)))
    return [play_hosts[start:start + size] for start in range(0, len(play_hosts), size)]


def model_outages(serial, play_hosts, model_hosts):
    """For each batch that would drain every host serving a model (the gateway routes each model to its own
    backend), (batch number, batch, model). model_hosts: {served model: [hosts serving it]}."""
    found = []
    for number, batch in enumerate(batches(serial, play_hosts), 1):
        for model, hosts in sorted(model_hosts.items()):
            if hosts and set(hosts) <= set(batch):
                found.append((number, batch, model))
    return found


def check_rollout(serial, max_fail, gateway_members, allow_all_at_once, play_hosts=None, model_hosts=None):
    """rollout_serial / rollout_max_fail_percentage before any batch is drained.

    gateway_members: {gateway: number of servers behind it}. serial 0 means "every host at once" to Ansible.
    play_hosts / model_hosts: the rollout's hosts in play order and {served model: [hosts serving it]}: no batch
    may take every host of a model out of the gateway.
    """
    errors = []
    if isinstance(serial, bool) or not (
            (isinstance(serial, int) and serial >= 1)
            or (isinstance(serial, str) and re.match(r"^([1-9][0-9]*|[1-9][0-9]?%|100%)$", serial))):
        errors.append("rollout_serial=%r must be a number of hosts (1 or more) or a percentage such as 25%%; "
                      "0 would drain every host at once" % (serial,))
    elif not allow_all_at_once:
        for gateway, members in sorted(gateway_members.items()):
            size = batch_size(serial, members)
            if members and size >= members:
                errors.append("rollout_serial=%s takes all %d server(s) behind %s out at once: every request fails "
                              "while they upgrade. Use a smaller batch, or set rollout_allow_all_at_once: true to "
                              "accept the outage." % (serial, members, gateway))
        # without a gateway nothing is drained or routed: a rollout is an outage of each host anyway
        hosts = list(play_hosts or []) if gateway_members else []
        for number, batch, model in model_outages(serial, hosts, model_hosts or {}):
            serving = model_hosts[model]
            if len(serving) == 1:
                fix = ("%s is served by %s alone, so no batch keeps it up: add a host serving it, or set "
                       "rollout_allow_all_at_once: true to accept its outage while it upgrades" % (model, serving[0]))
            else:
                safe = next((size for size in range(len(hosts), 0, -1)
                             if not model_outages(size, hosts, model_hosts or {})), None)
                fix = ("%sorder the inventory so that each batch keeps a host of every model, or set "
                       "rollout_allow_all_at_once: true to accept the outage"
                       % ("rollout_serial=%d keeps every model served; or " % safe if safe else ""))
            errors.append("rollout_serial=%s: batch %d (%s) takes every host serving %s (%s) out of the gateway at once: "
                          "every request for %s fails while they upgrade. Fix: %s."
                          % (serial, number, ", ".join(batch), model, ", ".join(serving), model, fix))
    if isinstance(max_fail, bool) or not (
            (isinstance(max_fail, int) and 0 <= max_fail <= 100)
            or (isinstance(max_fail, str) and max_fail.isdigit() and int(max_fail) <= 100)):
        errors.append("rollout_max_fail_percentage=%r must be a number from 0 to 100" % (max_fail,))
    return errors
