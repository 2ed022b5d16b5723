#include "agent/hub/outbox.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <system_error>

#include <sys/statvfs.h>

#include "common/json/capped_json.hpp"
#include "common/util/durable_file.hpp"

namespace monsys::agent::hub {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr std::size_t seq_digits = 20;
// An extended inventory of a busy host is a few MiB; anything this large is not ours.
constexpr std::size_t max_message_bytes = 64u << 20;
constexpr int max_message_depth = 64;
constexpr const char* corrupt_directory = "corrupt";

constexpr MessageKind all_kinds[] = {MessageKind::inventory, MessageKind::state,
                                     MessageKind::action_result};

// <20-digit seq>.<kind>.json: sorting the names sorts by seq, and the kind is visible to an
// operator listing the directory.
std::string file_name(std::uint64_t seq, MessageKind kind) {
    char digits[seq_digits + 1];
    std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(seq));
    return std::string(digits) + "." + to_string(kind) + ".json";
}

}  // namespace

std::optional<OutboxFileName> parse_outbox_file_name(std::string_view name) {
    if (name.size() < seq_digits + 1 || name[seq_digits] != '.') return std::nullopt;
    OutboxFileName parsed;
    for (std::size_t i = 0; i < seq_digits; ++i) {
        if (name[i] < '0' || name[i] > '9') return std::nullopt;
    }
    auto [end, ec] = std::from_chars(name.data(), name.data() + seq_digits, parsed.seq);
    if (ec != std::errc() || end != name.data() + seq_digits || parsed.seq == 0) {
        return std::nullopt;
    }
    for (MessageKind kind : all_kinds) {
        if (name.substr(seq_digits + 1) == std::string(to_string(kind)) + ".json") {
            parsed.kind = kind;
            return parsed;
        }
    }
    return std::nullopt;
}

namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// A stored message is what add() wrote: an object of its kind, with the seq of its name.
Expected<PendingMessage, std::string> load_message(const fs::path& file,
                                                   const OutboxFileName& name) {
    auto text = read_regular_file(file, max_message_bytes);
    if (!text) return unexpected(std::move(text.error()));
    if (!text->has_value()) return unexpected(std::string("vanished while loading"));
    json::Limits limits;
    limits.max_bytes = max_message_bytes;
    limits.max_depth = max_message_depth;
    auto parsed = json::parse(**text, limits);
    if (!parsed) return unexpected("not valid JSON: " + parsed.error().message);
    const Json& message = *parsed;
    if (!message.is_object()) return unexpected(std::string("not a JSON object"));
    auto type = message.find("type");
    if (type == message.end() || !type->is_string() ||
        type->get_ref<const std::string&>() != to_string(name.kind)) {
        return unexpected(std::string("type does not match the file name"));
    }
    auto seq = message.find("seq");
    if (seq == message.end() || !seq->is_number_unsigned() ||
        seq->get<std::uint64_t>() != name.seq) {
        return unexpected(std::string("seq does not match the file name"));
    }
    PendingMessage pending{name.seq, name.kind, {}, std::move(**text), true};
    std::error_code ignored;
    const auto modified = fs::last_write_time(file, ignored);
    if (!ignored) pending.stored_at = std::chrono::file_clock::to_sys(modified);
    pending.unverified = is_unverified_refusal(message);
    if (name.kind == MessageKind::action_result) {
        auto jti = message.find("jti");
        if (jti == message.end() || !jti->is_string() ||
            jti->get_ref<const std::string&>().empty()) {
            return unexpected(std::string("action_result without a jti"));
        }
        pending.jti = jti->get_ref<const std::string&>();
    }
    return pending;
}

// Where the value of top-level member `name` starts in `text` (a dumped object), or npos. Strings
// are skipped, so the same characters inside a value or deeper in the object never match.
std::size_t top_level_value(std::string_view text, std::string_view name) {
    const std::string key = Json(std::string(name)).dump() + ":";
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '{' || c == '[')
            ++depth;
        else if (c == '}' || c == ']')
            --depth;
        else if (c == '"') {
            if (depth == 1 && text.compare(i, key.size(), key) == 0) return i + key.size();
            in_string = true;
        }
    }
    return std::string_view::npos;
}

}  // namespace

bool replaces_older(MessageKind kind) {
    return kind != MessageKind::action_result;
}

const char* to_string(MessageKind kind) {
    switch (kind) {
        case MessageKind::inventory:
            return "inventory";
        case MessageKind::state:
            return "state";
        case MessageKind::action_result:
            return "action_result";
    }
    return "unknown";
}

Expected<Outbox, std::string> Outbox::open(std::filesystem::path directory, SequenceCounter counter,
                                           LinkLimits limits) {
    if (auto made = ensure_directory(directory); !made) return unexpected(std::move(made.error()));
    Outbox outbox(std::move(directory), std::move(counter), limits);
    const fs::path& dir = outbox.directory_;

    // Names first, then the files: moving files aside while iterating would leave it unspecified
    // which entries the iteration sees.
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        names.push_back(it->path().filename().string());
    }
    if (ec) return unexpected("cannot list " + dir.string() + ": " + ec.message());
    std::sort(names.begin(), names.end());

    auto set_aside = [&outbox, &dir](const std::string& name, const std::string& why) {
        const fs::path file = dir / name;
        auto moved = move_into_directory(file, dir / corrupt_directory);
        if (moved) {
            outbox.problems_.push_back(file.string() + ": " + why + "; moved to " +
                                       moved->string());
        } else {
            outbox.problems_.push_back(file.string() + ": " + why +
                                       "; could not move it aside: " + moved.error());
        }
    };

    std::vector<PendingMessage> loaded;
    for (const std::string& name : names) {
        if (name == corrupt_directory) continue;
        if (ends_with(name, ".tmp")) {
            // A writer that died before its rename; the message it held was never sent.
            if (auto removed = remove_file_durably(dir / name); !removed) {
                outbox.problems_.push_back(std::move(removed.error()));
            }
            continue;
        }
        auto parsed_name = parse_outbox_file_name(name);
        if (!parsed_name) {
            set_aside(name, "not an outbox file name");
            continue;
        }
        auto message = load_message(dir / name, *parsed_name);
        if (!message) {
            set_aside(name, message.error());
            continue;
        }
        if (!loaded.empty() && loaded.back().seq == message->seq) {
            set_aside(name, "seq " + std::to_string(message->seq) + " is taken by " +
                                file_name(loaded.back().seq, loaded.back().kind));
            continue;
        }
        loaded.push_back(std::move(*message));
    }

    // The names sort by seq. A crash between storing a new inventory (or state) and removing the
    // one it replaced leaves both: only the newest is kept.
    std::map<MessageKind, std::uint64_t> newest;
    for (const PendingMessage& message : loaded) newest[message.kind] = message.seq;
    for (PendingMessage& message : loaded) {
        if (replaces_older(message.kind) && message.seq != newest[message.kind]) {
            auto removed = remove_file_durably(dir / file_name(message.seq, message.kind));
            if (!removed) outbox.problems_.push_back(std::move(removed.error()));
            continue;
        }
        outbox.files_->found(message);
        outbox.pending_.push_back(std::move(message));
    }
    // Limits lowered since these were stored: keep within them now.
    for (const PendingMessage& dropped : outbox.evict_over_limits()) {
        std::string line = file_name(dropped.seq, dropped.kind) +
                           ": dropped, over the outbox's bound for action results";
        if (auto discarded = outbox.files_->discard(dropped.seq, dropped.kind); !discarded) {
            line += "; " + discarded.error();
        }
        outbox.problems_.push_back(std::move(line));
    }

    if (!outbox.pending_.empty()) {
        auto moved = outbox.counter().ensure_above(outbox.pending_.back().seq);
        if (!moved) return unexpected(std::move(moved.error()));
    }
    outbox.last_acked_ = outbox.counter().last_acked();
    return outbox;
}

Expected<PendingMessage, std::string> OutboxFiles::stamp(MessageKind kind, nlohmann::json message,
                                                         std::optional<PreSerialized> member) {
    if (!message.is_object()) return unexpected(std::string("outbox: message is not an object"));
    if (member) message[member->name] = nullptr;  // its place; the text goes there below
    auto allocated = counter_.allocate();
    if (!allocated) return unexpected(std::move(allocated.error()));

    PendingMessage pending;
    pending.seq = *allocated;
    pending.kind = kind;
    pending.persisted = false;
    pending.stored_at = std::chrono::system_clock::now();
    message["seq"] = *allocated;
    if (kind == MessageKind::action_result) {
        auto jti = message.find("jti");
        if (jti != message.end() && jti->is_string()) {
            pending.jti = jti->get_ref<const std::string&>();
        }
    }
    pending.unverified = kind == MessageKind::action_result && is_unverified_refusal(message);
    pending.text = message.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (member) {
        const std::size_t value = top_level_value(pending.text, member->name);
        if (value == std::string::npos) return unexpected("outbox: no member " + member->name);
        pending.text.replace(value, 4, member->text);  // the "null" put there above
    }
    return pending;
}

std::optional<std::uint64_t> OutboxFiles::free_bytes() const {
    if (free_bytes_) return free_bytes_();
    struct statvfs info {};
    if (::statvfs(directory_.c_str(), &info) != 0) return std::nullopt;
    return static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
}

Expected<void, std::string> OutboxFiles::write(const PendingMessage& message) {
    if (before_write_) before_write_(message.seq);
    if (message.kind == MessageKind::action_result) return write_result(message);
    const auto free = free_bytes();
    if (free && *free < limits_.disk_reserve_bytes + message.text.size()) {
        return unexpected("not stored: " + std::to_string(*free) +
                          " bytes free on the file system of " + directory_.string() +
                          ", below the " + std::to_string(limits_.disk_reserve_bytes) +
                          " bytes kept for action results");
    }
    auto written =
        write_file_atomically(directory_ / file_name(message.seq, message.kind), message.text);
    if (!written) return written;
    auto older = newest_stored_.find(message.kind);
    Expected<void, std::string> removed = ok();
    if (older != newest_stored_.end() && older->second != message.seq) {
        removed = remove_file_durably(directory_ / file_name(older->second, message.kind));
    }
    newest_stored_[message.kind] = message.seq;
    return removed;
}

// Results before states: when the disk refuses a result, the stored inventory and state give way
// (they stay pending in memory, and a newer one is made anyway after a restart).
Expected<void, std::string> OutboxFiles::write_result(const PendingMessage& message) {
    const fs::path file = directory_ / file_name(message.seq, message.kind);
    auto written = write_file_atomically(file, message.text);
    if (written || newest_stored_.empty()) return written;
    std::string freed;
    for (const auto& [kind, seq] : newest_stored_) {
        if (!remove_file_durably(directory_ / file_name(seq, kind))) continue;
        freed += (freed.empty() ? "" : ", ") + file_name(seq, kind);
    }
    newest_stored_.clear();
    if (freed.empty()) return written;
    auto retried = write_file_atomically(file, message.text);
    if (retried) return ok();
    return unexpected(written.error() + " (again after removing " + freed +
                      " to make room: " + retried.error() + ")");
}

Expected<void, std::string> OutboxFiles::discard(std::uint64_t seq, MessageKind kind) {
    auto newest = newest_stored_.find(kind);
    if (newest != newest_stored_.end() && newest->second == seq) newest_stored_.erase(newest);
    return remove_file_durably(directory_ / file_name(seq, kind));
}

Expected<void, std::string> OutboxFiles::acknowledge(std::uint64_t seq, MessageKind kind) {
    // Should the removal fail, the message is sent again after a restart and the hub acks it as
    // a duplicate: harmless.
    auto removed = remove_file_durably(directory_ / file_name(seq, kind));
    auto newest = newest_stored_.find(kind);
    if (newest != newest_stored_.end() && newest->second == seq) newest_stored_.erase(newest);
    auto recorded = counter_.record_ack(seq);
    if (!removed) return removed;
    if (!recorded) return unexpected(std::move(recorded.error()));
    return ok();
}

void OutboxFiles::found(const PendingMessage& message) {
    if (replaces_older(message.kind)) newest_stored_[message.kind] = message.seq;
}

Expected<PendingMessage, std::string> Outbox::add(MessageKind kind, nlohmann::json message) {
    auto stamped = files_->stamp(kind, std::move(message));
    if (!stamped) return stamped;
    if (auto written = files_->write(*stamped); !written) {
        // Sending it beats losing it: it stays in memory and goes out on this connection.
        last_error_ = std::move(written.error());
    } else {
        stamped->persisted = true;
    }
    for (const PendingMessage& dropped : insert(*stamped)) {
        auto discarded = files_->discard(dropped.seq, dropped.kind);
        if (!discarded) last_error_ = std::move(discarded.error());
    }
    return stamped;
}

std::optional<PendingMessage> Outbox::acknowledge(std::uint64_t seq) {
    auto acked = take_acked(seq);
    if (!acked) return std::nullopt;
    auto removed = files_->acknowledge(seq, acked->kind);
    if (!removed) last_error_ = std::move(removed.error());
    return acked;
}

std::vector<PendingMessage> Outbox::insert(PendingMessage message) {
    const bool result = message.kind == MessageKind::action_result;
    if (replaces_older(message.kind)) {
        std::erase_if(pending_, [&message](const PendingMessage& other) {
            return other.kind == message.kind;
        });
    }
    auto position = std::upper_bound(
        pending_.begin(), pending_.end(), message.seq,
        [](std::uint64_t seq, const PendingMessage& other) { return seq < other.seq; });
    pending_.insert(position, std::move(message));
    if (!result) return {};
    return evict_over_limits();
}

std::vector<PendingMessage> Outbox::evict_over_limits() {
    std::vector<ResultEntry> results;
    for (const PendingMessage& message : pending_) {
        if (message.kind != MessageKind::action_result) continue;
        results.push_back({message.seq, message.text.size(), message.unverified});
    }
    const auto chosen = results_to_evict(results, limits_);
    std::vector<PendingMessage> evicted;
    if (chosen.empty()) return evicted;
    std::erase_if(pending_, [&chosen, &evicted](PendingMessage& message) {
        if (message.kind != MessageKind::action_result ||
            std::find(chosen.begin(), chosen.end(), message.seq) == chosen.end()) {
            return false;
        }
        evicted.push_back(std::move(message));
        return true;
    });
    return evicted;
}

std::size_t Outbox::result_count() const {
    return static_cast<std::size_t>(std::count_if(
        pending_.begin(), pending_.end(),
        [](const PendingMessage& message) { return message.kind == MessageKind::action_result; }));
}

std::size_t Outbox::result_bytes() const {
    std::size_t bytes = 0;
    for (const PendingMessage& message : pending_) {
        if (message.kind == MessageKind::action_result) bytes += message.text.size();
    }
    return bytes;
}

std::optional<PendingMessage> Outbox::take_acked(std::uint64_t seq) {
    auto it = std::find_if(pending_.begin(), pending_.end(),
                           [seq](const PendingMessage& message) { return message.seq == seq; });
    if (it == pending_.end()) return std::nullopt;
    PendingMessage acked = std::move(*it);
    pending_.erase(it);
    last_acked_ = std::max(last_acked_, seq);
    return acked;
}

void Outbox::mark_persisted(std::uint64_t seq) {
    for (PendingMessage& message : pending_) {
        if (message.seq == seq) message.persisted = true;
    }
}

bool Outbox::has_action_result(std::string_view jti) const {
    return std::any_of(pending_.begin(), pending_.end(), [jti](const PendingMessage& message) {
        return message.kind == MessageKind::action_result && message.jti == jti;
    });
}

}  // namespace monsys::agent::hub
