#!/usr/bin/env python3
"""Feed command lines to the REAL vLLM argument parser of the installed release, on CPU.

argv  : the module holding make_arg_parser in this release (the catalog's parser_module)
stdin : JSON list of argv lists, each exactly as the systemd unit runs it
        ([python, "-m", module, flags...]).
stdout: JSON list of {"ok": bool, "error": str} in the same order.
Checks: argparse (unknown flags, bad choices and types), vLLM's validate_parsed_serve_args, and that
the --tool-call-parser / --reasoning-parser names are registered in that release.
"""
import contextlib
import importlib
import io
import json
import os
import sys

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")


def force_cpu_platform():
    """vLLM 0.10.x resolves its platform lazily; a CUDA wheel without a GPU must be told."""
    try:
        import vllm.platforms as platforms
        from vllm.platforms.cpu import CpuPlatform
        if getattr(platforms, "_current_platform", None) is None:
            platforms._current_platform = CpuPlatform()
    except Exception:  # newer releases pick CPU from VLLM_TARGET_DEVICE
        pass


def load_cli_args(name):
    """The release's own parser module, as the catalog names it (parser_module): a wrong name fails here."""
    module = importlib.import_module(name)
    if not hasattr(module, "make_arg_parser"):
        raise SystemExit("%s has no make_arg_parser in this release" % name)
    return module


def registered_tool_parsers():
    for name in ("vllm.tool_parsers", "vllm.entrypoints.openai.tool_parsers"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        manager = module.ToolParserManager
        if hasattr(manager, "list_registered"):
            return set(manager.list_registered())
        return set(manager.tool_parsers)
    return None


def main():
    real_stdout, sys.stdout = sys.stdout, sys.stderr  # vLLM logs to stdout; keep it for the JSON
    force_cpu_platform()
    cli_args = load_cli_args(sys.argv[1])
    try:
        from vllm.utils.argparse_utils import FlexibleArgumentParser
    except ImportError:  # vLLM <= 0.11
        from vllm.utils import FlexibleArgumentParser
    tool_parsers = registered_tool_parsers()
    results = []
    for argv in json.load(sys.stdin):
        flags = argv[3:] if len(argv) > 2 and argv[1] == "-m" else argv[1:]
        parser = cli_args.make_arg_parser(FlexibleArgumentParser(prog="vllm"))
        stderr = io.StringIO()
        try:
            with contextlib.redirect_stderr(stderr):
                args = parser.parse_args(flags)
            cli_args.validate_parsed_serve_args(args)
            if args.tool_call_parser and tool_parsers is not None and args.tool_call_parser not in tool_parsers:
                raise ValueError("tool call parser %r is not registered (have: %s)"
                                 % (args.tool_call_parser, ", ".join(sorted(tool_parsers))))
            results.append({"ok": True, "error": ""})
        except SystemExit:
            results.append({"ok": False, "error": stderr.getvalue().strip().splitlines()[-1:]})
        except Exception as error:  # noqa: BLE001 - report whatever the parser raised
            results.append({"ok": False, "error": "%s: %s" % (type(error).__name__, error)})
    json.dump(results, real_stdout)


if __name__ == "__main__":
    main()
