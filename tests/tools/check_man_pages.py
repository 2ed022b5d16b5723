#!/usr/bin/env python3
"""Checks that the man pages agree with the programs: every option and subcommand that
`--help` lists (also each subcommand's own --help) is named in the program's man page, every
command the man page's COMMANDS section names exists, and `man --warnings` reports nothing.

Usage: check_man_pages.py --man-dir DIR --agent PATH --action PATH
"""
import argparse
import os
import re
import subprocess
import sys


def run(args):
    done = subprocess.run(args, capture_output=True, text=True, timeout=30)
    return done.stdout + done.stderr


def help_words(program):
    """Options and subcommands from `program --help` and each subcommand's --help."""
    text = run([program, "--help"])
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
    commands = set()
    in_subcommands = False
    for line in text.splitlines():
        if line.strip().upper().startswith("SUBCOMMANDS"):
            in_subcommands = True
            continue
        if in_subcommands:
            match = re.match(r"^\s+([a-z][a-z0-9-]*)\s", line)
            if match:
                commands.add(match.group(1))
            elif line.strip() and not line.startswith(" "):
                in_subcommands = False
    for command in commands:
        options |= set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)",
                                  run([program, command, "--help"])))
    return options, commands


def rendered(page_path):
    env = dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="0")
    done = subprocess.run(["man", "--warnings", "-l", page_path], capture_output=True,
                          text=True, env=env, timeout=30)
    text = re.sub(r".\x08", "", done.stdout)  # overstrike bold/underline
    return text.replace("\u2010", "-"), done.stderr.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--man-dir", required=True)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--action", required=True)
    args = parser.parse_args()
    problems = []
    for program, page in ((args.agent, "monsys-agent.8"), (args.action, "monsys-action.8")):
        text, warnings = rendered(os.path.join(args.man_dir, page))
        if warnings:
            problems.append(f"{page}: man reports: {warnings}")
        options, commands = help_words(program)
        if not commands:
            problems.append(f"{program} --help lists no subcommands (parsing broke?)")
        for word in sorted(options | commands):
            if not re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text):
                problems.append(f"{page}: does not mention {word} (from --help)")
        # The COMMANDS section: from its heading to the next heading (a line at column 0).
        match = re.search(r"^COMMANDS\n(.*?)(?=^\S)", text, re.M | re.S)
        section = match.group(1) if match else ""
        for named in re.findall(r"^ {7}([a-z][a-z0-9-]+)(?: |$)", section, re.M):
            if named not in commands:
                problems.append(f"{page}: COMMANDS names {named}, which --help does not list")
    text, warnings = rendered(os.path.join(args.man_dir, "monsys-agent.json.5"))
    if warnings:
        problems.append(f"monsys-agent.json.5: man reports: {warnings}")
    for field in ("agent_id", "hub_url", "hub_keys", "restart_commands"):
        if field not in text:
            problems.append(f"monsys-agent.json.5: does not describe {field}")
    for problem in problems:
        print("FAIL " + problem)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
