#include "common/util/durable_file.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/util/unique_fd.hpp"

namespace monsys {
namespace {

namespace fs = std::filesystem;

fs::path directory_of(const fs::path& file) {
    fs::path directory = file.parent_path();
    return directory.empty() ? fs::path(".") : directory;
}

// Renames without replacing: renameat2(RENAME_NOREPLACE) where the file system has it, else a
// check first (good enough for a directory only this process writes to).
int rename_no_replace(const fs::path& from, const fs::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return -1;
    struct stat st {};
    if (::lstat(to.c_str(), &st) == 0) {
        errno = EEXIST;
        return -1;
    }
    return ::rename(from.c_str(), to.c_str());
}

}  // namespace

std::string errno_message(std::string_view what, const fs::path& path, int error) {
    return std::string(what) + " " + path.string() + ": " + std::strerror(error);
}

Expected<void, std::string> write_all(int fd, std::string_view data, const fs::path& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return unexpected(errno_message("cannot write", path, errno));
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return ok();
}

Expected<void, std::string> fsync_directory(const fs::path& directory) {
    UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return unexpected(errno_message("cannot open", directory, errno));
    if (::fsync(fd.get()) != 0) return unexpected(errno_message("cannot fsync", directory, errno));
    return ok();
}

Expected<void, std::string> ensure_directory(const fs::path& directory, mode_t mode) {
    struct stat st {};
    if (::stat(directory.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) return ok();
        return unexpected(directory.string() + " exists and is not a directory");
    }
    if (errno != ENOENT) return unexpected(errno_message("cannot stat", directory, errno));

    fs::path parent = directory.parent_path();
    if (!parent.empty() && parent != directory) {
        if (auto parent_made = ensure_directory(parent, mode); !parent_made) return parent_made;
    }
    if (::mkdir(directory.c_str(), mode) != 0) {
        // Someone else may have created it meanwhile.
        if (errno == EEXIST && ::stat(directory.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            return ok();
        }
        return unexpected(errno_message("cannot create directory", directory, errno));
    }
    // The umask may have taken bits away.
    if (::chmod(directory.c_str(), mode) != 0) {
        return unexpected(errno_message("cannot set the mode of", directory, errno));
    }
    return fsync_directory(directory_of(directory));
}

Expected<void, std::string> write_file_atomically(const fs::path& file, std::string_view data,
                                                  mode_t mode) {
    fs::path temp = file;
    temp += ".tmp";
    if (::unlink(temp.c_str()) != 0 && errno != ENOENT) {
        return unexpected(errno_message("cannot remove", temp, errno));
    }
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd.valid()) return unexpected(errno_message("cannot create", temp, errno));
    auto fail = [&temp](std::string message) -> Expected<void, std::string> {
        ::unlink(temp.c_str());
        return unexpected(std::move(message));
    };
    // The umask may have taken bits away.
    if (::fchmod(fd.get(), mode) != 0) return fail(errno_message("cannot chmod", temp, errno));
    if (auto written = write_all(fd.get(), data, temp); !written) {
        return fail(std::move(written.error()));
    }
    if (::fsync(fd.get()) != 0) return fail(errno_message("cannot fsync", temp, errno));
    if (::close(fd.release()) != 0) return fail(errno_message("cannot close", temp, errno));
    if (::rename(temp.c_str(), file.c_str()) != 0) {
        return fail(errno_message("cannot rename over", file, errno));
    }
    return fsync_directory(directory_of(file));
}

Expected<void, std::string> write_file_atomically_at(int directory_fd, const fs::path& directory,
                                                     std::string_view name, std::string_view data,
                                                     mode_t mode, gid_t group) {
    const std::string temp_name = std::string(name) + ".tmp";
    const fs::path temp = directory / temp_name;
    if (::unlinkat(directory_fd, temp_name.c_str(), 0) != 0 && errno != ENOENT) {
        return unexpected(errno_message("cannot remove", temp, errno));
    }
    UniqueFd fd(::openat(directory_fd, temp_name.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd.valid()) return unexpected(errno_message("cannot create", temp, errno));
    auto fail = [directory_fd, &temp_name](std::string message) -> Expected<void, std::string> {
        ::unlinkat(directory_fd, temp_name.c_str(), 0);
        return unexpected(std::move(message));
    };
    if (group != static_cast<gid_t>(-1) && ::fchown(fd.get(), static_cast<uid_t>(-1), group) != 0) {
        return fail(
            errno_message("cannot give group " + std::to_string(group) + " to", temp, errno));
    }
    // The umask may have taken bits away (and fchown may clear set-id bits).
    if (::fchmod(fd.get(), mode) != 0) return fail(errno_message("cannot chmod", temp, errno));
    if (auto written = write_all(fd.get(), data, temp); !written) {
        return fail(std::move(written.error()));
    }
    if (::fsync(fd.get()) != 0) return fail(errno_message("cannot fsync", temp, errno));
    if (::close(fd.release()) != 0) return fail(errno_message("cannot close", temp, errno));
    const std::string target(name);
    if (::renameat(directory_fd, temp_name.c_str(), directory_fd, target.c_str()) != 0) {
        return fail(errno_message("cannot rename over", directory / target, errno));
    }
    if (::fsync(directory_fd) != 0) {
        return unexpected(errno_message("cannot fsync", directory, errno));
    }
    return ok();
}

Expected<void, std::string> remove_file_durably(const fs::path& file) {
    if (::unlink(file.c_str()) != 0) {
        if (errno == ENOENT) return ok();
        return unexpected(errno_message("cannot remove", file, errno));
    }
    return fsync_directory(directory_of(file));
}

Expected<fs::path, std::string> move_into_directory(const fs::path& file,
                                                    const fs::path& directory) {
    if (auto made = ensure_directory(directory); !made) return unexpected(std::move(made.error()));
    const fs::path name = file.filename();
    constexpr int max_attempts = 1000;
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
        fs::path target = directory / name;
        if (attempt > 0) target += "." + std::to_string(attempt);
        if (rename_no_replace(file, target) == 0) {
            if (auto synced = fsync_directory(directory); !synced) {
                return unexpected(std::move(synced.error()));
            }
            if (auto synced = fsync_directory(directory_of(file)); !synced) {
                return unexpected(std::move(synced.error()));
            }
            return target;
        }
        if (errno != EEXIST) return unexpected(errno_message("cannot move", file, errno));
    }
    return unexpected("cannot move " + file.string() + ": " + std::to_string(max_attempts) +
                      " files of that name are already in " + directory.string());
}

Expected<std::optional<std::string>, std::string> read_regular_file(const fs::path& file,
                                                                    std::size_t max_bytes) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) {
        if (errno == ENOENT) return std::optional<std::string>();
        return unexpected(errno_message("cannot open", file, errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return unexpected(errno_message("cannot stat", file, errno));
    if (!S_ISREG(st.st_mode)) return unexpected(file.string() + " is not a regular file");
    if (static_cast<std::size_t>(st.st_size) > max_bytes) {
        return unexpected(file.string() + " is larger than " + std::to_string(max_bytes) +
                          " bytes");
    }
    // Read to the end rather than st_size bytes: the file may have changed since the fstat.
    std::string data;
    data.reserve(static_cast<std::size_t>(st.st_size));
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return unexpected(errno_message("cannot read", file, errno));
        if (n == 0) break;
        if (data.size() + static_cast<std::size_t>(n) > max_bytes) {
            return unexpected(file.string() + " is larger than " + std::to_string(max_bytes) +
                              " bytes");
        }
        data.append(buffer, static_cast<std::size_t>(n));
    }
    return std::optional<std::string>(std::move(data));
}

}  // namespace monsys
