#!/usr/bin/env python3
"""A bounded load generator for the fleet tests: chat completions through the gateway, plain and streamed
(SSE), from a few concurrent workers, until a stop file appears or the time limit passes.

Every request is counted: ok (HTTP 200 and, streamed, a final `data: [DONE]`), or failed with its reason.
With --probe-url, a separate thread GETs that URL every --probe-interval seconds with --probe-timeout, as a load
balancer's health check would, and counts the probes that fail or time out (the saturation test: is a busy replica
still seen as alive?). Writes a JSON summary to --out; prints it too.

    load_gen.py --url http://gw:8080 --key KEY --model gpt-oss-20b --stop-file /tmp/stop --out result.json
"""
import argparse
import json
import os
import threading
import time
import urllib.error
import urllib.request


def one_request(url, key, model, stream, timeout, max_tokens=8, ignore_eos=False):
    fields = {"model": model, "stream": stream, "max_tokens": max_tokens, "temperature": 0,
              "messages": [{"role": "user", "content": "Say hello."}]}
    if ignore_eos:
        fields["ignore_eos"] = True  # llama.cpp's and vLLM's extension: generate all max_tokens
    body = json.dumps(fields).encode()
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
            one_request(args.url, args.key, args.model, stream, args.timeout, args.max_tokens, args.ignore_eos)
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


def prober(args, stats, lock, deadline):
    """GET --probe-url as a health check does, until the load stops; record each failure and the slowest answer."""
    while time.monotonic() < deadline and not os.path.exists(args.stop_file):
        started = time.monotonic()
        error = None
        try:
            with urllib.request.urlopen(args.probe_url, timeout=args.probe_timeout) as response:
                response.read()
        except Exception as e:  # noqa: BLE001 - a timeout, a refusal or an error status all fail the check
            error = type(e).__name__ + ": " + str(e)[:80]
        elapsed = time.monotonic() - started
        with lock:
            probes = stats["probes"]
            probes["sent"] += 1
            probes["max_s"] = round(max(probes["max_s"], elapsed), 3)
            if error:
                probes["failed"] += 1
                probes["errors"][error] = probes["errors"].get(error, 0) + 1
        time.sleep(max(0.0, args.probe_interval - elapsed))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="gateway base URL")
    parser.add_argument("--key", default=os.environ.get("LOAD_GEN_KEY", ""), help="API key (or LOAD_GEN_KEY)")
    parser.add_argument("--model", default="gpt-oss-20b")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=900)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between a worker's requests")
    parser.add_argument("--max-tokens", type=int, default=8, help="tokens per answer (long requests: more)")
    parser.add_argument("--ignore-eos", action="store_true", help="generate all --max-tokens (long requests)")
    parser.add_argument("--probe-url", help="a health URL to probe while the load runs")
    parser.add_argument("--probe-interval", type=float, default=2)
    parser.add_argument("--probe-timeout", type=float, default=5)
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    stats = {"sent": 0, "ok": 0, "failed": 0, "streamed": 0, "errors": {}, "failures": [], "_latencies": [],
             "_t0": time.monotonic()}
    lock = threading.Lock()
    deadline = time.monotonic() + args.max_seconds
    threads = [threading.Thread(target=worker, args=(args, n, stats, lock, deadline)) for n in range(args.workers)]
    if args.probe_url:
        stats["probes"] = {"url": args.probe_url, "sent": 0, "failed": 0, "max_s": 0.0, "errors": {}}
        threads.append(threading.Thread(target=prober, args=(args, stats, lock, deadline)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = sorted(stats.pop("_latencies"))
    stats["seconds"] = round(time.monotonic() - stats.pop("_t0"), 1)
    stats["stopped_by"] = "stop file" if os.path.exists(args.stop_file) else "time limit"
    if latencies:
        stats["latency_p50_s"] = round(latencies[len(latencies) // 2], 3)
        stats["latency_p95_s"] = round(latencies[int(len(latencies) * 0.95)], 3)
        stats["latency_max_s"] = round(latencies[-1], 3)
    with open(args.out, "w") as handle:
        json.dump(stats, handle, indent=1)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
