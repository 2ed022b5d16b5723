#include "agent/actions/result_ledger.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <nlohmann/json.hpp>

#include "agent/actions/jti_file_name.hpp"
#include "common/json/capped_json.hpp"
#include "common/util/durable_file.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::agent::actions {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// An entry file is a one-line JSON header, a newline, then the frame's bytes unchanged: no
// escaping, so what is re-sent is exactly what was sent.
constexpr std::size_t max_header_bytes = 1024;  // a jti is at most 128 bytes
constexpr const char* entry_suffix = ".entry";
constexpr const char* corrupt_directory = "corrupt";

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

struct Header {
    std::string jti;
    std::int64_t exp = 0;
    std::uint64_t seq = 0;
};

Expected<Header, std::string> parse_header(std::string_view line) {
    auto parsed = json::parse(line, json::Limits{max_header_bytes, 2, true, false});
    if (!parsed) return unexpected("header is not valid JSON: " + parsed.error().message);
    if (!parsed->is_object()) return unexpected(std::string("header is not a JSON object"));
    Header header;
    auto jti = parsed->find("jti");
    if (jti == parsed->end() || !jti->is_string() || jti->get_ref<const std::string&>().empty()) {
        return unexpected(std::string("jti is missing, empty or not a string"));
    }
    header.jti = jti->get<std::string>();
    auto exp = parsed->find("exp");
    if (exp == parsed->end() || !exp->is_number_integer()) {
        return unexpected(std::string("exp is missing or not an integer"));
    }
    header.exp = exp->get<std::int64_t>();
    auto seq = parsed->find("seq");
    if (seq == parsed->end() || !seq->is_number_unsigned()) {
        return unexpected(std::string("seq is missing or not a non-negative integer"));
    }
    header.seq = seq->get<std::uint64_t>();
    return header;
}

struct HeaderLine {
    std::string text;
    std::uint64_t file_bytes = 0;
};

// The header line of an entry file, read without the frame behind it (prune reads every file),
// and the file's size.
Expected<HeaderLine, std::string> read_header_line(const fs::path& file) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return unexpected(errno_message("cannot open", file, errno));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return unexpected(errno_message("cannot stat", file, errno));
    if (!S_ISREG(info.st_mode)) return unexpected(file.string() + ": not a regular file");
    std::string head(max_header_bytes + 1, '\0');
    std::size_t got = 0;
    while (got < head.size()) {
        ssize_t n = ::read(fd.get(), head.data() + got, head.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return unexpected(errno_message("cannot read", file, errno));
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    head.resize(got);
    const auto newline = head.find('\n');
    if (newline == std::string::npos) {
        return unexpected(file.string() + ": no header line within " +
                          std::to_string(max_header_bytes) + " bytes");
    }
    head.resize(newline);
    return HeaderLine{std::move(head), static_cast<std::uint64_t>(info.st_size)};
}

}  // namespace

ResultLedger::ResultLedger(std::filesystem::path directory, LedgerLimits limits)
    : directory_(std::move(directory)), limits_(limits) {
    limits_.max_entries = std::max<std::size_t>(1, limits_.max_entries);
}

std::filesystem::path ResultLedger::file_for(const std::string& jti) const {
    return directory_ / (jti_hash_hex(jti) + entry_suffix);
}

Expected<void, std::string> ResultLedger::store(const LedgerEntry& entry, std::int64_t now_unix) {
    if (entry.jti.empty()) return unexpected(std::string("cannot store a result without a jti"));
    if (auto made = ensure_directory(directory_); !made) return made;
    const fs::path file = file_for(entry.jti);
    const Json header = {{"jti", entry.jti}, {"exp", entry.exp}, {"seq", entry.seq}};
    const std::string header_text = header.dump(-1, ' ', false, Json::error_handler_t::replace);
    // A jti that is not UTF-8 would not read back as itself (tokens that verify always are).
    auto back = parse_header(header_text);
    if (!back || back->jti != entry.jti) {
        return unexpected("cannot store the result of " + file.string() +
                          ": its jti is not valid UTF-8");
    }
    const std::uint64_t size = header_text.size() + 1 + entry.frame.size();
    if (size > max_ledger_entry_bytes || size > limits_.max_bytes) {
        return unexpected("cannot store the result in " + file.string() + ": its frame (" +
                          std::to_string(entry.frame.size()) + " bytes) is over the ledger's cap");
    }

    std::error_code ec;
    const auto replaced_size = fs::file_size(file, ec);
    const bool replaces = !ec;
    const std::uint64_t freed = replaces ? replaced_size : 0;
    const bool full = count_ && ((*count_ >= limits_.max_entries && !replaces) ||
                                 bytes_ - std::min(bytes_, freed) + size > limits_.max_bytes);
    if (!count_ || full || now_unix - last_prune_ >= limits_.prune_interval_secs) {
        (void)prune(now_unix, size);  // its problems are the next prune's too; the store goes on
    }
    // Whether the file is there now: the prune may have evicted the one this replaces.
    const auto existing_size = fs::file_size(file, ec);
    const bool existing = !ec;
    std::string data;
    data.reserve(header_text.size() + 1 + entry.frame.size());
    data += header_text;
    data += '\n';
    data += entry.frame;
    if (auto written = write_file_atomically(file, data); !written) return written;
    if (count_) {
        if (existing) {
            bytes_ -= std::min(bytes_, static_cast<std::uint64_t>(existing_size));
        } else {
            ++*count_;
        }
        bytes_ += size;
    }
    return {};
}

Expected<std::optional<LedgerEntry>, std::string> ResultLedger::find(const std::string& jti) const {
    const fs::path file = file_for(jti);
    auto text = read_regular_file(file, max_ledger_entry_bytes);
    if (!text) return unexpected(std::move(text.error()));
    if (!text->has_value()) return std::optional<LedgerEntry>();
    const std::string& data = **text;
    const auto newline = data.find('\n');
    if (newline == std::string::npos || newline > max_header_bytes) {
        return unexpected(file.string() + ": no header line");
    }
    auto header = parse_header(std::string_view(data).substr(0, newline));
    if (!header) return unexpected(file.string() + ": " + header.error());
    if (header->jti != jti) return unexpected(file.string() + ": the entry is for another jti");
    if (newline + 1 == data.size()) return unexpected(file.string() + ": the frame is empty");
    return std::optional<LedgerEntry>(
        LedgerEntry{header->jti, header->exp, header->seq, data.substr(newline + 1)});
}

ResultLedger::Pruned ResultLedger::prune(std::int64_t now_unix, std::uint64_t incoming_bytes) {
    Pruned pruned;
    last_prune_ = now_unix;
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
        names.push_back(it->path().filename().string());
    }
    if (ec) {
        if (ec != std::errc::no_such_file_or_directory) {
            pruned.problems.push_back("cannot list " + directory_.string() + ": " + ec.message());
            return pruned;  // the count stays unknown: the next store tries again
        }
        count_ = 0;
        bytes_ = 0;
        return pruned;
    }

    struct Live {
        std::int64_t exp;
        fs::path file;
        std::uint64_t bytes;
    };
    std::vector<Live> live;
    auto remove = [&pruned](const fs::path& file) {
        if (auto removed = remove_file_durably(file); !removed) {
            pruned.problems.push_back(std::move(removed.error()));
            return false;
        }
        return true;
    };
    for (const std::string& name : names) {
        if (name == corrupt_directory) continue;
        const fs::path file = directory_ / name;
        if (ends_with(name, ".tmp")) {  // a write that never finished
            remove(file);
            continue;
        }
        std::string why;
        if (ends_with(name, entry_suffix)) {
            auto line = read_header_line(file);
            auto header = line ? parse_header(line->text)
                               : Expected<Header, std::string>(unexpected(std::move(line.error())));
            if (header && name == jti_hash_hex(header->jti) + entry_suffix) {
                if (header->exp + limits_.keep_after_exp_secs <= now_unix) {
                    if (remove(file)) ++pruned.expired;
                } else {
                    live.push_back({header->exp, file, line->file_bytes});
                }
                continue;
            }
            why = header ? "file name does not match the jti" : header.error();
        } else {
            why = "not a ledger file name";
        }
        auto moved = move_into_directory(file, directory_ / corrupt_directory);
        pruned.problems.push_back(file.string() + ": " + why +
                                  (moved ? "; moved to " + moved->string()
                                         : "; could not move it aside: " + moved.error()));
    }

    // Over a cap (room is kept for the entry being stored): the tokens that expire first go.
    std::uint64_t live_bytes = 0;
    for (const Live& entry : live) live_bytes += entry.bytes;
    const std::uint64_t byte_room = limits_.max_bytes - std::min(limits_.max_bytes, incoming_bytes);
    if (live.size() >= limits_.max_entries || live_bytes > byte_room) {
        std::sort(live.begin(), live.end(),
                  [](const Live& a, const Live& b) { return a.exp < b.exp; });
        std::size_t dropped = 0;
        while (dropped < live.size() &&
               (live.size() - dropped >= limits_.max_entries || live_bytes > byte_room)) {
            // One that cannot be removed counts as gone here all the same: the next prune retries.
            if (remove(live[dropped].file)) ++pruned.evicted;
            live_bytes -= live[dropped].bytes;
            ++dropped;
        }
        live.erase(live.begin(), live.begin() + static_cast<std::ptrdiff_t>(dropped));
        pruned.problems.push_back(
            std::to_string(pruned.evicted) + " result(s) evicted before their token's exp: " +
            "the ledger holds at most " + std::to_string(limits_.max_entries) + " entries and " +
            std::to_string(limits_.max_bytes) + " bytes");
    }
    pruned.kept = live.size();
    pruned.kept_bytes = live_bytes;
    count_ = live.size();
    bytes_ = live_bytes;
    return pruned;
}

}  // namespace monsys::agent::actions
