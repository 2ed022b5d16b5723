#!/usr/bin/python3
"""Verifies a transparency log of the reference hub (see README.md for the hash definition).

    verify_transparency.py FILE

Checks the hash chain, then the signatures the log carries: each monsys-action key an agent was
pinned to (on first use, or through a rotation statement signed by the previous key) and each
result the hub filed as verified (its result_jws verifies with that key and signs exactly the
result). Prints "ok: N entries, S signed results, K keys" and exits 0, or names the first bad
entry and exits 1 (2: usage error or unreadable file)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from evidence import read_jsonl, verify_file  # noqa: E402
from signatures import verify_log_signatures  # noqa: E402


def main(argv):
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        result = verify_file(argv[0])
    except OSError as e:
        print(f"verify_transparency.py: {e}", file=sys.stderr)
        return 2
    if not result["ok"]:
        print(f"{argv[0]}:{result['line']}: entry {result['bad_index']}: {result['error']}")
        return 1
    signed = verify_log_signatures(read_jsonl(argv[0]))
    if not signed["ok"]:
        print(f"{argv[0]}:{signed['bad_index'] + 1}: entry {signed['bad_index']}: "
              f"{signed['error']}")
        return 1
    print(f"ok: {result['entries']} entries, {signed['signatures']} signed results, "
          f"{signed['keys']} keys")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
