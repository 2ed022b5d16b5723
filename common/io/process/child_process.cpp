#include "common/io/process/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "common/io/process/captured_output.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::io::process {

namespace {

using Clock = std::chrono::steady_clock;

// Without a pidfd (kernel < 5.3) the exit is noticed by polling at this interval.
constexpr std::chrono::milliseconds kExitPollTick{20};

std::string errno_text(int error) {
    return std::strerror(error);
}

struct Pipe {
    UniqueFd read;
    UniqueFd write;
};

// Both ends close on exec; the read end does not block, so draining never stalls the loop.
std::optional<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
    Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
    ::fcntl(pipe.read.get(), F_SETFL, ::fcntl(pipe.read.get(), F_GETFL) | O_NONBLOCK);
    return pipe;
}

// The spawn attributes: own process group, default dispositions for every signal and an empty
// signal mask (a parent's ignored SIGPIPE or blocked SIGTERM must not leak into the child).
class SpawnAttributes {
  public:
    SpawnAttributes() {
        posix_spawnattr_init(&attr_);
        sigset_t all;
        sigset_t none;
        sigfillset(&all);
        sigemptyset(&none);
        posix_spawnattr_setsigdefault(&attr_, &all);
        posix_spawnattr_setsigmask(&attr_, &none);
        posix_spawnattr_setpgroup(&attr_, 0);
        posix_spawnattr_setflags(
            &attr_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    }
    ~SpawnAttributes() { posix_spawnattr_destroy(&attr_); }
    SpawnAttributes(const SpawnAttributes&) = delete;
    SpawnAttributes& operator=(const SpawnAttributes&) = delete;
    const posix_spawnattr_t* get() const { return &attr_; }

  private:
    posix_spawnattr_t attr_;
};

// The descriptor number the program to execute gets in the child (ChildSpec::exec_fd).
constexpr int kExecFdInChild = 3;

// stdin from /dev/null (or from in_fd), stdout/stderr into the pipes, cwd, the program's own file
// at descriptor 3 when exec_fd is given, and every other descriptor closed (closefrom also
// covers descriptors some library opened without O_CLOEXEC).
class SpawnFileActions {
  public:
    SpawnFileActions(int in_fd, int out_fd, int err_fd, const std::string& cwd, int exec_fd) {
        posix_spawn_file_actions_init(&actions_);
        bool stdin_ok = in_fd >= 0 ? posix_spawn_file_actions_adddup2(&actions_, in_fd, 0) == 0
                                   : posix_spawn_file_actions_addopen(&actions_, 0, "/dev/null",
                                                                      O_RDONLY, 0) == 0;
        ok_ = stdin_ok && posix_spawn_file_actions_adddup2(&actions_, out_fd, 1) == 0 &&
              posix_spawn_file_actions_adddup2(&actions_, err_fd, 2) == 0 &&
              posix_spawn_file_actions_addchdir_np(&actions_, cwd.c_str()) == 0;
        // dup2 clears O_CLOEXEC on the copy: the program (a script's interpreter) keeps it.
        if (ok_ && exec_fd >= 0) {
            ok_ = posix_spawn_file_actions_adddup2(&actions_, exec_fd, kExecFdInChild) == 0;
        }
        const int first_closed = exec_fd >= 0 ? kExecFdInChild + 1 : 3;
        ok_ = ok_ && posix_spawn_file_actions_addclosefrom_np(&actions_, first_closed) == 0;
    }
    ~SpawnFileActions() { posix_spawn_file_actions_destroy(&actions_); }
    SpawnFileActions(const SpawnFileActions&) = delete;
    SpawnFileActions& operator=(const SpawnFileActions&) = delete;
    bool ok() const { return ok_; }
    const posix_spawn_file_actions_t* get() const { return &actions_; }

  private:
    posix_spawn_file_actions_t actions_;
    bool ok_ = false;
};

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

// Reads everything available now; returns false at end of stream or on a read error.
bool drain(int fd, CappedBuffer& sink) {
    std::array<char, 16 * 1024> chunk;
    for (;;) {
        ssize_t n = ::read(fd, chunk.data(), chunk.size());
        if (n > 0) {
            sink.append(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        return false;
    }
}

// Has the child exited? Looks without reaping it: while it is an unreaped zombie its pid, and so
// its process group id, cannot be reused, which keeps kill(-pgid) aimed at our group.
bool has_exited(pid_t pid) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
        return errno == ECHILD;
    }
    return info.si_pid == pid;
}

// The supervision of one running child: timeouts, group signals, output draining.
class Supervisor {
  public:
    Supervisor(pid_t pid, UniqueFd out, UniqueFd err, const ChildLimits& limits,
               Clock::time_point start)
        : pid_(pid),
          out_fd_(std::move(out)),
          err_fd_(std::move(err)),
          limits_(limits),
          out_(limits.output_cap_bytes),
          err_(limits.output_cap_bytes),
          deadline_(start + limits.timeout) {
        // glibc 2.36 declares pidfd_open without extern "C" for C++, so call the system call.
        int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
        if (pidfd >= 0) pidfd_.reset(pidfd);
    }

    ChildResult run(Clock::time_point start) {
        while (!finished()) step();
        return collect(start);
    }

  private:
    bool finished() const {
        if (!exited_) return false;
        bool pipes_open = out_fd_.get() >= 0 || err_fd_.get() >= 0;
        return !pipes_open || Clock::now() >= linger_until_;
    }

    Clock::time_point next_wake() const {
        Clock::time_point wake = Clock::time_point::max();
        if (!exited_ && !terminating_) wake = deadline_;
        if (!exited_ && terminating_ && !killed_) wake = kill_at_;
        if (exited_) wake = linger_until_;
        if (!exited_ && pidfd_.get() < 0) wake = std::min(wake, Clock::now() + kExitPollTick);
        return wake;
    }

    void step() {
        std::array<pollfd, 4> fds{};
        nfds_t count = 0;
        int out_slot = -1, err_slot = -1, pid_slot = -1, cancel_slot = -1;
        if (out_fd_.get() >= 0) {
            out_slot = static_cast<int>(count);
            fds[count++] = {out_fd_.get(), POLLIN, 0};
        }
        if (err_fd_.get() >= 0) {
            err_slot = static_cast<int>(count);
            fds[count++] = {err_fd_.get(), POLLIN, 0};
        }
        if (!exited_ && pidfd_.get() >= 0) {
            pid_slot = static_cast<int>(count);
            fds[count++] = {pidfd_.get(), POLLIN, 0};
        }
        if (!exited_ && !terminating_ && limits_.cancel_fd >= 0) {
            cancel_slot = static_cast<int>(count);
            fds[count++] = {limits_.cancel_fd, POLLIN, 0};
        }

        auto wake = next_wake();
        auto now = Clock::now();
        int wait_ms = -1;
        if (wake != Clock::time_point::max()) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(wake - now).count();
            wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 60000));
        }
        int ready = ::poll(fds.data(), count, wait_ms);
        if (ready < 0 && errno != EINTR) ready = 0;

        if (out_slot >= 0 && fds[out_slot].revents != 0 && !drain(out_fd_.get(), out_))
            out_fd_.reset();
        if (err_slot >= 0 && fds[err_slot].revents != 0 && !drain(err_fd_.get(), err_))
            err_fd_.reset();
        if (!exited_ && (pid_slot < 0 || fds[pid_slot].revents != 0) && has_exited(pid_)) on_exit();
        if (cancel_slot >= 0 && fds[cancel_slot].revents != 0) deadline_ = Clock::now();
        enforce_deadlines();
    }

    void on_exit() {
        exited_ = true;
        linger_until_ = Clock::now() + limits_.output_linger;
        // Whatever the timed-out program left in its group goes with it.
        if (timed_out_ && !killed_) kill_group(SIGKILL);
    }

    void enforce_deadlines() {
        if (exited_) return;
        auto now = Clock::now();
        if (!terminating_ && now >= deadline_) {
            timed_out_ = true;
            terminating_ = true;
            kill_at_ = now + limits_.kill_grace;
            kill_group(SIGTERM);
        } else if (terminating_ && !killed_ && now >= kill_at_) {
            kill_group(SIGKILL);
        }
    }

    void kill_group(int sig) {
        ::kill(-pid_, sig);
        if (sig == SIGKILL) killed_ = true;
    }

    ChildResult collect(Clock::time_point start) {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        ChildResult result;
        if (WIFEXITED(status)) {
            result.exit_code = WEXITSTATUS(status);
            result.ending = ChildEnding::exited;
        } else if (WIFSIGNALED(status)) {
            result.exit_code = -1;
            result.signal = WTERMSIG(status);
            result.ending = ChildEnding::signaled;
        }
        if (timed_out_) result.ending = ChildEnding::timed_out;
        result.out = {out_.text(), out_.truncated(), out_.total_bytes()};
        result.err = {err_.text(), err_.truncated(), err_.total_bytes()};
        result.elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        return result;
    }

    pid_t pid_;
    UniqueFd out_fd_;
    UniqueFd err_fd_;
    UniqueFd pidfd_;
    ChildLimits limits_;
    CappedBuffer out_;
    CappedBuffer err_;
    Clock::time_point deadline_;
    Clock::time_point kill_at_{};
    Clock::time_point linger_until_{};
    bool exited_ = false;
    bool terminating_ = false;
    bool killed_ = false;
    bool timed_out_ = false;
};

}  // namespace

Expected<ChildResult, std::string> run_child(const ChildSpec& spec, const ChildLimits& limits) {
    const auto start = Clock::now();
    if (spec.path.empty() || spec.path.front() != '/') {
        return unexpected("cannot execute \"" + spec.path + "\": not an absolute path");
    }
    auto out = make_pipe();
    auto err = make_pipe();
    if (!out || !err) return unexpected("cannot create pipes: " + errno_text(errno));

    // The input goes into a blocking pipe before the program starts; it fits (max_stdin_bytes is
    // below the pipe's capacity), so nothing waits on the program to read it.
    UniqueFd stdin_read;
    if (!spec.stdin_data.empty()) {
        if (spec.stdin_data.size() > max_stdin_bytes) {
            return unexpected(std::string("standard input for the program is too large"));
        }
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            return unexpected("cannot create pipes: " + errno_text(errno));
        stdin_read.reset(fds[0]);
        UniqueFd stdin_write(fds[1]);
        std::string_view left = spec.stdin_data;
        while (!left.empty()) {
            ssize_t n = ::write(stdin_write.get(), left.data(), left.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return unexpected("cannot write the program's input: " + errno_text(errno));
            left.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    // A copy above the standard descriptors, so that the dup2s onto 0-3 cannot overwrite it.
    UniqueFd exec_copy;
    if (spec.exec_fd >= 0) {
        exec_copy.reset(::fcntl(spec.exec_fd, F_DUPFD_CLOEXEC, 10));
        if (exec_copy.get() < 0) {
            return unexpected("cannot execute " + spec.path + ": " + errno_text(errno));
        }
    }

    SpawnAttributes attributes;
    SpawnFileActions actions(stdin_read.get(), out->write.get(), err->write.get(), spec.cwd,
                             exec_copy.get());
    if (!actions.ok()) return unexpected(std::string("cannot prepare the spawn file actions"));

    std::vector<std::string> argv_strings = spec.argv.empty() ? std::vector{spec.path} : spec.argv;
    auto argv = c_strings(argv_strings);
    auto envp = c_strings(spec.env);

    // posix_spawn, not posix_spawnp: the path is executed as given, never searched in PATH, and
    // glibc reports exec failures (ENOENT, EACCES, ENOEXEC) as its return value.
    // With exec_fd, the magic link /proc/self/fd/3 leads to the open file itself, not to a path.
    const std::string exec_path =
        spec.exec_fd >= 0 ? "/proc/self/fd/" + std::to_string(kExecFdInChild) : spec.path;
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, exec_path.c_str(), actions.get(), attributes.get(), argv.data(),
                           envp.data());
    if (rc != 0) return unexpected("cannot execute " + spec.path + ": " + errno_text(rc));
    out->write.reset();
    err->write.reset();
    stdin_read.reset();
    exec_copy.reset();

    Supervisor supervisor(pid, std::move(out->read), std::move(err->read), limits, start);
    return supervisor.run(start);
}

}  // namespace monsys::io::process
