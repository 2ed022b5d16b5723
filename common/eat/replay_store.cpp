#include "common/eat/replay_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "common/eat/claims.hpp"

namespace monsys::eat {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view format_line = "monsys-eat-replay 1\n";
// Entries live for minutes, so even a busy hub leaves a few thousand at most; a file this large
// is not ours and is refused rather than read.
constexpr std::size_t max_store_bytes = 8u << 20;
constexpr mode_t store_mode = 0640;  // the agent reads it as a member of the group
constexpr auto lock_timeout = std::chrono::seconds(10);
constexpr auto lock_poll_interval = std::chrono::milliseconds(2);

struct Entry {
    std::int64_t keep_until;
    std::string jti_hex;
};

class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            if (fd_ >= 0) ::close(fd_);
            fd_ = other.release();
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

  private:
    int fd_;
};

std::string failure(std::string_view what, const fs::path& path, int error) {
    return std::string(what) + " " + path.string() + ": " + std::strerror(error);
}

std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) {
        auto u = static_cast<unsigned char>(c);
        out += digits[u >> 4];
        out += digits[u & 0xF];
    }
    return out;
}

bool is_lower_hex(std::string_view text) {
    for (char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

// Opens and locks `lock_file`. The wait is bounded: a stopped or hung holder must not stall an
// emergency action forever, and a time-out is reported like any other store failure.
Expected<Fd, std::string> lock(const fs::path& lock_file, bool exclusive) {
    Fd fd;
    if (exclusive) {
        fd = Fd(::open(lock_file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                       store_mode));
        if (fd.get() >= 0) {
            // The umask could have taken the group's read bit.
            if (::fchmod(fd.get(), store_mode) != 0) {
                return unexpected(failure("cannot set the mode of", lock_file, errno));
            }
        } else if (errno == EEXIST) {
            fd = Fd(::open(lock_file.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
        }
    } else {
        fd = Fd(::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        // No lock file means no writer has ever run; the data file is only ever replaced by
        // rename, so reading it without the lock still sees a whole version.
        if (fd.get() < 0 && errno == ENOENT) return Fd();
    }
    if (fd.get() < 0) return unexpected(failure("cannot open", lock_file, errno));

    const auto deadline = std::chrono::steady_clock::now() + lock_timeout;
    const int operation = (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
    while (::flock(fd.get(), operation) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            return unexpected(failure("cannot lock", lock_file, errno));
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return unexpected("timed out waiting for the lock on " + lock_file.string());
        }
        std::this_thread::sleep_for(lock_poll_interval);
    }
    return fd;
}

Expected<std::string, std::string> read_file(const fs::path& file) {
    Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0) {
        if (errno == ENOENT) return std::string();
        return unexpected(failure("cannot open", file, errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return unexpected(failure("cannot stat", file, errno));
    if (!S_ISREG(st.st_mode)) return unexpected(file.string() + " is not a regular file");
    if (static_cast<std::size_t>(st.st_size) > max_store_bytes) {
        return unexpected(file.string() + " is larger than " + std::to_string(max_store_bytes) +
                          " bytes");
    }
    std::string data(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return unexpected(failure("cannot read", file, errno));
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    data.resize(done);
    return data;
}

// A corrupt file is an error, never an empty store: reading it as empty would make every token
// recorded in it replayable, and whoever could damage the file would get exactly that. The
// writer only ever renames whole files into place, so corruption means tampering or a disk
// fault, both of which want an operator.
Expected<std::vector<Entry>, std::string> parse_entries(std::string_view data,
                                                        const fs::path& file) {
    std::vector<Entry> entries;
    if (data.empty()) return entries;  // no file yet
    auto corrupt = [&file](std::string_view why) {
        return unexpected(file.string() + " is corrupt (" + std::string(why) +
                          "); refusing tokens until it is inspected and removed");
    };
    if (data.substr(0, format_line.size()) != format_line) return corrupt("unknown format line");
    data.remove_prefix(format_line.size());
    while (!data.empty()) {
        auto end = data.find('\n');
        if (end == std::string_view::npos) return corrupt("truncated line");
        std::string_view line = data.substr(0, end);
        data.remove_prefix(end + 1);
        auto space = line.find(' ');
        if (space == std::string_view::npos) return corrupt("line without a separator");
        std::string_view time_text = line.substr(0, space);
        std::string_view jti_hex = line.substr(space + 1);
        Entry entry{};
        auto [ptr, ec] = std::from_chars(time_text.data(), time_text.data() + time_text.size(),
                                         entry.keep_until);
        if (ec != std::errc() || ptr != time_text.data() + time_text.size() ||
            entry.keep_until < 0) {
            return corrupt("bad keep-until time");
        }
        if (jti_hex.empty() || jti_hex.size() % 2 != 0 || jti_hex.size() > 2 * max_jti_bytes ||
            !is_lower_hex(jti_hex)) {
            return corrupt("bad jti");
        }
        entry.jti_hex = std::string(jti_hex);
        entries.push_back(std::move(entry));
    }
    return entries;
}

Expected<std::vector<Entry>, std::string> load(const fs::path& file) {
    auto data = read_file(file);
    if (!data) return unexpected(std::move(data.error()));
    return parse_entries(*data, file);
}

std::optional<std::string> write_all(int fd, std::string_view data, const fs::path& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return failure("cannot write", path, errno);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return std::nullopt;
}

// Write a temporary file, fsync it, rename it over the store and fsync the directory: after a
// crash the store is either the old or the new version, and a completed consume survives.
std::optional<std::string> store(const fs::path& file, const std::vector<Entry>& entries) {
    std::string data(format_line);
    for (const Entry& entry : entries) {
        data += std::to_string(entry.keep_until);
        data += ' ';
        data += entry.jti_hex;
        data += '\n';
    }

    fs::path temp = file;
    temp += ".tmp";
    // A writer that died before its rename leaves a temporary file; we hold the lock, so it is
    // nobody's any more.
    if (::unlink(temp.c_str()) != 0 && errno != ENOENT) {
        return failure("cannot remove", temp, errno);
    }
    Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, store_mode));
    if (fd.get() < 0) return failure("cannot create", temp, errno);
    auto fail = [&temp](std::string message) {
        ::unlink(temp.c_str());
        return std::optional<std::string>(std::move(message));
    };
    if (::fchmod(fd.get(), store_mode) != 0) return fail(failure("cannot chmod", temp, errno));
    if (auto problem = write_all(fd.get(), data, temp)) return fail(std::move(*problem));
    if (::fsync(fd.get()) != 0) return fail(failure("cannot fsync", temp, errno));
    if (::close(fd.release()) != 0) return fail(failure("cannot close", temp, errno));
    if (::rename(temp.c_str(), file.c_str()) != 0) {
        return fail(failure("cannot rename over", file, errno));
    }

    fs::path directory = file.parent_path();
    if (directory.empty()) directory = ".";
    Fd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) return failure("cannot open", directory, errno);
    if (::fsync(dir.get()) != 0) return failure("cannot fsync", directory, errno);
    return std::nullopt;
}

// An entry is kept while now <= keep_until; after that the token it stands for is expired and
// could not pass verify_token again, so the entry has nothing left to block.
bool is_live(const Entry& entry, std::int64_t now) {
    return entry.keep_until >= now;
}

}  // namespace

ReplayStore::ReplayStore(std::filesystem::path file)
    : file_(std::move(file)), lock_file_(file_.string() + ".lock") {}

Expected<bool, std::string> ReplayStore::seen(std::string_view jti, std::int64_t now_unix) const {
    auto held = lock(lock_file_, /*exclusive=*/false);
    if (!held) return unexpected(std::move(held.error()));
    auto entries = load(file_);
    if (!entries) return unexpected(std::move(entries.error()));
    const std::string wanted = to_hex(jti);
    for (const Entry& entry : *entries) {
        if (entry.jti_hex == wanted && is_live(entry, now_unix)) return true;
    }
    return false;
}

std::optional<Rejection> ReplayStore::consume(std::string_view jti, std::int64_t keep_until_unix,
                                              std::int64_t now_unix) {
    auto store_error = [](std::string detail) {
        return Rejection{Refusal::replay_store_error, std::move(detail)};
    };
    if (jti.empty() || jti.size() > max_jti_bytes) {
        return store_error("jti must be 1 to " + std::to_string(max_jti_bytes) + " bytes");
    }
    if (keep_until_unix < 0) return store_error("negative keep-until time");

    auto held = lock(lock_file_, /*exclusive=*/true);
    if (!held) return store_error(std::move(held.error()));
    auto loaded = load(file_);
    if (!loaded) return store_error(std::move(loaded.error()));

    const std::string wanted = to_hex(jti);
    std::vector<Entry> kept;
    kept.reserve(loaded->size() + 1);
    for (Entry& entry : *loaded) {
        if (!is_live(entry, now_unix)) continue;
        if (entry.jti_hex == wanted) {
            return Rejection{Refusal::replayed, "jti was consumed before (kept until " +
                                                    std::to_string(entry.keep_until) + ")"};
        }
        kept.push_back(std::move(entry));
    }
    kept.push_back(Entry{keep_until_unix, wanted});
    if (auto problem = store(file_, kept)) return store_error(std::move(*problem));
    return std::nullopt;
}

}  // namespace monsys::eat
