#pragma once
// flock(2) with a bounded wait: a stopped or hung holder must not stall the caller forever, and
// a time-out is reported like any other I/O failure.
#include <chrono>
#include <filesystem>
#include <string>

#include "common/util/expected.hpp"

namespace monsys {

inline constexpr std::chrono::milliseconds default_lock_timeout{10000};

// Takes LOCK_EX (exclusive) or LOCK_SH on `fd`, which was opened from `path` (named in the
// error). The lock lasts until the descriptor is closed.
Expected<void, std::string> lock_with_timeout(
    int fd, bool exclusive, const std::filesystem::path& path,
    std::chrono::milliseconds timeout = default_lock_timeout);

}  // namespace monsys
