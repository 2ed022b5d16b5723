#pragma once
// Runs one program directly (posix_spawn: no shell, no PATH lookup) with a fixed environment,
// cwd, stdin from /dev/null (or given bytes), its own process group and no inherited descriptors;
// captures stdout and stderr separately up to a cap while draining the rest, and ends the whole
// process group on timeout (SIGTERM, grace period, SIGKILL). Blocking: call it from a worker
// thread.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/util/expected.hpp"

namespace monsys::io::process {

struct ChildSpec {
    std::string path;  // absolute path of the program, run as is
    // When >= 0: the program is this open file, not `path` (fexecve's promise: what runs is the
    // file that was opened and checked, whatever `path` names meanwhile). `path` then only names
    // it in argv (when argv is empty) and in messages. The child gets the file as descriptor 3
    // and executes /proc/self/fd/3, so that a "#!" script's interpreter can open it too.
    int exec_fd = -1;
    std::vector<std::string> argv;  // empty = {path}
    std::vector<std::string> env;   // "KEY=VALUE" lines: exactly the child's environment
    std::string cwd = "/";
    // Written to the program's standard input, which is then closed; empty = /dev/null. At most
    // max_stdin_bytes, so that it fits into the pipe before the program starts.
    std::string stdin_data;
};
inline constexpr std::size_t max_stdin_bytes = 60 * 1024;

struct ChildLimits {
    std::chrono::milliseconds timeout{120000};
    // After SIGTERM to the group on timeout, how long the program gets before SIGKILL.
    std::chrono::milliseconds kill_grace{5000};
    std::size_t output_cap_bytes = 64 * 1024;  // per stream
    // After the program exits, how long to keep reading pipes that something it started in the
    // background still holds open. Such processes are left running: a restart command may
    // legitimately start a daemon.
    std::chrono::milliseconds output_linger{1000};
    // When >= 0: a descriptor that becomes readable when the caller gives up on the program (the
    // agent stopping); the group is then ended as on timeout (SIGTERM, kill_grace, SIGKILL) and
    // the ending says timed_out. Left readable, it ends every later run at once too.
    int cancel_fd = -1;
};

struct Captured {
    std::string text;
    bool truncated = false;
    std::size_t total_bytes = 0;
};

enum class ChildEnding { exited, signaled, timed_out };

struct ChildResult {
    ChildEnding ending = ChildEnding::exited;
    int exit_code = -1;  // the exit status, or -1 when a signal ended the program
    int signal = 0;      // the signal that ended the program, 0 if none
    Captured out;
    Captured err;
    std::chrono::milliseconds elapsed{0};
};

// Returns how the program ended, or why it could not be started ("cannot execute /x: ...").
Expected<ChildResult, std::string> run_child(const ChildSpec& spec, const ChildLimits& limits);

}  // namespace monsys::io::process
