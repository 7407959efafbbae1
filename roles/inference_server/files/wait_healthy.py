"""Poll each replica's /health until every one answers 200 or SECONDS pass. argv: SECONDS INTERVAL URL [URL ...].
Prints JSON {url: last status (0: no answer)} and exits 0 when every one answered 200, 1 when not.

The health gate's first, quiet stage: a replica that loads in a few seconds (a small model, a restart of a warm
host, a no-op converge) is seen healthy within INTERVAL of it, and every replica costs one round trip together; the
5-second retries of the uri task, which print a line each as progress, only take over for a load that takes longer."""
import json
import sys
import time
import urllib.error
import urllib.request


def status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:  # llama.cpp answers 503 while its model loads
        return error.code
    except (OSError, ValueError):  # not listening yet, reset, timed out
        return 0


def main():
    seconds, interval, urls = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    deadline = time.monotonic() + seconds
    last = {url: 0 for url in urls}
    while True:
        for url in urls:
            if last[url] != 200:
                last[url] = status(url)
        if all(code == 200 for code in last.values()) or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    print(json.dumps(last))
    return 0 if all(code == 200 for code in last.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
