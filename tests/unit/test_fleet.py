"""Fleet pieces: HAProxy's runtime API on answers captured from the Molecule gateway (HAProxy 2.6.12, Debian 12),
served over a real Unix socket; the planner's engine release and extra arguments used by rollouts."""
import os
import pathlib
import socket
import threading

import pytest
from ansible.module_utils.haproxy_runtime import (
    HAProxyRuntimeError, admin_state_of_bits, backend_servers, find_server, is_up, parse_servers_state, parse_stat,
    read_admin_state, read_admin_states, read_server, send, sessions, set_state, set_state_command, wait_for,
)
from ansible.module_utils.serving_planner import PlanError, build_serving_plan

from fixture_loader import load_facts

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "haproxy"
STAT = (FIXTURES / "show-stat-drained.txt").read_text()
SERVERS_STATE = (FIXTURES / "show-servers-state-drained.txt").read_text()
REPLICAS = ["replica-%d_gpt-oss-0" % n for n in range(1, 6)]


# --- parsing what HAProxy 2.6 answered -----------------------------------------------------------

def test_show_stat_rows_of_the_backend():
    rows = parse_stat(STAT)
    names = [r["svname"] for r in rows if r["pxname"] == "gpt_oss"]
    assert names == ["FRONTEND"] + REPLICAS + ["BACKEND"]
    drained = find_server(rows, "gpt_oss", "replica-1_gpt-oss-0")
    assert drained["status"] == "DRAIN" and not is_up(drained) and sessions(drained) == 0
    assert is_up(find_server(rows, "gpt_oss", "replica-2_gpt-oss-0"))


def test_unknown_server_names_the_known_ones():
    with pytest.raises(HAProxyRuntimeError, match="no server gpt_oss/replica-9 in HAProxy; it has: gpt_oss/replica-1_gpt-oss-0, gpt_oss/replica-2"):
        find_server(parse_stat(STAT), "gpt_oss", "replica-9")


def test_garbage_is_not_a_stat_answer():
    with pytest.raises(HAProxyRuntimeError, match="unexpected answer"):
        parse_stat("Unknown command.\n")


def test_servers_state_gives_the_admin_state():
    rows = parse_servers_state(SERVERS_STATE)
    states = {r["srv_name"]: admin_state_of_bits(r["srv_admin_state"]) for r in rows}
    assert states == dict.fromkeys(REPLICAS, "ready") | {"replica-1_gpt-oss-0": "drain"}


@pytest.mark.parametrize("bits,state", [(0, "ready"), (0x08, "drain"), (0x10, "drain"), (0x01, "maint"),
                                        (0x09, "maint"), (0x20, "maint"), (0x04, "maint"), (0x40, "maint")])
def test_admin_bits(bits, state):
    assert admin_state_of_bits(bits) == state


@pytest.mark.parametrize("status,up", [("UP", True), ("UP 1/2", True), ("no check", True), ("DOWN", False),
                                       ("DOWN 1/2", False), ("DRAIN", False), ("MAINT", False)])
def test_is_up(status, up):
    assert is_up({"status": status}) is up


def test_set_state_command():
    assert set_state_command("gpt_oss", "a_b", "drain") == "set server gpt_oss/a_b state drain"
    with pytest.raises(ValueError):
        set_state_command("gpt_oss", "a_b", "off")


# --- over a real Unix socket, one command per connection as HAProxy's stats socket does ---------------

class FakeStatsSocket:
    """Answers `show stat` / `show servers state` with the captured texts and applies `set server ... state`."""

    def __init__(self, path):
        self.path = path
        self.commands = []
        self.admin = {name: "ready" for name in REPLICAS} | {"replica-1_gpt-oss-0": "drain"}
        self.status = {name: "UP" for name in REPLICAS}
        self.scur = dict.fromkeys(REPLICAS, 0)
        self.server = socket.socket(socket.AF_UNIX)
        self.server.bind(path)
        self.server.listen(8)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                command = conn.recv(4096).decode().strip()
                self.commands.append(command)
                conn.sendall(self.answer(command).encode())

    def answer(self, command):
        if command == "show stat":
            lines = STAT.splitlines()
            out = [lines[0]]
            for line in lines[1:]:
                fields = line.split(",")
                if len(fields) > 17 and fields[1] in self.status:
                    fields[4] = str(self.scur[fields[1]])
                    fields[17] = "DRAIN" if self.admin[fields[1]] == "drain" and self.status[fields[1]] == "UP" \
                        else self.status[fields[1]]
                out.append(",".join(fields))
            return "\n".join(out) + "\n"
        if command.startswith("show servers state"):
            bits = {"ready": "0", "drain": "8", "maint": "1"}
            lines = SERVERS_STATE.splitlines()
            out = lines[:2]
            for line in lines[2:]:
                fields = line.split()
                if len(fields) > 6:
                    fields[6] = bits[self.admin[fields[3]]]
                out.append(" ".join(fields))
            return "\n".join(out) + "\n"
        if command.startswith("set server "):
            name = command.split()[2].split("/")[1]
            self.admin[name] = command.split()[-1]
            return "\n"
        return "Unknown command.\n"

    def close(self):
        self.server.close()


@pytest.fixture
def stats_socket(tmp_path):
    fake = FakeStatsSocket(str(tmp_path / "admin.sock"))
    yield fake
    fake.close()


def test_read_and_set_over_the_socket(stats_socket):
    path = stats_socket.path
    assert read_admin_states(path, "gpt_oss")["replica-1_gpt-oss-0"] == "drain"
    set_state(path, "gpt_oss", "replica-1_gpt-oss-0", "ready")
    assert read_admin_state(path, "gpt_oss", "replica-1_gpt-oss-0") == "ready"
    assert read_server(path, "gpt_oss", "replica-1_gpt-oss-0")["status"] == "UP"
    assert "set server gpt_oss/replica-1_gpt-oss-0 state ready" in stats_socket.commands


def test_a_drained_server_that_is_down_is_still_drained(stats_socket):
    # the reason the admin state comes from `show servers state`: show stat says DOWN, not DRAIN
    stats_socket.status["replica-1_gpt-oss-0"] = "DOWN"
    path = stats_socket.path
    assert read_server(path, "gpt_oss", "replica-1_gpt-oss-0")["status"] == "DOWN"
    assert read_admin_state(path, "gpt_oss", "replica-1_gpt-oss-0") == "drain"


def test_refused_command_is_an_error(stats_socket, monkeypatch):
    monkeypatch.setattr(stats_socket, "answer", lambda command: "No such server.\n")
    with pytest.raises(HAProxyRuntimeError, match="refused .*No such server"):
        set_state(stats_socket.path, "gpt_oss", "nope", "ready")


def test_wait_for_sessions_to_end(stats_socket):
    stats_socket.scur["replica-2_gpt-oss-0"] = 3
    ticks = iter(range(100))

    def sleep(_):  # one request finishes per poll
        stats_socket.scur["replica-2_gpt-oss-0"] -= 1

    row, met, waited = wait_for(stats_socket.path, "gpt_oss", "replica-2_gpt-oss-0", lambda r: sessions(r) == 0,
                                timeout=60, clock=lambda: next(ticks), sleep=sleep)
    assert met and sessions(row) == 0 and waited == 4  # clock read at the start and at each of 4 polls


def test_wait_for_gives_up_at_the_timeout(stats_socket):
    stats_socket.status["replica-3_gpt-oss-0"] = "DOWN"
    ticks = iter(range(0, 1000, 10))
    row, met, waited = wait_for(stats_socket.path, "gpt_oss", "replica-3_gpt-oss-0", is_up, timeout=30,
                                clock=lambda: next(ticks), sleep=lambda _: None)
    assert not met and row["status"] == "DOWN" and waited == 30


def test_backend_summary(stats_socket):
    rows = parse_stat(send(stats_socket.path, "show stat"))
    servers = backend_servers(rows, "gpt_oss", read_admin_states(stats_socket.path, "gpt_oss"))
    assert [s["name"] for s in servers] == REPLICAS
    assert servers[0]["state"] == "drain" and not servers[0]["up"]
    assert all(s["up"] and s["state"] == "ready" for s in servers[1:])
    assert servers[0]["total"] == 1066  # requests replica-1 had answered when captured


def test_no_socket_is_a_clear_error(tmp_path):
    with pytest.raises(HAProxyRuntimeError, match="HAProxy runtime API at .*missing.sock"):
        send(str(tmp_path / "missing.sock"), "show stat")


# --- planner inputs for rollouts ------------------------------------------------------------------

CPU = {"devices": [], "summary": {"count": 0}}


def test_llamacpp_version_selects_the_wheel_and_the_venv_name():
    default = build_serving_plan(CPU, engine="llamacpp", allow_cpu=True)
    older = build_serving_plan(CPU, engine="llamacpp", allow_cpu=True, llamacpp_version="2026.9.11063")
    assert older["engine_version"] == "2026.9.11063" != default["engine_version"]
    assert older["packages"][0] == "xllamacpp==2026.9.11063"
    assert default["packages"][0] == "xllamacpp==" + default["engine_version"]
    assert older["packages"][1:] == default["packages"][1:]


def test_llamacpp_version_on_a_gpu_plan():
    plan = build_serving_plan(load_facts("rtx4080super"), llamacpp_version="2026.9.11063")
    assert plan["engine"] == "llamacpp" and plan["packages"][0] == "xllamacpp==2026.9.11063"


@pytest.mark.parametrize("bad", ["latest", "2026.9.x", "../x", "1"])
def test_bad_llamacpp_version_names_the_variable(bad):
    with pytest.raises(PlanError, match="gpt_oss_llamacpp_version=.*such as"):
        build_serving_plan(CPU, engine="llamacpp", allow_cpu=True, llamacpp_version=bad)


def test_extra_args_reach_every_replica_and_the_reasons():
    plan = build_serving_plan(load_facts("dgx-h100-8x-nvswitch"), extra_args=["--seed", "7"])
    assert len(plan["replicas"]) > 1
    assert all(r["argv"][-2:] == ["--seed", "7"] for r in plan["replicas"])
    assert plan["argv"][-2:] == ["--seed", "7"]
    assert any("gpt_oss_engine_extra_args: --seed 7" in r for r in plan["reasons"])


@pytest.mark.parametrize("args,flag", [(["--port", "9000"], "--port"), (["--max-model-len=4096"], "--max-model-len")])
def test_extra_args_may_not_override_the_plan(args, flag):
    with pytest.raises(PlanError, match="gpt_oss_engine_extra_args sets %s" % flag):
        build_serving_plan(load_facts("dgx-h100-8x-nvswitch"), extra_args=args)


@pytest.mark.parametrize("bad", [[""], ["  "], [3]])
def test_extra_args_must_be_strings(bad):
    with pytest.raises(PlanError, match="list of non-empty strings"):
        build_serving_plan(CPU, allow_cpu=True, extra_args=bad)


def test_no_extra_args_changes_nothing():
    assert build_serving_plan(CPU, allow_cpu=True) == build_serving_plan(CPU, allow_cpu=True, extra_args=[])


def test_fixture_files_are_haproxy_answers():
    assert STAT.startswith("# pxname,svname,") and SERVERS_STATE.startswith("1\n# be_id be_name")
    assert os.path.getsize(FIXTURES / "show-stat-drained.txt") > 1000
