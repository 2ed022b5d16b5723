#include "common/eat/replay_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <utility>
#include <vector>

#include "common/eat/claims.hpp"
#include "common/util/durable_file.hpp"
#include "common/util/file_lock.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::eat {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view format_line = "monsys-eat-replay 1\n";
// Entries live for minutes, so even a busy hub leaves a few thousand at most; a file this large
// is not ours and is refused rather than read.
constexpr std::size_t max_store_bytes = 8u << 20;
constexpr mode_t store_mode = 0640;  // the agent reads it as a member of the group
constexpr auto lock_timeout = std::chrono::seconds(10);

struct Entry {
    std::int64_t keep_until;
    std::string jti_hex;
};

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
Expected<UniqueFd, std::string> lock(const fs::path& lock_file, bool exclusive) {
    UniqueFd fd;
    if (exclusive) {
        fd = UniqueFd(::open(lock_file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                             store_mode));
        if (fd.valid()) {
            // The umask could have taken the group's read bit.
            if (::fchmod(fd.get(), store_mode) != 0) {
                return unexpected(errno_message("cannot set the mode of", lock_file, errno));
            }
        } else if (errno == EEXIST) {
            fd = UniqueFd(::open(lock_file.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
        }
    } else {
        fd = UniqueFd(::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        // No lock file means no writer has ever run; the data file is only ever replaced by
        // rename, so reading it without the lock still sees a whole version.
        if (!fd.valid() && errno == ENOENT) return UniqueFd();
    }
    if (!fd.valid()) return unexpected(errno_message("cannot open", lock_file, errno));
    if (auto problem = lock_with_timeout(fd.get(), exclusive, lock_file, lock_timeout)) {
        return unexpected(std::move(*problem));
    }
    return fd;
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
    auto data = read_regular_file(file, max_store_bytes);
    if (!data) return unexpected(std::move(data.error()));
    if (!data->has_value()) return std::vector<Entry>();  // no file yet
    return parse_entries(**data, file);
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
    return write_file_atomically(file, data, store_mode);
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
