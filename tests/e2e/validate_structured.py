#!/usr/bin/python3
"""Independent validator for structured-output e2e results.

Reads a JSON list of {"kind", "spec", "text", "finish_reason"} from argv[1]
and checks each text against its constraint with libraries that share no
code with pagoda: jsonschema (Debian's python3-jsonschema) for JSON Schema
and JSON objects, Python's `re` for regexes and for the regex-equivalent of
each test grammar, plain equality for choices. Exits 1 listing every failure.
"""
import json
import re
import sys

import jsonschema


def check(item):
    kind, spec, text = item["kind"], item["spec"], item["text"]
    if item["finish_reason"] != "stop":
        return "finished with %r, not 'stop'" % item["finish_reason"]
    if kind == "json_schema":
        try:
            value = json.loads(text)
        except ValueError as e:
            return "not JSON: %s" % e
        validator = jsonschema.Draft202012Validator(spec, format_checker=jsonschema.FormatChecker())
        errors = [e.message for e in validator.iter_errors(value)]
        return "; ".join(errors) if errors else None
    if kind == "json_object":
        try:
            value = json.loads(text)
        except ValueError as e:
            return "not JSON: %s" % e
        return None if isinstance(value, dict) else "not an object"
    if kind == "regex":
        return None if re.fullmatch(spec, text, re.DOTALL) else "does not match /%s/" % spec
    if kind == "choice":
        return None if text in spec else "not one of %r" % (spec,)
    if kind == "grammar":
        return None if re.fullmatch(spec["check"], text, re.DOTALL) else "does not match %r" % spec["check"]
    return "unknown kind %r" % kind


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        items = json.load(f)
    failures = []
    for i, item in enumerate(items):
        problem = check(item)
        if problem:
            failures.append("#%d %s %s: %s\n  text: %r" % (i, item["kind"], json.dumps(item["spec"])[:120], problem,
                                                           item["text"][:300]))
    print("validated %d generations, %d invalid" % (len(items), len(failures)))
    for f in failures:
        print(f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
