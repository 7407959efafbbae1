"""The health gate's quiet first stage (roles/inference_server/files/wait_healthy.py), run as the role runs it (a
Python process given the seconds, the interval and the URLs) against real HTTP servers on loopback: one that
answers 503 while it "loads" (as llama.cpp does), one that is not listening at all."""
import http.server
import json
import pathlib
import socket
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "roles/inference_server/files/wait_healthy.py").read_text()


class Loading(http.server.BaseHTTPRequestHandler):
    ready_at = 0.0

    def do_GET(self):  # noqa: N802 - the name http.server calls
        code = 200 if time.monotonic() >= self.ready_at else 503
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}' if code == 200 else b'{"error": "Loading model"}')

    def log_message(self, *args):
        pass


def serve(ready_in):
    handler = type("Handler", (Loading,), {"ready_at": time.monotonic() + ready_in})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d/health" % server.server_address[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(seconds, *urls):
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(seconds), "0.5", *urls], capture_output=True, text=True,
                         timeout=60, check=False)
    return run.returncode, json.loads(run.stdout), time.monotonic() - started


def test_replicas_that_load_quickly_are_seen_healthy_within_the_interval():
    first, first_url = serve(ready_in=1.5)
    second, second_url = serve(ready_in=0)
    try:
        rc, last, took = wait(30, first_url, second_url)
    finally:
        first.shutdown()
        second.shutdown()
    assert rc == 0 and last == {first_url: 200, second_url: 200}
    assert 1.5 <= took < 4, took  # not the 5 s a retry of the uri task waits


def test_a_replica_still_loading_or_not_listening_hands_over_to_the_retries():
    loading, loading_url = serve(ready_in=600)
    silent_url = "http://127.0.0.1:%d/health" % free_port()
    try:
        rc, last, took = wait(2, loading_url, silent_url)
    finally:
        loading.shutdown()
    assert rc == 1 and last == {loading_url: 503, silent_url: 0}
    assert 2 <= took < 6, took
