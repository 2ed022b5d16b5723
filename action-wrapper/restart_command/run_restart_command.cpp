#include "action-wrapper/restart_command/run_restart_command.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "action-wrapper/policy/local_policy.hpp"
#include "action-wrapper/restart_command/command_result.hpp"
#include "action-wrapper/restart_command/user_switch.hpp"
#include "common/util/trusted_file.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::action {
namespace {

std::string errno_text(int error) {
    return std::strerror(error);
}

std::int64_t unix_millis_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Opens <dir>/<entry>.json for writing, in a directory opened as trusted: not through a link,
// only a regular file with no other names, owned by this user; emptied, mode 0640, and as root
// in the directory's group (root:monsys-action when packaged), so that the wrapper can read it.
Expected<UniqueFd, std::string> open_result_file(const std::filesystem::path& dir,
                                                 const std::string& entry) {
    auto directory = open_trusted_directory(dir);
    if (!directory) return unexpected("result directory: " + directory.error().message);
    const std::string name = command_result_file_name(entry);
    const std::string shown = (dir / name).string();
    UniqueFd fd(::openat(directory->fd.get(), name.c_str(),
                         O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640));
    if (!fd.valid()) return unexpected("cannot open " + shown + ": " + errno_text(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return unexpected("cannot inspect " + shown + ": " + errno_text(errno));
    }
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != ::geteuid()) {
        return unexpected(shown + " is not a regular file of this user with one name");
    }
    if (::ftruncate(fd.get(), 0) != 0 || ::fchmod(fd.get(), 0640) != 0) {
        return unexpected("cannot prepare " + shown + ": " + errno_text(errno));
    }
    if (::geteuid() == 0 && st.st_gid != directory->st.st_gid &&
        ::fchown(fd.get(), static_cast<uid_t>(-1), directory->st.st_gid) != 0) {
        return unexpected("cannot set the group of " + shown + ": " + errno_text(errno));
    }
    return fd;
}

Expected<std::monostate, std::string> write_result(int fd, const CommandResult& result) {
    const std::string text =
        to_json(result).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (::ftruncate(fd, 0) != 0)
        return unexpected("cannot empty the result file: " + errno_text(errno));
    std::size_t written = 0;
    while (written < text.size()) {
        ssize_t n =
            ::pwrite(fd, text.data() + written, text.size() - written, static_cast<off_t>(written));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return unexpected("cannot write the result file: " + errno_text(errno));
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) return unexpected("cannot sync the result file: " + errno_text(errno));
    return std::monostate{};
}

// Everything between the opened result file and the command's end: each refusal is returned.
Expected<std::monostate, std::string> run_entry(const RunRestartCommandOptions& options,
                                                CommandResult& result) {
    auto policy = load_policy(options.policy_path);
    if (!policy) return unexpected("policy " + policy.error());
    auto found = policy->restart_commands.find(options.entry);
    if (found == policy->restart_commands.end()) {
        return unexpected("no entry '" + options.entry + "' in restart_commands of " +
                          options.policy_path.string());
    }
    const RestartCommandEntry& entry = found->second;
    result.command = entry.command;
    result.user = entry.user;

    auto command = open_trusted_executable(entry.command);
    if (!command) return unexpected("restart command refused: " + command.error().message);
    auto user = lookup_user(entry.user);
    if (!user) return unexpected(user.error());
    auto switched = become_user(*user);
    if (!switched) return unexpected("cannot run as user " + entry.user + ": " + switched.error());

    run_command_fd(command->fd.get(), entry.command, options.limits, result);
    return std::monostate{};
}

std::string describe(const CommandResult& result) {
    std::string text = "entry " + result.entry + ": ";
    if (result.ending == CommandEnding::not_run) return text + "not run: " + result.error;
    text += result.command + " as " + result.user + " ";
    switch (result.ending) {
        case CommandEnding::exited:
            return text + "exited " + std::to_string(result.exit_code);
        case CommandEnding::signaled:
            return text + "was killed by signal " + std::to_string(result.signal);
        case CommandEnding::timed_out:
            return text + "timed out and was killed";
        case CommandEnding::not_run:
            break;
    }
    return text;
}

}  // namespace

int run_restart_command(const RunRestartCommandOptions& options, std::ostream& log) {
    CommandResult result;
    result.entry = options.entry;
    result.started_at_ms = unix_millis_now();
    if (!is_valid_restart_entry_name(options.entry)) {
        log << "monsys-action: '" << options.entry
            << "' is not a valid entry name ([a-z0-9][a-z0-9_-]{0,63})\n";
        return run_restart_usage_status;
    }
    auto file = open_result_file(options.result_dir, options.entry);
    if (!file) {
        log << "monsys-action: entry " << options.entry << ": " << file.error() << '\n';
        return run_restart_internal_status;
    }

    const auto started = std::chrono::steady_clock::now();
    if (auto ran = run_entry(options, result); !ran) {
        result.ending = CommandEnding::not_run;
        result.error = ran.error();
        result.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count();
    }
    log << "monsys-action: " << describe(result) << '\n';
    if (auto written = write_result(file->get(), result); !written) {
        log << "monsys-action: entry " << options.entry << ": " << written.error() << '\n';
        return run_restart_internal_status;
    }
    return exit_status_of(result, run_restart_refused_status);
}

}  // namespace monsys::action
