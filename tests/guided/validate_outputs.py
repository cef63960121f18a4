#!/usr/bin/env python3
"""Independent validation of constrained generations (used by walk_test.cc).

Reads JSON lines {"case", "kind", "spec", "check", "output"} and checks each
output with libraries that share no code with pagoda: jsonschema (Debian's
python3-jsonschema) for JSON Schema, Python's `json` for JSON syntax, Python's
`re` for regular expressions, and per-grammar checks (`ast` for arithmetic,
`json` for the JSON grammar, an equivalent `re` pattern for regular grammars).

Exit status: 0 all valid; 1 some output invalid (each printed); 3 all checked
outputs valid but JSON Schema validation was skipped because jsonschema is
not installed (JSON syntax was still checked).
"""
import ast
import datetime
import json
import re
import sys

try:
    import jsonschema
except ImportError:  # reported through the exit status
    jsonschema = None


def check_formats(schema, instance, path="#"):
    """Extra format checks where jsonschema's checker needs optional
    packages (hostname) or is lenient; walks the schema and instance."""
    if not isinstance(schema, dict):
        return
    fmt = schema.get("format")
    if isinstance(instance, str) and fmt:
        if fmt == "date":
            datetime.date.fromisoformat(instance)
        elif fmt == "date-time":
            datetime.datetime.fromisoformat(instance.replace("Z", "+00:00"))
        elif fmt == "time":
            datetime.time.fromisoformat(instance.replace("Z", "+00:00"))
        elif fmt == "hostname":
            labels = instance.split(".")
            if not all(re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?", l) for l in labels):
                raise ValueError("bad hostname " + instance)
        elif fmt == "email":
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", instance):
                raise ValueError("bad email " + instance)
    for key, sub in (schema.get("properties") or {}).items():
        if isinstance(instance, dict) and key in instance:
            check_formats(sub, instance[key], path + "/" + key)
    items = schema.get("items")
    if isinstance(items, dict) and isinstance(instance, list):
        for x in instance[len(schema.get("prefixItems") or []):]:
            check_formats(items, x, path)
    for i, sub in enumerate(schema.get("prefixItems") or []):
        if isinstance(instance, list) and i < len(instance):
            check_formats(sub, instance[i], path)


def check_grammar(check, output):
    if check == "json":
        json.loads(output)
    elif check == "json-object":
        if not isinstance(json.loads(output), dict):
            raise ValueError("not an object")
    elif check == "arith":
        if not re.fullmatch(r"[0-9+\-*/() ]+", output):
            raise ValueError("unexpected characters")
        ast.parse(output, mode="eval")
    elif check.startswith("regex:"):
        if re.fullmatch(check[len("regex:"):], output) is None:
            raise ValueError("does not match " + check)
    else:
        raise ValueError("unknown grammar check " + check)


def main():
    failures = 0
    skipped_schema = 0
    total = 0
    for line in open(sys.argv[1], encoding="utf-8"):
        rec = json.loads(line)
        total += 1
        kind, spec, out = rec["kind"], rec["spec"], rec["output"]
        try:
            if kind == "json_schema":
                instance = json.loads(out)
                schema = json.loads(spec)
                if jsonschema is None:
                    skipped_schema += 1
                else:
                    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
                    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(instance)
                check_formats(schema, instance)
            elif kind == "json_object":
                if not isinstance(json.loads(out), dict):
                    raise ValueError("not a JSON object")
            elif kind == "regex":
                if re.fullmatch(spec, out) is None:
                    raise ValueError("no full match")
            elif kind == "choice":
                if out not in json.loads(spec):
                    raise ValueError("not one of the choices")
            elif kind == "grammar":
                check_grammar(rec["check"], out)
            else:
                raise ValueError("unknown kind " + kind)
        except Exception as e:  # noqa: BLE001 - report every kind of failure
            failures += 1
            print("INVALID [%s] %r: %s" % (rec["case"], out, str(e).splitlines()[0][:300]))
    print("validated %d outputs, %d invalid, %d without JSON Schema check" % (total, failures, skipped_schema))
    if failures:
        return 1
    return 3 if skipped_schema else 0


if __name__ == "__main__":
    sys.exit(main())
