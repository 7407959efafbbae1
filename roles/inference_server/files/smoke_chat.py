"""Send one chat completion and time it, then the same request without a key and with a wrong one (a server that
accepts those is open to anyone). argv: URL MODEL PROMPT MAX_TOKENS; the API key comes on stdin (so it never shows
in a process listing). Prints JSON: status, latency_s, completion_tokens, content_chars, and the status codes of
the unauthenticated requests (no_key_status, wrong_key_status)."""
import json
import sys
import time
import urllib.error
import urllib.request

url, model, prompt, max_tokens = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
key = sys.stdin.read().rstrip("\n")
body = json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens})


def post(authorization, timeout):
    """(HTTP status, JSON answer or {}) of the chat request sent with this Authorization header (None: none)."""
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            try:
                return response.status, json.load(response)
            except ValueError:  # an answer that is not JSON: no choices, the check below names it
                return response.status, {}
    except urllib.error.HTTPError as error:
        return error.code, {}


started = time.monotonic()
status, payload = post("Bearer " + key, 300)
latency = time.monotonic() - started
choices = payload.get("choices") or [{}]
message = choices[0].get("message") or {}
print(json.dumps({"no_key_status": post(None, 60)[0], "wrong_key_status": post("Bearer x" + key[::-1], 60)[0],
                  "status": status, "latency_s": round(latency, 3),
                  "choices": len(payload.get("choices") or []),
                  "completion_tokens": (payload.get("usage") or {}).get("completion_tokens", 0),
                  "content_chars": len((message.get("content") or "") + (message.get("reasoning_content") or ""))}))
