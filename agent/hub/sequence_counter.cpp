#include "agent/hub/sequence_counter.hpp"

#include <fcntl.h>
#include <stdlib.h>  // mkostemp
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <limits>
#include <optional>

#include "common/util/durable_file.hpp"
#include "common/util/file_lock.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::agent::hub {
namespace {

namespace fs = std::filesystem;

// "<next> <last_acked>\n", each a zero-padded 20-digit decimal (wide enough for any uint64), so
// every rewrite in place has the same length and a torn write cannot leave a shorter file behind.
constexpr std::size_t field_width = 20;
constexpr std::size_t record_bytes = 2 * field_width + 2;
constexpr std::uint64_t max_seq = std::numeric_limits<std::uint64_t>::max();

struct Record {
    std::uint64_t next = 1;
    std::uint64_t last_acked = 0;
};

std::string format_record(const Record& record) {
    char buffer[record_bytes + 1];
    std::snprintf(buffer, sizeof buffer, "%020llu %020llu\n",
                  static_cast<unsigned long long>(record.next),
                  static_cast<unsigned long long>(record.last_acked));
    return std::string(buffer, record_bytes);
}

std::optional<std::uint64_t> parse_field(std::string_view text) {
    if (text.size() != field_width) return std::nullopt;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
    }
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// Any deviation is an error, never a guess: starting again at 1 would reuse seqs the hub has
// stored, and it would take the new messages for duplicates.
Expected<Record, std::string> parse_record(std::string_view data, const fs::path& file) {
    auto corrupt = [&file](std::string_view why) {
        return unexpected(file.string() + " is corrupt (" + std::string(why) +
                          "); it must be inspected, and removed only if the hub's seqs for this "
                          "agent are reset too");
    };
    if (data.size() != record_bytes || data[field_width] != ' ' || data.back() != '\n') {
        return corrupt("not one line of two 20-digit numbers");
    }
    auto next = parse_field(data.substr(0, field_width));
    auto last_acked = parse_field(data.substr(field_width + 1, field_width));
    if (!next || !last_acked) return corrupt("not a number");
    if (*next == 0) return corrupt("next seq is 0");
    if (*last_acked >= *next) return corrupt("last acked seq is not below the next seq");
    return Record{*next, *last_acked};
}

// Creates the file with its first record, complete or not at all: written to a temporary file and
// linked into place, so a crash cannot leave an empty counter that looks fresh, and two processes
// creating it at once cannot both win.
Expected<void, std::string> create_if_missing(const fs::path& file) {
    struct stat st {};
    if (::lstat(file.c_str(), &st) == 0) return ok();
    if (errno != ENOENT) return unexpected(errno_message("cannot stat", file, errno));

    std::string temp = file.string() + ".new-XXXXXX";
    UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd.valid()) return unexpected(errno_message("cannot create", temp, errno));
    auto fail = [&temp](std::string message) -> Expected<void, std::string> {
        ::unlink(temp.c_str());
        return unexpected(std::move(message));
    };
    if (::fchmod(fd.get(), private_file_mode) != 0) {
        return fail(errno_message("cannot chmod", temp, errno));
    }
    if (auto written = write_all(fd.get(), format_record(Record{}), temp); !written) {
        return fail(std::move(written.error()));
    }
    if (::fsync(fd.get()) != 0) return fail(errno_message("cannot fsync", temp, errno));
    if (::close(fd.release()) != 0) return fail(errno_message("cannot close", temp, errno));
    if (::link(temp.c_str(), file.c_str()) != 0 && errno != EEXIST) {
        return fail(errno_message("cannot create", file, errno));
    }
    ::unlink(temp.c_str());
    fs::path directory = file.parent_path();
    return fsync_directory(directory.empty() ? fs::path(".") : directory);
}

// The counter file, open and exclusively locked until this object goes away. Every operation
// re-reads the record under the lock: another process may have allocated since.
class LockedCounter {
  public:
    static Expected<LockedCounter, std::string> open(const fs::path& file) {
        UniqueFd fd(::open(file.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY));
        if (!fd.valid()) return unexpected(errno_message("cannot open", file, errno));
        if (auto locked = lock_with_timeout(fd.get(), /*exclusive=*/true, file); !locked) {
            return unexpected(std::move(locked.error()));
        }
        return LockedCounter(std::move(fd), file);
    }

    Expected<Record, std::string> read() const {
        char buffer[record_bytes + 1];
        std::size_t done = 0;
        while (done < sizeof buffer) {
            ssize_t n =
                ::pread(fd_.get(), buffer + done, sizeof buffer - done, static_cast<off_t>(done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return unexpected(errno_message("cannot read", file_, errno));
            if (n == 0) break;
            done += static_cast<std::size_t>(n);
        }
        return parse_record(std::string_view(buffer, done), file_);
    }

    // In place and fsync'd before the caller uses anything it allocated.
    Expected<void, std::string> write(const Record& record) const {
        const std::string data = format_record(record);
        std::size_t done = 0;
        while (done < data.size()) {
            ssize_t n = ::pwrite(fd_.get(), data.data() + done, data.size() - done,
                                 static_cast<off_t>(done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return unexpected(errno_message("cannot write", file_, errno));
            done += static_cast<std::size_t>(n);
        }
        if (::fsync(fd_.get()) != 0) return unexpected(errno_message("cannot fsync", file_, errno));
        return ok();
    }

  private:
    LockedCounter(UniqueFd fd, fs::path file) : fd_(std::move(fd)), file_(std::move(file)) {}
    UniqueFd fd_;
    fs::path file_;
};

}  // namespace

Expected<std::optional<SequenceRecord>, std::string> read_sequence_file(const fs::path& file) {
    auto text = read_regular_file(file, record_bytes + 1);
    if (!text) return unexpected(std::move(text.error()));
    if (!text->has_value()) return std::optional<SequenceRecord>();
    auto record = parse_record(**text, file);
    if (!record) return unexpected(std::move(record.error()));
    return std::optional<SequenceRecord>(SequenceRecord{record->next, record->last_acked});
}

Expected<SequenceCounter, std::string> SequenceCounter::open(std::filesystem::path file) {
    if (auto created = create_if_missing(file); !created) {
        return unexpected(std::move(created.error()));
    }
    auto locked = LockedCounter::open(file);
    if (!locked) return unexpected(std::move(locked.error()));
    auto record = locked->read();
    if (!record) return unexpected(std::move(record.error()));
    SequenceCounter counter(std::move(file));
    counter.last_acked_ = record->last_acked;
    return counter;
}

Expected<std::uint64_t, std::string> SequenceCounter::allocate() {
    auto locked = LockedCounter::open(file_);
    if (!locked) return unexpected(std::move(locked.error()));
    auto record = locked->read();
    if (!record) return unexpected(std::move(record.error()));
    last_acked_ = record->last_acked;
    if (record->next == max_seq) {
        return unexpected(file_.string() + ": the seq range is exhausted");
    }
    const std::uint64_t seq = record->next;
    if (auto written = locked->write(Record{seq + 1, record->last_acked}); !written) {
        return unexpected(std::move(written.error()));
    }
    return seq;
}

Expected<bool, std::string> SequenceCounter::ensure_above(std::uint64_t seq) {
    auto locked = LockedCounter::open(file_);
    if (!locked) return unexpected(std::move(locked.error()));
    auto record = locked->read();
    if (!record) return unexpected(std::move(record.error()));
    last_acked_ = record->last_acked;
    if (record->next > seq) return false;
    if (seq == max_seq) return unexpected(file_.string() + ": the seq range is exhausted");
    if (auto written = locked->write(Record{seq + 1, record->last_acked}); !written) {
        return unexpected(std::move(written.error()));
    }
    return true;
}

Expected<bool, std::string> SequenceCounter::record_ack(std::uint64_t seq) {
    auto locked = LockedCounter::open(file_);
    if (!locked) return unexpected(std::move(locked.error()));
    auto record = locked->read();
    if (!record) return unexpected(std::move(record.error()));
    last_acked_ = record->last_acked;
    if (seq <= record->last_acked) return false;
    if (seq == max_seq) return unexpected(file_.string() + ": the seq range is exhausted");
    // An acked seq was handed out, so `next` is above it already; keeping that true regardless
    // means a confused hub cannot make this file unreadable.
    Record updated{std::max(record->next, seq + 1), seq};
    if (auto written = locked->write(updated); !written) {
        return unexpected(std::move(written.error()));
    }
    last_acked_ = seq;
    return true;
}

}  // namespace monsys::agent::hub
