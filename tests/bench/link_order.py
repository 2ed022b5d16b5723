#!/usr/bin/python3
"""Writes monsys-agent's link order (agent/link-order.txt): the input sections of the functions a
running daemon executed, one a line, for gold's --section-ordering-file.

Why: the kernel maps a file's pages around every page a process touches (fault-around, 64 KiB),
so a daemon that runs a few functions in every corner of its 3.5 MiB of code keeps nearly all of
it resident. With the functions it runs placed together, only about their size is
(docs/inventory.md, "Memory between collections").

How (the agent built in BUILD, the test environment up as for the e2e tests):

  printf '#!/bin/sh\\nexec valgrind --tool=callgrind --demangle=no \\
    --callgrind-out-file=/tmp/agent.%%p.callgrind BUILD/agent/monsys-agent "$@"\\n' \\
    > /tmp/agent-profiled && chmod +x /tmp/agent-profiled
  MONSYS_BENCH_IDLE_AGENTS=/tmp/agent-profiled MONSYS_BENCH_IDLE_SECS=60 \\
    MONSYS_BENCH_IDLE_SETTLE=20 ... tests/bench/idle_cost.py IdleCost.test_1_ten_apps
  tests/bench/link_order.py /tmp/agent.*.callgrind --objects \\
    BUILD/agent/CMakeFiles/monsys-agent.dir/main.cpp.o BUILD/agent/libmonsys_agent_lib.a \\
    BUILD/common/io/libmonsys_io.a BUILD/common/libmonsys_common.a > agent/link-order.txt

gold places the listed sections together, after the others, in this order. A function renamed
since is simply not placed (gold skips names it does not find), nor is a new one: the memory
saved then shrinks a little, nothing breaks. Regenerate when the daemon's code has changed much.
"""

import argparse
import re
import subprocess
import sys

ENTRY = re.compile(r"^(c?ob|c?fn)=\((\d+)\)(?: (.*))?$")


def executed_functions(path, object_suffix):
    """The functions of the object whose path ends with object_suffix that have a cost of their
    own in a callgrind output (ob=/fn= lines; names are compressed as "(id) name" once, then
    "(id")."""
    objects, functions, found = {}, {}, set()
    current_object = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            match = ENTRY.match(line.rstrip("\n"))
            if not match:
                continue
            kind, ident, name = match.groups()
            if kind.endswith("ob"):
                if name:
                    objects[ident] = name
                if kind == "ob":
                    current_object = objects.get(ident, "")
            else:
                if name:
                    functions[ident] = name
                if kind == "fn" and current_object and current_object.endswith(object_suffix):
                    found.add(functions.get(ident, ""))
    return found


def function_sections(objects):
    """Each function symbol of the objects (object files and archives) -> the input sections it
    is defined in (objdump -t). A name says little about its section: a complete-object
    constructor is an alias in the base-object one's section, a clone (.constprop, .isra) or a
    cold part (.cold) lives in a section named after another symbol."""
    sections = {}
    for path in objects:
        table = subprocess.run(["objdump", "-t", path], capture_output=True, text=True,
                               check=True).stdout
        for line in table.splitlines():
            left, tab, right = line.partition("\t")
            fields, rest = left.split(), right.split()
            if not tab or len(fields) < 3 or fields[-2] != "F" or len(rest) != 2:
                continue
            if fields[-1].startswith(".text"):
                sections.setdefault(rest[1], set()).add(fields[-1])
    return sections


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profiles", nargs="+", help="callgrind output files (--demangle=no)")
    parser.add_argument("--objects", nargs="+", required=True,
                        help="the binary's object files and archives, as built with "
                             "-ffunction-sections (BUILD/agent/CMakeFiles/monsys-agent.dir/"
                             "main.cpp.o BUILD/agent/libmonsys_agent_lib.a BUILD/common/io/"
                             "libmonsys_io.a BUILD/common/libmonsys_common.a)")
    parser.add_argument("--object", default="monsys-agent",
                        help="the profiled binary's file name (default monsys-agent)")
    args = parser.parse_args()
    functions = set()
    for path in args.profiles:
        functions |= executed_functions(path, args.object)
    by_symbol = function_sections(args.objects)
    sections = sorted({s for function in functions for s in by_symbol.get(function, ())})
    if not sections:
        sys.exit(f"no function of an object named *{args.object} in {', '.join(args.profiles)}"
                 " is defined in the objects given")
    sys.stdout.write("".join(s + "\n" for s in sections))


if __name__ == "__main__":
    main()
