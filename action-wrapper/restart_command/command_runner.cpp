#include "action-wrapper/restart_command/command_runner.hpp"

namespace monsys::action {

std::vector<std::string> restart_command_environment() {
    return {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"};
}

void record_child_result(const io::process::ChildResult& child, CommandResult& result) {
    switch (child.ending) {
        case io::process::ChildEnding::exited:
            result.ending = CommandEnding::exited;
            break;
        case io::process::ChildEnding::signaled:
            result.ending = CommandEnding::signaled;
            break;
        case io::process::ChildEnding::timed_out:
            result.ending = CommandEnding::timed_out;
            break;
    }
    result.exit_code = child.exit_code;
    result.signal = child.signal;
    result.out = {child.out.text, child.out.truncated, child.out.total_bytes};
    result.err = {child.err.text, child.err.truncated, child.err.total_bytes};
    result.elapsed_ms = child.elapsed.count();
}

void run_command_fd(int exec_fd, const std::string& path, const CommandLimits& limits,
                    CommandResult& result) {
    io::process::ChildSpec spec;
    spec.path = path;
    spec.exec_fd = exec_fd;
    spec.argv = {path};
    spec.env = restart_command_environment();  // cwd stays "/", ChildSpec's default
    io::process::ChildLimits child_limits;
    child_limits.timeout = limits.timeout;
    child_limits.kill_grace = limits.kill_grace;
    child_limits.output_cap_bytes = limits.output_cap_bytes;

    auto child = io::process::run_child(spec, child_limits);
    if (!child) {
        result.ending = CommandEnding::not_run;
        result.exit_code = -1;
        result.error = std::move(child.error());
        return;
    }
    record_child_result(*child, result);
}

}  // namespace monsys::action
