#!/usr/bin/env python3
"""What the official OpenAI SDK raises for the gateway's refusals: one chat request per case named on the command
line, printed as JSON {case: exception class name or "ok"}. The keys come on stdin (one JSON object:
{"all": ..., "team": ...}), never argv. Cases: unknown-model, wrong-key, outside-scope, inside-scope (the team key).

    sdk_errors.py http://gateway:8080 unknown-model wrong-key < keys.json
"""
import json
import sys

import openai


def outcome(client, model):
    try:
        client.chat.completions.create(model=model, max_tokens=2, messages=[{"role": "user", "content": "Hello"}])
        return "ok"
    except openai.APIStatusError as error:
        return type(error).__name__


def main():
    url, keys = sys.argv[1], json.load(sys.stdin)

    def client(key):
        # no retries: the SDK would wait out a 429's Retry-After and try again
        return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=60)

    every_case = {
        "unknown-model": lambda: outcome(client(keys["all"]), "gpt-4o"),
        "wrong-key": lambda: outcome(client("not-a-key-0123456789abcdef"), "gpt-oss-20b"),
        "outside-scope": lambda: outcome(client(keys["team"]), "gpt-oss-120b"),
        "inside-scope": lambda: outcome(client(keys["team"]), "gpt-oss-20b"),
    }
    cases = {name: every_case[name]() for name in sys.argv[2:]}
    print(json.dumps(cases))


if __name__ == "__main__":
    main()
