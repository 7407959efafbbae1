#!/usr/bin/env python3
"""Tiny HTTP helper for run.sh (standard library only; curl may be missing on the device).

  client.py port                       print a free TCP port on 127.0.0.1
  client.py wait URL SECONDS PID       poll URL/health until 200; exit 1 on timeout, 2 if PID exited
  client.py chat URL MODEL             one /v1/chat/completions; print status, seconds and the reply
"""
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def wait(url, seconds, pid):
    start, last = time.time(), "no answer yet"
    while time.time() - start < seconds:
        try:
            os.kill(pid, 0)
        except OSError:
            print("server pid %d exited after %.1f s (last /health: %s)" % (pid, time.time() - start, last))
            return 2
        try:
            with urllib.request.urlopen(url + "/health", timeout=3) as r:
                body = r.read().decode(errors="replace")[:200]
                if r.status == 200:
                    print("/health 200 after %.1f s: %s" % (time.time() - start, body))
                    return 0
                last = "%d %s" % (r.status, body)
        except urllib.error.HTTPError as e:
            last = "%d %s" % (e.code, e.read().decode(errors="replace")[:200])
        except (OSError, ValueError) as e:
            last = repr(e)
        time.sleep(0.25)
    print("/health not 200 within %d s (last: %s)" % (seconds, last))
    return 1


def chat(url, model):
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Say hello."}],
                       "max_tokens": 16, "temperature": 0}).encode()
    req = urllib.request.Request(url + "/v1/chat/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    start = time.time()
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            answer = json.loads(r.read().decode())
            status = r.status
    except urllib.error.HTTPError as e:
        print("chat: HTTP %d after %.2f s: %s" % (e.code, time.time() - start, e.read().decode(errors="replace")[:500]))
        return 1
    except (OSError, ValueError) as e:
        print("chat: failed after %.2f s: %r" % (time.time() - start, e))
        return 1
    choice = (answer.get("choices") or [{}])[0]
    print("chat: HTTP %d in %.2f s, finish_reason=%s, usage=%s, content=%r, timings=%s" % (
        status, time.time() - start, choice.get("finish_reason"), json.dumps(answer.get("usage")),
        (choice.get("message") or {}).get("content"), json.dumps(answer.get("timings"))))
    return 0 if status == 200 and choice else 1


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "port":
        sys.exit(free_port())
    if cmd == "wait":
        sys.exit(wait(sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
    if cmd == "chat":
        sys.exit(chat(sys.argv[2], sys.argv[3]))
    sys.exit("unknown command %r" % cmd)
