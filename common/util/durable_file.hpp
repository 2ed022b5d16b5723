#pragma once
// Files that must survive a crash or a power loss: each is written to a temporary file, fsync'd,
// renamed into place, and its directory fsync'd, so a reader finds either the old or the new
// version, never a mix. Every error is one line naming the path and strerror.
#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/util/expected.hpp"

namespace monsys {

inline constexpr mode_t private_file_mode = 0600;
inline constexpr mode_t private_directory_mode = 0700;

// "<what> <path>: <strerror(error)>", e.g. "cannot open /var/lib/monsys/x: Permission denied".
std::string errno_message(std::string_view what, const std::filesystem::path& path, int error);

// Writes all of `data` to `fd` (retrying short writes and EINTR); `path` names it in the error.
Expected<void, std::string> write_all(int fd, std::string_view data,
                                      const std::filesystem::path& path);

// Creates `directory` and any missing parents with exactly `mode`, fsyncing each parent so the
// new entries last. An existing directory is left as it is; anything else there is an error.
Expected<void, std::string> ensure_directory(const std::filesystem::path& directory,
                                             mode_t mode = private_directory_mode);

Expected<void, std::string> fsync_directory(const std::filesystem::path& directory);

// Replaces `file` with `data` atomically and durably, with exactly `mode`. The temporary file is
// `file` + ".tmp" (a stale one from a writer that died is removed), so writers of one file must
// be serialised by the caller.
Expected<void, std::string> write_file_atomically(const std::filesystem::path& file,
                                                  std::string_view data,
                                                  mode_t mode = private_file_mode);

// As write_file_atomically, relative to the directory open as `directory_fd` (O_RDONLY, named
// `directory` in errors): the temporary file, the rename and the fsync all go through that
// descriptor, so they land in the directory that was checked when it was opened, even if a path
// to it has been renamed since. When `group` is not -1 the file gets that group (for readers that
// reach the file through their group, where the directory has no set-group-id bit).
Expected<void, std::string> write_file_atomically_at(int directory_fd,
                                                     const std::filesystem::path& directory,
                                                     std::string_view name, std::string_view data,
                                                     mode_t mode = private_file_mode,
                                                     gid_t group = static_cast<gid_t>(-1));

// Unlinks `file` and fsyncs its directory. A file that is not there is not an error.
Expected<void, std::string> remove_file_durably(const std::filesystem::path& file);

// Moves `file` into `directory` (created with mode 0700 if needed) under its own name, or with
// ".1", ".2", ... appended when that name is taken: nothing there is ever replaced. Both
// directories are fsync'd. Returns the new path.
Expected<std::filesystem::path, std::string> move_into_directory(
    const std::filesystem::path& file, const std::filesystem::path& directory);

// Reads a regular file of at most `max_bytes` without following a final symlink. A missing file
// is no value; a larger file, a symlink or anything not a regular file is an error.
Expected<std::optional<std::string>, std::string> read_regular_file(
    const std::filesystem::path& file, std::size_t max_bytes);

}  // namespace monsys
