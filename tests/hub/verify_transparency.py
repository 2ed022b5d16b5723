#!/usr/bin/python3
"""Verifies a transparency log of the reference hub (see README.md for the hash definition).

    verify_transparency.py FILE

Prints "ok: N entries" and exits 0, or names the first bad line and exits 1 (2: usage error or
unreadable file)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from evidence import verify_file  # noqa: E402


def main(argv):
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        result = verify_file(argv[0])
    except OSError as e:
        print(f"verify_transparency.py: {e}", file=sys.stderr)
        return 2
    if result["ok"]:
        print(f"ok: {result['entries']} entries")
        return 0
    print(f"{argv[0]}:{result['line']}: entry {result['bad_index']}: {result['error']}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
