#!/usr/bin/env python3
"""Renders chat templates the way Hugging Face transformers' apply_chat_template
does, with Debian's python3-jinja2, as the reference for pagoda's Jinja
interpreter (tests/tokenizer/chat_template_test.cc).

The environment mirrors transformers: ImmutableSandboxedEnvironment with
trim_blocks and lstrip_blocks, the loopcontrols extension, the {% generation %}
block (rendered as its body), raise_exception(), strftime_now() and a tojson
filter that keeps non-ASCII text (ensure_ascii=False). The render context is
messages, tools (None when absent), documents (None when absent),
add_generation_prompt, then the special tokens and any extra keyword arguments.

Usage: chat_template_reference.py --cases CASES.json --out OUT.json
           [--now 2025-01-02T03:04:05] TEMPLATE.jinja...
OUT.json maps "template-file-name/case-name" to {"ok": true, "text": ...} or
{"ok": false, "error": ...}.
"""
import argparse
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationBlock(jinja2.ext.Extension):
    """transformers' AssistantTracker, minus the tracking: the body as is."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
                          separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return now.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, source, case):
    ctx = dict(case.get("kwargs", {}))
    kwargs = {
        "messages": case["messages"],
        "tools": case.get("tools"),
        "documents": case.get("documents"),
        "add_generation_prompt": case.get("add_generation_prompt", False),
    }
    kwargs.update(ctx)
    template = env.from_string(source)
    return template.render(**kwargs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--now", default="2025-01-02T03:04:05")
    ap.add_argument("templates", nargs="+")
    args = ap.parse_args()
    env = make_env(datetime.datetime.fromisoformat(args.now))
    with open(args.cases, encoding="utf-8") as f:
        cases = json.load(f)
    out = {}
    for path in args.templates:
        with open(path, encoding="utf-8") as f:
            source = f.read()
        name = os.path.basename(path)
        for case in cases:
            key = name + "/" + case["name"]
            try:
                out[key] = {"ok": True, "text": render(env, source, case)}
            except Exception as e:  # noqa: BLE001 - any template failure is a result
                out[key] = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
