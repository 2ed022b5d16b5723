#include "agent/status/status_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/inventory/proc_records.hpp"
#include "common/util/durable_file.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::agent::status {
namespace fs = std::filesystem;

constexpr mode_t status_file_mode = 0640;
constexpr mode_t status_directory_mode = 0750;

Expected<void, std::string> write_status_file(const fs::path& file, std::string_view text) {
    const fs::path directory = file.parent_path();
    struct stat info {};
    if (!directory.empty() && ::stat(directory.c_str(), &info) != 0) {
        if (auto made = ensure_directory(directory, status_directory_mode); !made) return made;
    }
    const fs::path temporary = fs::path(file.string() + ".tmp");
    ::unlink(temporary.c_str());  // a writer that died left it; O_EXCL below must not fail on it
    UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                       status_file_mode));
    if (!fd.valid()) return unexpected(errno_message("cannot create", temporary, errno));
    // The service's UMask=0077 would take the group's read bit away.
    if (::fchmod(fd.get(), status_file_mode) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        return unexpected(errno_message("cannot chmod", temporary, error));
    }
    if (auto written = write_all(fd.get(), text, temporary); !written) {
        ::unlink(temporary.c_str());
        return written;
    }
    fd.reset();
    if (::rename(temporary.c_str(), file.c_str()) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        return unexpected(errno_message("cannot rename into", file, error));
    }
    return ok();
}

Expected<void, std::string> touch_status_file(const fs::path& file) {
    if (::utimensat(AT_FDCWD, file.c_str(), nullptr, AT_SYMLINK_NOFOLLOW) != 0) {
        return unexpected(errno_message("cannot touch", file, errno));
    }
    return ok();
}

void remove_status_file(const fs::path& file) {
    ::unlink(file.c_str());
}

Expected<std::optional<StatusFileText>, ReadFailure> read_status_file(const fs::path& file) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd.valid()) {
        const int error = errno;
        if (error == ENOENT) return std::optional<StatusFileText>();
        return unexpected(ReadFailure{error == EACCES || error == EPERM,
                                      errno_message("cannot open", file, error)});
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) {
        return unexpected(ReadFailure{false, errno_message("cannot stat", file, errno)});
    }
    if (!S_ISREG(info.st_mode)) {
        return unexpected(ReadFailure{false, file.string() + " is not a regular file"});
    }
    std::string text;
    char buffer[16384];
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0)
            return unexpected(ReadFailure{false, errno_message("cannot read", file, errno)});
        if (got == 0) break;
        if (text.size() + static_cast<std::size_t>(got) > max_snapshot_bytes) {
            return unexpected(ReadFailure{false, file.string() + " is larger than " +
                                                     std::to_string(max_snapshot_bytes) +
                                                     " bytes: not a status snapshot"});
        }
        text.append(buffer, static_cast<std::size_t>(got));
    }
    const auto modified_at = Time(std::chrono::duration_cast<Time::duration>(
        std::chrono::seconds(info.st_mtim.tv_sec) + std::chrono::nanoseconds(info.st_mtim.tv_nsec)));
    return std::optional<StatusFileText>(StatusFileText{std::move(text), modified_at});
}

Time confirmed_at(const Snapshot& snapshot, const StatusFileText& file) {
    return std::max(snapshot.written_at, file.modified_at);
}

namespace {

// Reads /proc/<pid>/stat (a few hundred bytes). ENOENT/ESRCH: gone.
Expected<std::optional<inventory::ProcStat>, int> read_proc_stat(const fs::path& proc_root,
                                                                 std::int64_t pid) {
    const fs::path file = proc_root / std::to_string(pid) / "stat";
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        const int error = errno;
        if (error == ENOENT || error == ESRCH) return std::optional<inventory::ProcStat>();
        return unexpected(error);
    }
    char buffer[4096];
    ssize_t got;
    do {
        got = ::read(fd.get(), buffer, sizeof buffer);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        const int error = errno;
        if (error == ESRCH) return std::optional<inventory::ProcStat>();
        return unexpected(error);
    }
    auto stat = inventory::parse_proc_stat(std::string_view(buffer, static_cast<std::size_t>(got)));
    if (!stat) return unexpected(EINVAL);
    return std::optional<inventory::ProcStat>(*stat);
}

}  // namespace

Liveness process_liveness(const ProcessIdentity& identity, const fs::path& proc_root) {
    if (identity.pid <= 0) return Liveness::gone;
    auto stat = read_proc_stat(proc_root, identity.pid);
    if (!stat) return Liveness::alive;  // cannot tell: the snapshot's age decides
    if (!*stat) return Liveness::gone;
    // A zombie has exited already; its pid is not reused yet.
    if ((*stat)->state == 'Z' || (*stat)->state == 'X') return Liveness::gone;
    if ((*stat)->start_ticks != identity.start_ticks) return Liveness::other_process;
    return Liveness::alive;
}

ProcessIdentity own_process_identity(const fs::path& proc_root) {
    ProcessIdentity identity;
    identity.pid = ::getpid();
    auto stat = read_proc_stat(proc_root, identity.pid);
    if (stat && *stat) identity.start_ticks = (*stat)->start_ticks;
    return identity;
}

}  // namespace monsys::agent::status
