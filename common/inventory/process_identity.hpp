#pragma once
// Which path a hub tracks a process by. For a script run by an interpreter (`/bin/sh
// /opt/app/start.sh`, or a `#!` script, which the kernel turns into the same argv), it is the
// script, not the interpreter.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace monsys::inventory {

bool is_interpreter(std::string_view exe, std::string_view argv0);

// The script argument of an interpreter's argv as written (possibly relative), or nothing when the
// process is not an interpreter running a script file (`sh -c ...`, `python3 -m mod`, a REPL).
std::optional<std::string> script_argument(std::string_view exe,
                                           const std::vector<std::string>& argv);

// The script as an absolute, normalized path: a relative one is taken from `cwd`. Nothing when it
// cannot be made one (no cwd known for a relative path, not a valid path, or a descriptor such
// as /dev/fd/3).
std::optional<std::string> resolve_script_path(std::string_view script, std::string_view cwd);

// What a process's command line alone claims it runs, for a reader that may not read its exe link
// (another user's process, and no privilege). /proc/PID/cmdline is readable by every local user,
// and so is writable by whoever starts the process: this is a claim, not a proof.
//   - argv[0] is an interpreter (by its basename: sh, bash, python3, ...): its script argument,
//     when that is an absolute path (the working directory is as unreadable as the exe link);
//     an interpreter without a script file (`sh -c ...`, a REPL) claims nothing, not even itself.
//   - otherwise argv[0] as an absolute, normalized path; a relative argv[0] claims nothing.
struct CommandLineClaim {
    std::optional<std::string> exe;
    std::optional<std::string> script;

    bool empty() const { return !exe && !script; }
};
CommandLineClaim claim_from_cmdline(const std::vector<std::string>& argv);

// Splits /proc/PID/cmdline (NUL-separated, possibly without a final NUL) into arguments.
std::vector<std::string> split_cmdline(std::string_view raw);

}  // namespace monsys::inventory
