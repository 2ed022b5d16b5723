#!/usr/bin/python3
"""A small jq stand-in for scripts/demo.sh (jq is not among the packages the demo installs).

Reads one JSON document on standard input.

    ... | pick.py                 pretty-prints it
    ... | pick.py EXPR            pretty-prints the value of the Python expression EXPR, in which
                                  `j` is the document; a string value is printed as is
    ... | pick.py --test EXPR     prints nothing; exits 0 when EXPR is true, 1 when it is false
                                  or cannot be evaluated (a field not there yet)

In EXPR, only(d, "a", "b", ...) is the object d with just those members (those it has).
"""

import json
import sys


def only(obj, *names):
    return {name: obj[name] for name in names if name in obj}


def main(argv):
    test = bool(argv) and argv[0] == "--test"
    if test:
        argv = argv[1:]
    text = sys.stdin.read()
    try:
        document = json.loads(text)
    except ValueError:
        if test:
            return 1
        print(f"pick.py: not JSON: {text[:200]!r}", file=sys.stderr)
        return 2
    expression = argv[0] if argv else "j"
    try:
        value = eval(expression, {"only": only, "j": document})  # noqa: S307 (a demo helper)
    except (KeyError, IndexError, TypeError, StopIteration):
        if test:
            return 1
        raise
    if test:
        return 0 if value else 1
    print(value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
