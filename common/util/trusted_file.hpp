#pragma once
// Files that decide what monsys-action does (its configuration with the pinned hub keys, the
// local policy, a restart command it executes) must be out of reach of anyone but root and the
// user that reads them. Each such file is opened once, without following any link, by a walk
// from "/" that checks every directory on the way on the descriptor it opened; the file itself is
// checked with fstat on its own descriptor, and that descriptor is what is then read or executed
// (never the path again, so nothing can be swapped between the check and the use).
#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/util/expected.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys {

enum class TrustedFileFailure {
    not_found,    // a component of the path does not exist (ENOENT)
    link,         // a component is a symbolic link
    not_trusted,  // an owner or mode check failed
    wrong_type,   // not a directory where one is needed, not a regular file, not executable
    io_error,     // any other error of a system call (EACCES, ENOTDIR, EIO, ...)
    too_large,    // a read over its cap
};

struct TrustedFileError {
    TrustedFileFailure failure = TrustedFileFailure::io_error;
    int error = 0;        // errno of the failed system call, 0 when a check refused
    std::string message;  // one line naming the path

    // Only this means "there is no such file"; every other failure must refuse.
    bool not_found() const { return failure == TrustedFileFailure::not_found; }
};

// Who may own the last component (the file, or the directory for open_trusted_directory). The
// directories leading to it are always held to root_or_effective_user.
enum class LastOwner {
    root_or_effective_user,
    // Any owner, still not writable by group or others: for a reader that gets at another
    // user's files through its group (the agent reading monsys-action's replay store).
    anyone,
};

struct TrustedFile {
    UniqueFd fd;
    struct stat st {};
};

// Opens `path` (absolute, without ".." components) for reading. Every directory from "/" down
// must be owned by root or the effective user and not writable by group or others; the file must
// be a regular file, owned likewise (see LastOwner) and not writable by group or others. The
// descriptor is O_RDONLY | O_CLOEXEC.
Expected<TrustedFile, TrustedFileError> open_trusted_file(
    const std::filesystem::path& path, LastOwner owner = LastOwner::root_or_effective_user);

// As open_trusted_file, for a program that is then run with fexecve on the descriptor: it must
// also have an execute bit and no set-user-id or set-group-id bit. The descriptor is O_RDONLY |
// O_CLOEXEC: a "#!" script needs the flag cleared (fcntl F_SETFD 0) right before fexecve, since
// its interpreter opens the script through /dev/fd.
Expected<TrustedFile, TrustedFileError> open_trusted_executable(const std::filesystem::path& path);

// Opens directory `path` (O_RDONLY | O_DIRECTORY | O_CLOEXEC) with the same walk and checks; the
// descriptor serves openat, renameat and fsync of the files in it.
Expected<TrustedFile, TrustedFileError> open_trusted_directory(
    const std::filesystem::path& path, LastOwner owner = LastOwner::root_or_effective_user);

// Reads from `fd` (named `path` in errors) to its end, at most `max_bytes`; more is too_large.
Expected<std::string, TrustedFileError> read_capped(int fd, const std::filesystem::path& path,
                                                    std::size_t max_bytes);

// open_trusted_file + read_capped.
Expected<std::string, TrustedFileError> read_trusted_file(
    const std::filesystem::path& path, std::size_t max_bytes,
    LastOwner owner = LastOwner::root_or_effective_user);

// Success when `st` (of `path`, a `what` such as "directory") passes the owner and mode rule,
// else why not.
Expected<void, std::string> check_ownership(const struct stat& st,
                                            const std::filesystem::path& path,
                                            std::string_view what, LastOwner owner);

// For tests: false makes every step take the O_NOFOLLOW fallback, as on a kernel without openat2.
void use_openat2(bool enabled);

}  // namespace monsys
