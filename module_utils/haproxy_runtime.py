# -*- coding: utf-8 -*-
# Copyright: gpt-oss-fleet contributors
# Apache License 2.0
"""HAProxy's runtime API (the admin stats socket): read `show stat`, put a server in drain, maintenance
or ready, and wait for its sessions to end or its health check to pass. Standard library only.
"""
from __future__ import annotations

import csv
import io
import socket
import time

# `set server <backend>/<server> state <state>` accepts these three.
ADMIN_STATES = ("ready", "drain", "maint")


class HAProxyRuntimeError(Exception):
    """The socket cannot be reached, or HAProxy refused a command."""


def send(socket_path, command, timeout=5.0):
    """Send one command to the admin socket and return HAProxy's answer as text."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(socket_path)
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as error:
        raise HAProxyRuntimeError("HAProxy runtime API at %s: %s" % (socket_path, error))
    finally:
        sock.close()
    return b"".join(chunks).decode("utf-8", "replace")


def parse_stat(text):
    """Rows of `show stat` (CSV with a '# ' header) as dicts keyed by column name."""
    text = text.lstrip()
    if not text.startswith("# "):
        raise HAProxyRuntimeError("unexpected answer to 'show stat': %r" % text[:200])
    return list(csv.DictReader(io.StringIO(text[2:])))


def find_server(rows, backend, server):
    """The `show stat` row of backend/server, or an error naming the servers that do exist."""
    for row in rows:
        if row["pxname"] == backend and row["svname"] == server:
            return row
    known = sorted("%s/%s" % (r["pxname"], r["svname"]) for r in rows if r["svname"] not in ("FRONTEND", "BACKEND"))
    raise HAProxyRuntimeError("no server %s/%s in HAProxy; it has: %s" % (backend, server, ", ".join(known) or "none"))


# srv_admin_state bits of `show servers state` (HAProxy's SRV_ADMF_*): forced/inherited/config/resolver/
# hostname maintenance, forced/inherited drain. The status column of `show stat` cannot tell: a drained
# server whose health check fails shows DOWN.
ADMIN_MAINT_BITS = 0x01 | 0x02 | 0x04 | 0x20 | 0x40
ADMIN_DRAIN_BITS = 0x08 | 0x10


def parse_servers_state(text):
    """`show servers state` (a version line, a '# ' header, space-separated rows) as dicts keyed by column."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = next((line for line in lines if line.startswith("# ")), None)
    if header is None:
        raise HAProxyRuntimeError("unexpected answer to 'show servers state': %r" % text[:200])
    columns = header[2:].split()
    return [dict(zip(columns, line.split())) for line in lines[lines.index(header) + 1:]]


def admin_state_of_bits(bits):
    """ready, drain or maint from srv_admin_state."""
    bits = int(bits)
    if bits & ADMIN_MAINT_BITS:
        return "maint"
    if bits & ADMIN_DRAIN_BITS:
        return "drain"
    return "ready"


def read_admin_states(socket_path, backend):
    """{server name: ready|drain|maint} for one backend."""
    return {row["srv_name"]: admin_state_of_bits(row["srv_admin_state"])
            for row in parse_servers_state(send(socket_path, "show servers state %s" % backend))}


def read_admin_state(socket_path, backend, server):
    states = read_admin_states(socket_path, backend)
    if server not in states:
        raise HAProxyRuntimeError("no server %s/%s in HAProxy" % (backend, server))
    return states[server]


def is_up(row):
    """The health check passes: 'UP', 'UP 1/2' (going down), 'no check'; not DOWN, DRAIN or MAINT."""
    status = row["status"].upper()
    return status.startswith("UP") or status == "NO CHECK"


def sessions(row):
    """Streams currently attached to the server (in-flight requests)."""
    return int(row["scur"] or 0)


def set_state_command(backend, server, state):
    if state not in ADMIN_STATES:
        raise ValueError("state must be one of %s" % ", ".join(ADMIN_STATES))
    return "set server %s/%s state %s" % (backend, server, state)


def read_server(socket_path, backend, server):
    return find_server(parse_stat(send(socket_path, "show stat")), backend, server)


def set_state(socket_path, backend, server, state):
    command = set_state_command(backend, server, state)
    answer = send(socket_path, command).strip()
    if answer:
        raise HAProxyRuntimeError("HAProxy refused %r: %s" % (command, answer))


def wait_for(socket_path, backend, server, done, timeout, interval=0.5, clock=time.monotonic, sleep=time.sleep):
    """Poll the server's row until done(row) or timeout seconds; return (row, met, seconds waited)."""
    started = clock()
    while True:
        row = read_server(socket_path, backend, server)
        waited = clock() - started
        if done(row) or waited >= timeout:
            return row, done(row), round(waited, 2)
        sleep(interval)


def backend_servers(rows, backend, admin_states):
    """A summary of each server of a backend: name, backend, status, state, up, sessions, total, check, downs (UP to
    DOWN transitions), queued (waiting in HAProxy for the server) and limit (maxconn)."""
    return [{"name": r["svname"], "backend": backend, "status": r["status"], "state": admin_states.get(r["svname"], "?"),
             "up": is_up(r), "sessions": sessions(r), "total": int(r["stot"] or 0), "check": r.get("check_status", ""),
             "downs": int(r.get("chkdown") or 0), "queued": int(r.get("qcur") or 0), "limit": int(r.get("slim") or 0)}
            for r in rows if r["pxname"] == backend and r["svname"] not in ("FRONTEND", "BACKEND")]
