#include "common/inventory/file_reading.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/util/unique_fd.hpp"

namespace monsys::inventory {

Expected<CappedText, int> read_file_capped(const std::string& path, std::size_t cap) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) return unexpected(errno);
    CappedText result;
    // One byte past the cap tells a file of exactly `cap` bytes from a longer one.
    std::size_t want = cap + 1;
    char buffer[8192];
    while (result.text.size() < want) {
        std::size_t chunk = std::min(sizeof buffer, want - result.text.size());
        ssize_t got = ::read(fd.get(), buffer, chunk);
        if (got < 0) {
            if (errno == EINTR) continue;
            return unexpected(errno);
        }
        if (got == 0) break;
        result.text.append(buffer, static_cast<std::size_t>(got));
    }
    if (result.text.size() > cap) {
        result.text.resize(cap);
        result.truncated = true;
    }
    return result;
}

Expected<CappedText, int> read_proc_record(const std::string& path, std::size_t cap) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) return unexpected(errno);
    CappedText result;
    char small[8192];
    std::string large;
    char* buffer = small;
    if (cap + 1 > sizeof small) {
        large.resize(cap + 1);
        buffer = large.data();
    }
    ssize_t got;
    do {
        got = ::read(fd.get(), buffer, cap + 1);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return unexpected(errno);
    result.text.assign(buffer, static_cast<std::size_t>(got));
    if (result.text.size() > cap) {
        result.text.resize(cap);
        result.truncated = true;
    }
    return result;
}

Expected<std::string, int> read_small_file(const std::string& path, std::size_t cap) {
    auto read = read_file_capped(path, cap);
    if (!read) return unexpected(read.error());
    if (read->truncated) return unexpected(EFBIG);
    return std::move(read->text);
}

Expected<std::string, int> read_symlink(const std::string& path) {
    char target[4096];
    ssize_t length = ::readlink(path.c_str(), target, sizeof target);
    if (length < 0) return unexpected(errno);
    if (static_cast<std::size_t>(length) == sizeof target) return unexpected(ENAMETOOLONG);
    return std::string(target, static_cast<std::size_t>(length));
}

bool is_gone(int error) {
    return error == ENOENT || error == ESRCH;
}

}  // namespace monsys::inventory
