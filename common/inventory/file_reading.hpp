#pragma once
// Bounded reads of /proc and /etc files. Errors come back as the errno value, so a collector can
// tell a process that vanished (ENOENT, ESRCH) from one it may not read (EACCES).
#include <cstddef>
#include <string>

#include "common/util/expected.hpp"

namespace monsys::inventory {

struct CappedText {
    std::string text;
    bool truncated = false;
};

// Reads at most `cap` bytes of the file; `truncated` says whether there was more.
Expected<CappedText, int> read_file_capped(const std::string& path, std::size_t cap);

// Reads a whole file of at most `cap` bytes; a larger one is EFBIG.
Expected<std::string, int> read_small_file(const std::string& path, std::size_t cap);

// A /proc file the kernel produces in one go (stat, status, cmdline): one read() of up to
// cap + 1 bytes returns all of it, so the read that would confirm the end is skipped.
Expected<CappedText, int> read_proc_record(const std::string& path, std::size_t cap);

Expected<std::string, int> read_symlink(const std::string& path);

bool is_gone(int error);  // ENOENT or ESRCH: the process exited meanwhile

}  // namespace monsys::inventory
