#!/usr/bin/env python3
"""Validates JSON rule bundles against the Rulebook JSON Schema (draft 2020-12).

    Scripts/validate-bundles.py SCHEMA BUNDLE...

Prints every violation as `file: path.to.field: message`; exits 1 if there is any or a bundle cannot be
read, 2 on usage errors or an unreadable or invalid schema, 0 when every bundle is valid. Needs the `jsonschema` package (`python3 -m pip install jsonschema`).
"""
import json
import sys


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        import jsonschema
    except ImportError:
        print("validate-bundles: the Python package 'jsonschema' is not installed", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as handle:
            schema = json.load(handle)
        validator_class = jsonschema.validators.validator_for(schema)
        if validator_class is not jsonschema.Draft202012Validator:
            print(f"{argv[1]}: not a draft 2020-12 schema", file=sys.stderr)
            return 2
        validator_class.check_schema(schema)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as error:
        print(f"{argv[1]}: invalid schema: {error}", file=sys.stderr)
        return 2
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    failures = 0
    for path in argv[2:]:
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, ValueError) as error:
            print(f"{path}: cannot read: {error}", file=sys.stderr)
            failures += 1
            continue
        errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
        for error in errors:
            location = ".".join(str(part) for part in error.absolute_path) or "(root)"
            print(f"{path}: {location}: {error.message}", file=sys.stderr)
        failures += len(errors)
    if failures:
        print(f"validate-bundles: {failures} problem(s) in {len(argv) - 2} file(s)", file=sys.stderr)
        return 1
    print(f"validate-bundles: {len(argv) - 2} file(s) valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
