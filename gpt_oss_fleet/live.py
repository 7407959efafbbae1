"""The live view of a run: one line per host with its role, its step and the elapsed time.

On a terminal the block of host lines is redrawn in place; elsewhere (CI logs, pipes) a host's line is printed when
its role changes, when it fails and, at most every `quiet_s` seconds, while one step runs long (a download, a
health wait), so a 20-minute first converge never goes silent. A failed host's message is printed as it happens."""
import json
import re
import threading
import time

from gpt_oss_fleet.runs import failure_message

# The weights role's wait task names the progress file it polls (roles/model_weights/tasks/download.yml).
DOWNLOAD_TASK = re.compile(r"^Wait for the download \(progress, bytes and rate in (?P<path>\S+)\)")


def download_path(task_name):
    match = DOWNLOAD_TASK.match(task_name or "")
    return match.group("path") if match else None


def progress_text(line):
    """'412.0/1024.0 MiB (40.2 %), 85.3 MiB/s' from a line of hf_snapshot's progress file, or None."""
    try:
        record = json.loads(line)
        return "%.1f/%.1f MiB (%.1f %%), %.1f MiB/s" % (record["done_bytes"] / 1048576.0,
                                                        record["total_bytes"] / 1048576.0,
                                                        record["percent"], record["rate_mib_s"])
    except (ValueError, KeyError, TypeError):
        return None


class LiveView(object):
    def __init__(self, stream, tty, quiet_s=30.0, clock=time.monotonic):
        self.stream, self.tty, self.quiet_s, self.clock = stream, tty, quiet_s, clock
        self.started = clock()
        self.hosts = {}  # host -> {role, task, step_started, state, progress, printed_role, printed_at}
        self.lock = threading.Lock()
        self.drawn = 0
        self.failures = []

    def _host(self, name):
        return self.hosts.setdefault(name, {"role": "", "task": "", "step_started": self.clock(), "state": "running",
                                            "progress": None, "printed_role": None, "printed_at": 0.0})

    def event(self, event):
        """ansible-runner's event_handler: fold an event in; returns True (keep the event)."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        name = data.get("host")
        with self.lock:
            if name and kind == "runner_on_start":
                host = self._host(name)
                host.update(role=data.get("role") or "", task=data.get("task") or "", step_started=self.clock(),
                            progress=None)
                self._maybe_print(name)
            elif name and kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
                host = self._host(name)
                host["state"] = "UNREACHABLE" if kind == "runner_on_unreachable" else "FAILED"
                message = failure_message(data.get("res") or {})
                self.failures.append((name, data.get("task"), message))
                self._print("!! %s failed at %s: %s" % (name, data.get("task"), message.splitlines()[0][:300]
                                                        if message else ""))
            elif name and kind == "runner_retry":
                self._maybe_print(name)
        return True

    def message(self, text):
        """Print text between the host lines (a --diff, a warning)."""
        with self.lock:
            self._print(text)

    def set_progress(self, name, text):
        with self.lock:
            if name in self.hosts:
                self.hosts[name]["progress"] = text

    def download_hosts(self):
        """The hosts waiting on a download now, with their progress file."""
        with self.lock:
            return {name: download_path(host["task"]) for name, host in self.hosts.items()
                    if host["state"] == "running" and download_path(host["task"])}

    def line(self, name):
        host = self.hosts[name]
        now = self.clock()
        step = host["task"]
        if host["progress"]:
            step = "downloading weights: %s" % host["progress"]
        return "%-20s %-17s %-60s %5ds %s" % (name, host["role"] or "-", step[:60], now - host["step_started"],
                                              "" if host["state"] == "running" else host["state"])

    def _print(self, text):
        if self.tty and self.drawn:
            self.stream.write("\x1b[%dA\x1b[J" % self.drawn)
            self.drawn = 0
        self.stream.write(text + "\n")
        self.stream.flush()
        if self.tty:
            self._draw()

    def _maybe_print(self, name):
        if self.tty:
            return
        host = self.hosts[name]
        now = self.clock()
        if host["task"].startswith("Validating arguments against arg spec"):
            return  # every role starts with one: the role's first own step says more
        if host["role"] != host["printed_role"] or now - host["printed_at"] >= self.quiet_s:
            host["printed_role"], host["printed_at"] = host["role"], now
            self.stream.write("[%5ds] %s\n" % (now - self.started, self.line(name)))
            self.stream.flush()

    def _draw(self):
        lines = [self.line(name) for name in sorted(self.hosts)]
        lines.append("elapsed %ds" % (self.clock() - self.started))
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self.drawn = len(lines)

    def tick(self):
        """Called every second or so: redraw on a terminal, or print long steps' progress elsewhere."""
        with self.lock:
            if self.tty:
                if self.drawn:
                    self.stream.write("\x1b[%dA\x1b[J" % self.drawn)
                self._draw()
            else:
                for name in sorted(self.hosts):
                    if self.hosts[name]["state"] == "running":
                        self._maybe_print(name)
