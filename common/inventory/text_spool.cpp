#include "common/inventory/text_spool.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace monsys::inventory {
namespace {

constexpr std::size_t chunk_size = 64 * 1024;

int open_unlinked_file(const std::string& directory) {
    std::string dir = directory;
    if (dir.empty()) {
        const char* tmpdir = std::getenv("TMPDIR");
        dir = tmpdir && *tmpdir ? tmpdir : "/tmp";
    }
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    return ::memfd_create("monsys-spool", MFD_CLOEXEC);
}

bool write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        ssize_t wrote = ::write(fd, text.data(), text.size());
        if (wrote < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        text.remove_prefix(static_cast<std::size_t>(wrote));
    }
    return true;
}

}  // namespace

TextSpool::TextSpool(const std::string& directory) : fd_(open_unlinked_file(directory)) {}

TextSpool::~TextSpool() = default;

void TextSpool::write(std::string_view text) {
    size_ += text.size();
    buffer_.append(text);
    if (buffer_.size() >= chunk_size) flush_buffer();
}

void TextSpool::flush_buffer() {
    if (!fd_.valid() || failed_ || buffer_.empty()) return;
    if (!write_all(fd_.get(), buffer_)) {
        // A full disk: only the first in_file_ bytes of the file are read back; the rest of the
        // text stays in memory from here on.
        failed_ = true;
        return;
    }
    in_file_ += buffer_.size();
    buffer_.clear();
}

bool TextSpool::copy_to(TextSink& out) {
    if (fd_.valid() && in_file_ > 0) {
        std::string chunk(chunk_size, '\0');
        std::size_t offset = 0;
        while (offset < in_file_) {
            std::size_t want = std::min(chunk.size(), in_file_ - offset);
            ssize_t got = ::pread(fd_.get(), chunk.data(), want, static_cast<off_t>(offset));
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) return false;
            out.write(std::string_view(chunk.data(), static_cast<std::size_t>(got)));
            offset += static_cast<std::size_t>(got);
        }
    }
    out.write(buffer_);
    return true;
}

}  // namespace monsys::inventory
