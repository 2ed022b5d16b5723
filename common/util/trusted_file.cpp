#include "common/util/trusted_file.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

namespace monsys {
namespace {

namespace fs = std::filesystem;

// Set once the kernel has said it has no openat2 (before Linux 5.6, or a seccomp filter that
// answers ENOSYS); from then on every step uses openat with O_NOFOLLOW.
std::atomic<bool> openat2_missing{false};

// Opens one path component `name` (no '/') under `directory_fd` without following a link. The
// walk needs each directory's descriptor for its checks, so it takes one component per call
// either way: openat2's RESOLVE_NO_SYMLINKS (which also refuses /proc's magic links) where the
// kernel has it, else O_NOFOLLOW, which for a single component refuses the same links.
int open_component(int directory_fd, const char* name, int flags) {
    flags |= O_NOFOLLOW | O_CLOEXEC;
    if (!openat2_missing.load(std::memory_order_relaxed)) {
        open_how how{};
        how.flags = static_cast<std::uint64_t>(flags);
        how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH;
        for (int attempt = 0; attempt < 8; ++attempt) {
            long fd = ::syscall(SYS_openat2, directory_fd, name, &how, sizeof how);
            if (fd >= 0) return static_cast<int>(fd);
            if (errno != EAGAIN) break;  // a concurrent rename elsewhere; the kernel asks to retry
        }
        if (errno == ENOSYS) {
            openat2_missing.store(true, std::memory_order_relaxed);
        } else if (errno != EPERM) {  // EPERM: a seccomp filter that refuses unknown calls
            return -1;
        }
    }
    return ::openat(directory_fd, name, flags);
}

TrustedFileError failure(TrustedFileFailure kind, int error, std::string message) {
    return TrustedFileError{kind, error, std::move(message)};
}

// Names the failure of opening `name` in `directory_fd` (which `shown` spells out).
TrustedFileError open_failure(int error, int directory_fd, const char* name,
                              const std::string& shown) {
    if (error == ENOENT) {
        return failure(TrustedFileFailure::not_found, error, shown + " does not exist");
    }
    // ELOOP, or ENOTDIR for O_DIRECTORY on a link: say which when the entry is a link.
    struct stat st {};
    if ((error == ELOOP || error == ENOTDIR || error == EXDEV) &&
        ::fstatat(directory_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        return failure(TrustedFileFailure::link, ELOOP,
                       shown + " is a symbolic link (links are not followed here)");
    }
    return failure(TrustedFileFailure::io_error, error,
                   "cannot open " + shown + ": " + std::strerror(error));
}

enum class Target { file, executable, directory };

Expected<std::vector<std::string>, TrustedFileError> components_of(const fs::path& path) {
    const std::string text = path.string();
    if (text.empty() || text.front() != '/') {
        return unexpected(failure(TrustedFileFailure::not_trusted, EINVAL,
                                  "'" + text + "' is not an absolute path"));
    }
    std::vector<std::string> names;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('/', start);
        if (end == std::string::npos) end = text.size();
        std::string name = text.substr(start, end - start);
        if (name == "..") {
            return unexpected(
                failure(TrustedFileFailure::not_trusted, EINVAL, text + " has a '..' component"));
        }
        if (!name.empty() && name != ".") names.push_back(std::move(name));
        start = end + 1;
    }
    return names;
}

// Success when `st` is of the kind `target` asks for, else why not.
Expected<void, std::string> check_type(const struct stat& st, const std::string& shown,
                                       Target target) {
    if (S_ISLNK(st.st_mode)) {
        return unexpected(shown + " is a symbolic link (links are not followed here)");
    }
    if (target == Target::directory) {
        if (S_ISDIR(st.st_mode)) return ok();
        return unexpected(shown + " is not a directory");
    }
    if (!S_ISREG(st.st_mode)) return unexpected(shown + " is not a regular file");
    if (target == Target::executable) {
        if ((st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0) {
            return unexpected(shown + " is not executable");
        }
        if ((st.st_mode & (S_ISUID | S_ISGID)) != 0) {
            return unexpected(shown + " has the set-user-id or set-group-id bit");
        }
    }
    return ok();
}

Expected<TrustedFile, TrustedFileError> open_checked(const fs::path& path, Target target,
                                                     LastOwner owner) {
    auto names = components_of(path);
    if (!names) return unexpected(std::move(names.error()));

    TrustedFile current;
    current.fd = UniqueFd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    std::string shown = "/";
    if (!current.fd.valid()) {
        return unexpected(failure(TrustedFileFailure::io_error, errno,
                                  std::string("cannot open /: ") + std::strerror(errno)));
    }
    for (std::size_t i = 0;; ++i) {
        const bool last = i == names->size();
        if (::fstat(current.fd.get(), &current.st) != 0) {
            return unexpected(failure(TrustedFileFailure::io_error, errno,
                                      "cannot stat " + shown + ": " + std::strerror(errno)));
        }
        const Target expected = last ? target : Target::directory;
        if (auto typed = check_type(current.st, shown, expected); !typed) {
            const bool link = S_ISLNK(current.st.st_mode);
            return unexpected(
                failure(link ? TrustedFileFailure::link : TrustedFileFailure::wrong_type,
                        link ? ELOOP : (expected == Target::directory ? ENOTDIR : 0),
                        std::move(typed.error())));
        }
        const char* what = expected == Target::directory ? "directory" : "file";
        if (auto owned = check_ownership(current.st, shown, what,
                                         last ? owner : LastOwner::root_or_effective_user);
            !owned) {
            return unexpected(
                failure(TrustedFileFailure::not_trusted, 0, std::move(owned.error())));
        }
        if (last) return current;

        const std::string& name = (*names)[i];
        const bool next_is_last = i + 1 == names->size();
        int flags = O_PATH | O_DIRECTORY;
        if (next_is_last && target == Target::directory) flags = O_RDONLY | O_DIRECTORY;
        // O_NONBLOCK: opening a FIFO must not wait for a writer (fstat then refuses it).
        if (next_is_last && target != Target::directory) flags = O_RDONLY | O_NONBLOCK | O_NOCTTY;
        std::string next_shown = shown == "/" ? "/" + name : shown + "/" + name;
        UniqueFd next(open_component(current.fd.get(), name.c_str(), flags));
        if (!next.valid()) {
            return unexpected(open_failure(errno, current.fd.get(), name.c_str(), next_shown));
        }
        current.fd = std::move(next);
        shown = std::move(next_shown);
    }
}

}  // namespace

Expected<void, std::string> check_ownership(const struct stat& st, const fs::path& path,
                                            std::string_view what, LastOwner owner) {
    const uid_t euid = ::geteuid();
    if (owner == LastOwner::root_or_effective_user && st.st_uid != 0 && st.st_uid != euid) {
        return unexpected(std::string(what) + " " + path.string() + " is owned by uid " +
                          std::to_string(st.st_uid) + ", not by root" +
                          (euid == 0 ? std::string() : " or uid " + std::to_string(euid)));
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        return unexpected(std::string(what) + " " + path.string() +
                          " is writable by group or others");
    }
    return ok();
}

void use_openat2(bool enabled) {
    openat2_missing.store(!enabled, std::memory_order_relaxed);
}

Expected<TrustedFile, TrustedFileError> open_trusted_file(const fs::path& path, LastOwner owner) {
    return open_checked(path, Target::file, owner);
}

Expected<TrustedFile, TrustedFileError> open_trusted_executable(const fs::path& path) {
    return open_checked(path, Target::executable, LastOwner::root_or_effective_user);
}

Expected<TrustedFile, TrustedFileError> open_trusted_directory(const fs::path& path,
                                                               LastOwner owner) {
    return open_checked(path, Target::directory, owner);
}

Expected<std::string, TrustedFileError> read_capped(int fd, const fs::path& path,
                                                    std::size_t max_bytes) {
    std::string data;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            return unexpected(
                failure(TrustedFileFailure::io_error, errno,
                        "cannot read " + path.string() + ": " + std::strerror(errno)));
        }
        if (n == 0) return data;
        if (data.size() + static_cast<std::size_t>(n) > max_bytes) {
            return unexpected(
                failure(TrustedFileFailure::too_large, EFBIG,
                        path.string() + " is larger than " + std::to_string(max_bytes) + " bytes"));
        }
        data.append(buffer, static_cast<std::size_t>(n));
    }
}

Expected<std::string, TrustedFileError> read_trusted_file(const fs::path& path,
                                                          std::size_t max_bytes, LastOwner owner) {
    auto file = open_trusted_file(path, owner);
    if (!file) return unexpected(std::move(file.error()));
    return read_capped(file->fd.get(), path, max_bytes);
}

}  // namespace monsys
