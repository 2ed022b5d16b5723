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
#include "common/util/trusted_file.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::eat {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view format_line = "monsys-eat-replay 1\n";
constexpr mode_t store_mode = 0640;  // the agent reads it as a member of the directory's group
constexpr auto lock_timeout = std::chrono::seconds(10);

// The reader (the agent, `monsys-action verify`) may reach another user's store through its
// group; the writer only uses a store that is its own or root's.
enum class Role { reader, writer };

LastOwner last_owner(Role role) {
    return role == Role::writer ? LastOwner::root_or_effective_user : LastOwner::anyone;
}

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

// The store's directory, opened by the trusted walk and held open for the whole call.
struct StoreDirectory {
    UniqueFd fd;
    struct stat st {};
    fs::path path;
};

Expected<StoreDirectory, TrustedFileError> open_directory(const fs::path& directory, Role role) {
    auto opened = open_trusted_directory(directory, last_owner(role));
    if (!opened) return unexpected(std::move(opened.error()));
    return StoreDirectory{std::move(opened->fd), opened->st, directory};
}

std::string directory_message(const fs::path& directory, const TrustedFileError& error) {
    if (error.not_found()) return "replay store directory: " + error.message;
    return "replay store directory " + directory.string() + " is not trusted: " + error.message;
}

// A file of the store, opened in its directory: a regular file, not a link, owned as the role
// requires and not writable by group or others.
Expected<void, std::string> check_store_file(int fd, const fs::path& shown, Role role) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return unexpected(errno_message("cannot stat", shown, errno));
    if (!S_ISREG(st.st_mode)) return unexpected(shown.string() + " is not a regular file");
    return check_ownership(st, shown, "file", last_owner(role));
}

// Opens and locks the lock file. The wait is bounded: a stopped or hung holder must not stall an
// emergency action forever, and a time-out is reported like any other store failure.
Expected<UniqueFd, std::string> lock(const StoreDirectory& directory, const std::string& name,
                                     Role role) {
    const fs::path shown = directory.path / name;
    UniqueFd fd;
    if (role == Role::writer) {
        fd = UniqueFd(::openat(directory.fd.get(), name.c_str(),
                               O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, store_mode));
        if (fd.valid()) {
            // The directory's group, so that the agent can take the shared lock; the umask could
            // have taken the group's read bit.
            if (::fchown(fd.get(), static_cast<uid_t>(-1), directory.st.st_gid) != 0) {
                return unexpected(errno_message("cannot set the group of", shown, errno));
            }
            if (::fchmod(fd.get(), store_mode) != 0) {
                return unexpected(errno_message("cannot set the mode of", shown, errno));
            }
        } else if (errno == EEXIST) {
            fd = UniqueFd(::openat(directory.fd.get(), name.c_str(),
                                   O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
        }
    } else {
        fd = UniqueFd(::openat(directory.fd.get(), name.c_str(),
                               O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
        // No lock file means no writer has ever run; the data file is only ever replaced by
        // rename, so reading it without the lock still sees a whole version.
        if (!fd.valid() && errno == ENOENT) return UniqueFd();
    }
    if (!fd.valid()) return unexpected(errno_message("cannot open", shown, errno));
    if (auto checked = check_store_file(fd.get(), shown, role); !checked) {
        return unexpected(std::move(checked.error()));
    }
    if (auto locked = lock_with_timeout(fd.get(), role == Role::writer, shown, lock_timeout);
        !locked) {
        return unexpected(std::move(locked.error()));
    }
    return fd;
}

// A corrupt file is an error, never an empty store: reading it as empty would make every token
// recorded in it replayable, and whoever could damage the file would get exactly that. The
// writer only ever renames whole files into place, each starting with the format line, so an
// empty or otherwise corrupt file means tampering or a disk fault, both of which want an operator.
Expected<std::vector<Entry>, std::string> parse_entries(std::string_view data, const fs::path& file,
                                                        const ReplayStoreLimits& limits) {
    auto corrupt = [&file](std::string_view why) {
        return unexpected(file.string() + " is corrupt (" + std::string(why) +
                          "); refusing tokens until it is inspected and removed");
    };
    if (data.empty()) return corrupt("empty file");
    if (data.substr(0, format_line.size()) != format_line) return corrupt("unknown format line");
    data.remove_prefix(format_line.size());
    std::vector<Entry> entries;
    while (!data.empty()) {
        if (entries.size() == limits.max_entries) {
            return corrupt("more than " + std::to_string(limits.max_entries) + " entries");
        }
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

Expected<std::vector<Entry>, std::string> load(const StoreDirectory& directory,
                                               const std::string& name, Role role,
                                               const ReplayStoreLimits& limits) {
    const fs::path shown = directory.path / name;
    UniqueFd fd(::openat(directory.fd.get(), name.c_str(),
                         O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
    if (!fd.valid()) {
        if (errno == ENOENT) return std::vector<Entry>();  // no file yet
        return unexpected(errno_message("cannot open", shown, errno));
    }
    if (auto checked = check_store_file(fd.get(), shown, role); !checked) {
        return unexpected(std::move(checked.error()));
    }
    auto data = read_capped(fd.get(), shown, limits.max_bytes);
    if (!data) return unexpected(std::move(data.error().message));
    return parse_entries(*data, shown, limits);
}

std::string serialize(const std::vector<Entry>& entries) {
    std::string data(format_line);
    for (const Entry& entry : entries) {
        data += std::to_string(entry.keep_until);
        data += ' ';
        data += entry.jti_hex;
        data += '\n';
    }
    return data;
}

// An entry is kept while now <= keep_until; after that the token it stands for is expired and
// could not pass verify_token again, so the entry has nothing left to block.
bool is_live(const Entry& entry, std::int64_t now) {
    return entry.keep_until >= now;
}

}  // namespace

ReplayStore::ReplayStore(std::filesystem::path file, ReplayStoreLimits limits)
    : file_(std::move(file)),
      directory_(file_.parent_path().empty() ? fs::path(".") : file_.parent_path()),
      name_(file_.filename().string()),
      lock_name_(name_ + ".lock"),
      limits_(limits) {}

Expected<bool, std::string> ReplayStore::seen(std::string_view jti, std::int64_t now_unix) const {
    auto directory = open_directory(directory_, Role::reader);
    if (!directory) {
        // Nothing can have been recorded in a directory that does not exist.
        if (directory.error().not_found()) return false;
        return unexpected(directory_message(directory_, directory.error()));
    }
    auto held = lock(*directory, lock_name_, Role::reader);
    if (!held) return unexpected(std::move(held.error()));
    auto entries = load(*directory, name_, Role::reader, limits_);
    if (!entries) return unexpected(std::move(entries.error()));
    const std::string wanted = to_hex(jti);
    for (const Entry& entry : *entries) {
        if (entry.jti_hex == wanted && is_live(entry, now_unix)) return true;
    }
    return false;
}

Expected<void, Rejection> ReplayStore::consume(std::string_view jti, std::int64_t keep_until_unix,
                                               std::int64_t now_unix) {
    auto store_error = [](std::string detail) {
        return unexpected(Rejection{Refusal::replay_store_error, std::move(detail)});
    };
    if (jti.empty() || jti.size() > max_jti_bytes) {
        return store_error("jti must be 1 to " + std::to_string(max_jti_bytes) + " bytes");
    }
    if (keep_until_unix < 0) return store_error("negative keep-until time");
    if (name_.empty() || name_ == "." || name_ == "..") {
        return store_error("replay store file " + file_.string() + " names no file");
    }

    auto directory = open_directory(directory_, Role::writer);
    if (!directory) return store_error(directory_message(directory_, directory.error()));
    auto held = lock(*directory, lock_name_, Role::writer);
    if (!held) return store_error(std::move(held.error()));
    auto loaded = load(*directory, name_, Role::writer, limits_);
    if (!loaded) return store_error(std::move(loaded.error()));

    // Expired entries go on every write, so a full store frees itself as its tokens expire.
    const std::string wanted = to_hex(jti);
    std::vector<Entry> kept;
    kept.reserve(loaded->size() + 1);
    for (Entry& entry : *loaded) {
        if (!is_live(entry, now_unix)) continue;
        if (entry.jti_hex == wanted) {
            return unexpected(Rejection{Refusal::replayed, "jti was consumed before (kept until " +
                                                               std::to_string(entry.keep_until) +
                                                               ")"});
        }
        kept.push_back(std::move(entry));
    }
    auto full = [this, &kept](std::string limit) {
        return unexpected(Rejection{Refusal::replay_store_full,
                                    "the replay store " + file_.string() + " holds " +
                                        std::to_string(kept.size()) + " live entries (" + limit +
                                        "); no new token is accepted until some expire"});
    };
    if (kept.size() >= limits_.max_entries) {
        return full("at most " + std::to_string(limits_.max_entries) + " entries");
    }
    kept.push_back(Entry{keep_until_unix, wanted});
    const std::string data = serialize(kept);
    if (data.size() > limits_.max_bytes) {
        kept.pop_back();
        return full("at most " + std::to_string(limits_.max_bytes) + " bytes");
    }
    // Write a temporary file, fsync it, rename it over the store and fsync the directory, all
    // through the directory's descriptor: after a crash the store is either the old or the new
    // version, and a completed consume survives.
    if (auto written = write_file_atomically_at(directory->fd.get(), directory_, name_, data,
                                                store_mode, directory->st.st_gid);
        !written) {
        return store_error(std::move(written.error()));
    }
    return {};
}

}  // namespace monsys::eat
