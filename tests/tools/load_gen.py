#!/usr/bin/env python3
"""A bounded load generator for the fleet tests: chat completions through the gateway, plain and streamed
(SSE), from a few concurrent workers, until a stop file appears or the time limit passes.

Every request is counted: ok (HTTP 200 and, streamed, a final `data: [DONE]`), or failed with its reason.
Writes a JSON summary to --out; prints it too.

    load_gen.py --url http://gw:8080 --key KEY --model gpt-oss-20b --stop-file /tmp/stop --out result.json
"""
import argparse
import json
import os
import threading
import time
import urllib.error
import urllib.request


def one_request(url, key, model, stream, timeout):
    body = json.dumps({"model": model, "stream": stream, "max_tokens": 8, "temperature": 0,
                       "messages": [{"role": "user", "content": "Say hello."}]}).encode()
    request = urllib.request.Request(url + "/v1/chat/completions", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer " + key})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = response.read().decode("utf-8", "replace")
    if stream:
        if "data: [DONE]" not in payload:
            raise ValueError("stream ended without data: [DONE]")
    elif not json.loads(payload).get("choices"):
        raise ValueError("no choices in the answer")


def worker(args, number, stats, lock, deadline):
    sent = 0
    while time.monotonic() < deadline and not os.path.exists(args.stop_file):
        stream = (number + sent) % 2 == 1
        started = time.monotonic()
        error = None
        try:
            one_request(args.url, args.key, args.model, stream, args.timeout)
        except urllib.error.HTTPError as e:
            error = "HTTP %d" % e.code
        except Exception as e:  # noqa: BLE001 - every failure is counted by kind
            error = type(e).__name__ + ": " + str(e)[:120]
        elapsed = time.monotonic() - started
        with lock:
            stats["sent"] += 1
            stats["streamed"] += int(stream)
            if error:
                stats["failed"] += 1
                stats["errors"][error] = stats["errors"].get(error, 0) + 1
                stats["failures"].append({"at_s": round(time.monotonic() - stats["_t0"], 2), "error": error})
            else:
                stats["ok"] += 1
                stats["_latencies"].append(elapsed)
        sent += 1
        if args.pause:
            time.sleep(args.pause)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="gateway base URL")
    parser.add_argument("--key", default=os.environ.get("LOAD_GEN_KEY", ""), help="API key (or LOAD_GEN_KEY)")
    parser.add_argument("--model", default="gpt-oss-20b")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=900)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between a worker's requests")
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    stats = {"sent": 0, "ok": 0, "failed": 0, "streamed": 0, "errors": {}, "failures": [], "_latencies": [],
             "_t0": time.monotonic()}
    lock = threading.Lock()
    deadline = time.monotonic() + args.max_seconds
    threads = [threading.Thread(target=worker, args=(args, n, stats, lock, deadline)) for n in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = sorted(stats.pop("_latencies"))
    stats["seconds"] = round(time.monotonic() - stats.pop("_t0"), 1)
    stats["stopped_by"] = "stop file" if os.path.exists(args.stop_file) else "time limit"
    if latencies:
        stats["latency_p50_s"] = round(latencies[len(latencies) // 2], 3)
        stats["latency_max_s"] = round(latencies[-1], 3)
    with open(args.out, "w") as handle:
        json.dump(stats, handle, indent=1)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
