"""GPT-OSS acceptance checks and a short benchmark against one replica, with the official OpenAI Python SDK.

    python acceptance.py BASE_URL MODEL SPEC_JSON   (the API key on stdin, so it never shows in a process listing)

BASE_URL is the replica's (or a gateway's) http://host:port. SPEC_JSON (from the host record's `acceptance`
section) says which checks to run, which of them this engine does not serve, and the benchmark's shape:
    {"checks": ["models", "chat", ...], "not_served": ["responses"], "skip": ["tool_call"],
     "benchmark": {"concurrency": 2, "requests": 8, "max_tokens": 64, "duration_s": 60, "warmup": 1},
     "confirm": {"floor_tokens_per_s": 410.0, "runs": 2, "pause_s": 5}}
"confirm" (optional) re-measures a benchmark whose aggregate tokens/s came out below the floor, up to `runs` more
times with `pause_s` between, and keeps the best: other work on a shared host only ever slows a benchmark down, so a
slow measurement says little until it repeats, and a rollback is too costly to hang on one.
Prints one JSON object: {"checks": {name: {"result": "pass"|"fail"|"not-served"|"skipped", "detail": str,
"seconds": s}}, "benchmark": {..., "runs": [aggregate tokens/s of each measurement]}}. Every check runs even when
an earlier one failed, so one run shows every broken path.

The prompts and the answers GPT-OSS gives them are CONVERSATIONS below: the checks send these prompts, and the
test suite's tiny model is trained on exactly these answers (tests/tools/train_harmony_gptoss.py imports this
file), so the checks prove the engine's harmony rendering, reasoning split and tool parsing on a model that
really emits them. With the real GPT-OSS the checks look only at the shape of the answers, never their words.
"""
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

CAPITAL_PROMPT = "What is the capital of France?"
WEATHER_PROMPT = "What is the weather in Paris right now?"
BENCH_PROMPT = "Tell me a long story about a lighthouse keeper."
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
WEATHER_ARGUMENTS = '{"city": "Paris"}'
WEATHER_RESULT = '{"city": "Paris", "temperature_c": 18}'
CAPITAL_COMPLETION = ("<|channel|>analysis<|message|>The user asks for the capital of France. That is Paris.<|end|>"
                      "<|start|>assistant<|channel|>final<|message|>The capital of France is Paris.<|return|>")
STORY = ("Mara kept the lighthouse on the northern rock for forty years. Every night she climbed the spiral stairs, "
         "trimmed the wick and watched the beam sweep the dark water. Ships passed safely, and sailors told stories "
         "of the keeper who never missed a night, not in storms, not in snow, not when the sea rose over the rocks.")
CONVERSATIONS = [
    {"name": "chat", "api": "chat", "messages": [{"role": "user", "content": CAPITAL_PROMPT}],
     "completion": CAPITAL_COMPLETION},
    {"name": "responses", "api": "responses", "input": CAPITAL_PROMPT, "completion": CAPITAL_COMPLETION},
    {"name": "tool_call", "api": "chat", "tools": [WEATHER_TOOL],
     "messages": [{"role": "user", "content": WEATHER_PROMPT}],
     "completion": ("<|channel|>analysis<|message|>The user wants the weather in Paris. Call get_weather.<|end|>"
                    "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
                    + WEATHER_ARGUMENTS + "<|call|>")},
    {"name": "tool_result", "api": "chat", "tools": [WEATHER_TOOL],
     "messages": [{"role": "user", "content": WEATHER_PROMPT},
                  {"role": "assistant", "content": None, "tool_calls": [
                      {"id": "call_0", "type": "function",
                       "function": {"name": "get_weather", "arguments": WEATHER_ARGUMENTS}}]},
                  {"role": "tool", "tool_call_id": "call_0", "content": WEATHER_RESULT}],
     "completion": "<|channel|>final<|message|>It is 18 degrees Celsius in Paris.<|return|>"},
    {"name": "benchmark", "api": "chat", "messages": [{"role": "user", "content": BENCH_PROMPT}],
     "completion": ("<|channel|>analysis<|message|>A story about a lighthouse keeper.<|end|>"
                    "<|start|>assistant<|channel|>final<|message|>" + STORY + "<|return|>")},
]
HARMONY_MARKERS = ("<|channel|>", "<|message|>", "<|start|>", "<|end|>", "<|return|>", "<|call|>")


class CheckFailed(Exception):
    pass


class NotServed(Exception):
    pass


def reasoning_of(message):
    """The reasoning text, in each engine's field: vLLM >= 0.11 `reasoning`, llama.cpp and older vLLM
    `reasoning_content`. The SDK keeps fields it does not model in model_extra."""
    extra = getattr(message, "model_extra", None) or {}
    return getattr(message, "reasoning", None) or extra.get("reasoning") or extra.get("reasoning_content") or ""


def expect(condition, detail):
    if not condition:
        raise CheckFailed(detail)


def short(value, limit=160):
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


class Checks:
    def __init__(self, openai, base_url, model, key):
        self.openai = openai
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.key = key
        self.client = openai.OpenAI(base_url=self.base_url + "/v1", api_key=key, timeout=300, max_retries=0)
        self.chat_answer = None

    def models(self):
        ids = [entry.id for entry in self.client.models.list().data]
        expect(self.model in ids, "/v1/models lists %s, not %s" % (ids, self.model))
        return "lists %s" % ", ".join(ids)

    def _capital(self):
        if self.chat_answer is None:
            self.chat_answer = self.client.chat.completions.create(
                model=self.model, messages=CONVERSATIONS[0]["messages"], temperature=0, max_tokens=200)
        return self.chat_answer

    def chat(self):
        answer = self._capital()
        expect(answer.choices, "no choices in the answer")
        message = answer.choices[0].message
        expect((message.content or "").strip(), "an empty answer (finish_reason %s)" % answer.choices[0].finish_reason)
        return "%d completion tokens: %s" % (answer.usage.completion_tokens if answer.usage else 0,
                                             short(message.content, 60))

    def reasoning(self):
        message = self._capital().choices[0].message
        reasoning, content = reasoning_of(message), message.content or ""
        expect(reasoning.strip(), "no reasoning field in the answer (content: %r): the engine is not splitting the "
               "analysis channel from the final answer" % short(content, 80))
        leaked = [marker for marker in HARMONY_MARKERS if marker in content]
        expect(not leaked, "harmony markup %s in the answer's content: %r" % (leaked, short(content, 80)))
        # a leak repeats the whole analysis in the answer; a short reasoning may honestly recur in it
        expect(len(reasoning.strip()) < 40 or reasoning.strip() not in content,
               "the reasoning is repeated in the content: %r" % short(content, 80))
        return "reasoning %d chars, answer %d chars" % (len(reasoning), len(content))

    def streaming(self):
        started = time.monotonic()
        first = None
        content, reasoning, chunks, finish = [], [], 0, None
        stream = self.client.chat.completions.create(
            model=self.model, messages=CONVERSATIONS[0]["messages"], temperature=0, max_tokens=200, stream=True)
        for chunk in stream:
            chunks += 1
            for choice in chunk.choices:
                delta = choice.delta
                piece = (delta.content or "") + reasoning_of(delta)
                if piece and first is None:
                    first = time.monotonic() - started
                content.append(delta.content or "")
                reasoning.append(reasoning_of(delta))
                finish = choice.finish_reason or finish
        text = "".join(content)
        expect(chunks >= 2, "the stream sent %d chunk(s)" % chunks)
        expect(text.strip(), "the stream carried no content (finish_reason %s)" % finish)
        expect(finish is not None, "the stream ended without a finish_reason")
        # greedy, so usually the same words as unstreamed; on a GPU batching can change the numerics, so a
        # difference is reported, not failed
        plain = (self._capital().choices[0].message.content or "")
        same = "the same answer as unstreamed" if text == plain else "an answer that differs from the unstreamed one"
        return "%d chunks, first token after %.2f s, %s" % (chunks, first or 0.0, same)

    def tool_call(self):
        messages = list(CONVERSATIONS[2]["messages"])
        answer = self.client.chat.completions.create(model=self.model, messages=messages, tools=[WEATHER_TOOL],
                                                     tool_choice="auto", temperature=0, max_tokens=200)
        choice = answer.choices[0]
        calls = choice.message.tool_calls or []
        expect(calls, "no tool_calls (finish_reason %s, content %r): is the engine's tool-call parser enabled?"
               % (choice.finish_reason, short(choice.message.content or "", 80)))
        call = calls[0]
        expect(call.function.name == "get_weather", "called %r, not get_weather" % call.function.name)
        try:
            arguments = json.loads(call.function.arguments)
        except ValueError:
            raise CheckFailed("the call's arguments are not JSON: %r" % short(call.function.arguments, 80))
        expect(isinstance(arguments, dict) and arguments.get("city"), "arguments without a city: %r" % arguments)
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function",
             "function": {"name": call.function.name, "arguments": call.function.arguments}}]})
        messages.append({"role": "tool", "tool_call_id": call.id, "content": WEATHER_RESULT})
        final = self.client.chat.completions.create(model=self.model, messages=messages, tools=[WEATHER_TOOL],
                                                    tool_choice="auto", temperature=0, max_tokens=200)
        message = final.choices[0].message
        expect(not message.tool_calls, "the model called a tool again instead of answering")
        expect((message.content or "").strip(), "no final answer after the tool's result")
        return "get_weather(%s) -> %s" % (call.function.arguments, short(message.content, 60))

    def responses(self):
        try:
            answer = self.client.responses.create(model=self.model, input=CAPITAL_PROMPT, temperature=0,
                                                  max_output_tokens=200)
        except self.openai.NotFoundError as error:
            raise NotServed("POST /v1/responses: %s" % short(str(error), 100))
        text = answer.output_text or ""
        expect(text.strip(), "no output_text (output types: %s)" % [item.type for item in answer.output])
        return "output_text: %s" % short(text, 60)

    def auth(self):
        wrong = self.openai.OpenAI(base_url=self.base_url + "/v1", api_key="x" + self.key[::-1], timeout=60,
                                   max_retries=0)
        try:
            wrong.chat.completions.create(model=self.model, messages=CONVERSATIONS[0]["messages"], max_tokens=1)
            raise CheckFailed("a chat completion with a wrong key was answered: the replica serves anyone")
        except self.openai.AuthenticationError:
            pass
        # no Authorization header at all: the SDK always sends one, so this one goes without it
        request = urllib.request.Request(self.base_url + "/v1/chat/completions", method="POST",
                                         data=json.dumps({"model": self.model, "max_tokens": 1,
                                                          "messages": CONVERSATIONS[0]["messages"]}).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raise CheckFailed("a chat completion without a key was answered (HTTP %d)" % response.status)
        except urllib.error.HTTPError as error:
            expect(error.code == 401, "a request without a key got HTTP %d, not 401" % error.code)
        return "401 without a key and with a wrong one"


def run_checks(checks, names, not_served, skip=()):
    results = {}
    for name in names:
        if name in skip:
            results[name] = {"result": "skipped", "detail": "not run: listed in inference_server_acceptance_skip",
                             "seconds": 0}
            continue
        started = time.monotonic()
        try:
            result, detail = "pass", getattr(checks, name)()
        except NotServed as error:
            result, detail = ("not-served" if name in not_served else "fail"), str(error)
        except CheckFailed as error:
            result, detail = "fail", str(error)
        except Exception as error:  # the SDK's errors: a status the check did not expect, a broken stream
            result, detail = "fail", "%s: %s" % (type(error).__name__, short(str(error), 200))
        results[name] = {"result": result, "detail": detail, "seconds": round(time.monotonic() - started, 2)}
    return results


def one_streamed(client, model, max_tokens):
    """(time to first token, completion tokens, seconds) of one streamed benchmark request."""
    started = time.monotonic()
    first, tokens, pieces = None, None, 0
    stream = client.chat.completions.create(model=model, messages=CONVERSATIONS[4]["messages"], temperature=0,
                                            max_tokens=max_tokens, stream=True,
                                            stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
        for choice in chunk.choices:
            if (choice.delta.content or reasoning_of(choice.delta)):
                pieces += 1
                if first is None:
                    first = time.monotonic() - started
    if first is None:
        raise CheckFailed("a benchmark request streamed no tokens")
    return first, tokens if tokens is not None else pieces, time.monotonic() - started


def benchmark(client, model, spec):
    """Time to first token, output tokens/s per request and in aggregate: `requests` streamed requests at most,
    `concurrency` at a time, none started after `duration_s`; `warmup` requests first, not counted."""
    for _ in range(spec.get("warmup", 1)):
        one_streamed(client, model, spec["max_tokens"])
    lock = threading.Lock()
    samples, errors = [], []
    remaining = [spec["requests"]]
    deadline = time.monotonic() + spec["duration_s"]

    def worker():
        while True:
            with lock:
                if remaining[0] <= 0 or time.monotonic() > deadline:
                    return
                remaining[0] -= 1
            try:
                sample = one_streamed(client, model, spec["max_tokens"])
            except Exception as error:  # counted, and the benchmark fails below
                with lock:
                    errors.append("%s: %s" % (type(error).__name__, short(str(error), 120)))
                continue
            with lock:
                samples.append(sample)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(spec["concurrency"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    per_request = [(tokens - 1) / (seconds - ttft) for ttft, tokens, seconds in samples if tokens > 1 and seconds > ttft]
    tokens = sum(sample[1] for sample in samples)
    return {"requests": len(samples), "failed": len(errors), "errors": errors[:3],
            "concurrency": spec["concurrency"], "max_tokens": spec["max_tokens"],
            "output_tokens": tokens, "wall_s": round(wall, 3),
            "ttft_s_median": round(statistics.median([s[0] for s in samples]), 4) if samples else None,
            "ttft_s_max": round(max(s[0] for s in samples), 4) if samples else None,
            "tokens_per_s_per_request_median": round(statistics.median(per_request), 2) if per_request else None,
            "tokens_per_s_aggregate": round(tokens / wall, 2) if samples and wall > 0 else None}


def confirmed(measure, floor, runs, pause_s, sleep=time.sleep):
    """The best of measure() and up to `runs` more measurements while the best is below `floor` tokens/s, with each
    measurement's aggregate in "runs". A measurement that failed (an error, a failed request) ends it as it is: that
    is a broken endpoint, not a slow one."""
    def rate(result):
        return result.get("tokens_per_s_aggregate") or 0

    def broken(result):
        return bool(result.get("error") or result.get("failed"))

    best = measure()
    seen = [best.get("tokens_per_s_aggregate")]
    while floor and len(seen) <= runs and not broken(best) and rate(best) < floor:
        sleep(pause_s)
        again = measure()
        seen.append(again.get("tokens_per_s_aggregate"))
        if broken(again) or rate(again) > rate(best):
            best = again
    return dict(best, runs=seen)


def main():
    import openai  # here, not at the top: the trainer imports CONVERSATIONS without needing the SDK's version

    base_url, model, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    key = sys.stdin.read().rstrip("\n")
    checks = Checks(openai, base_url, model, key)
    started = time.monotonic()
    report = {"base_url": base_url, "model": model, "sdk": "openai %s" % openai.__version__,
              "checks": run_checks(checks, spec["checks"], set(spec.get("not_served", [])), set(spec.get("skip", [])))}
    if spec.get("benchmark"):
        try:  # the checks' client: the SDK's clients are safe to share between threads
            confirm = spec.get("confirm") or {}
            report["benchmark"] = confirmed(lambda: benchmark(checks.client, model, spec["benchmark"]),
                                            confirm.get("floor_tokens_per_s"), confirm.get("runs", 0),
                                            confirm.get("pause_s", 5))
        except Exception as error:
            report["benchmark"] = {"error": "%s: %s" % (type(error).__name__, short(str(error), 200))}
    report["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
