#include "agent/actions/inflight_journal.hpp"

#include <algorithm>
#include <system_error>

#include "agent/actions/jti_file_name.hpp"
#include "common/action/action_result.hpp"
#include "common/json/capped_json.hpp"
#include "common/util/durable_file.hpp"
#include "common/util/time_format.hpp"

namespace monsys::agent::actions {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr std::size_t max_record_bytes = 64u << 10;
constexpr const char* record_suffix = ".json";
constexpr const char* corrupt_directory = "corrupt";

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

Expected<InflightAction, std::string> parse_record(const fs::path& file) {
    auto text = read_regular_file(file, max_record_bytes);
    if (!text) return unexpected(std::move(text.error()));
    if (!text->has_value()) return unexpected(std::string("vanished while loading"));
    auto parsed = json::parse(**text, json::Limits{max_record_bytes, 4, true, false});
    if (!parsed) return unexpected("not valid JSON: " + parsed.error().message);
    if (!parsed->is_object()) return unexpected(std::string("not a JSON object"));
    InflightAction action;
    const std::pair<const char*, std::string*> fields[] = {
        {"jti", &action.jti},
        {"app_id", &action.app_id},
        {"type", &action.type},
        {"identifier", &action.identifier},
        {"started_at", &action.started_at},
    };
    for (const auto& [name, out] : fields) {
        auto it = parsed->find(name);
        if (it == parsed->end() || !it->is_string()) {
            return unexpected(std::string(name) + " is missing or not a string");
        }
        *out = it->get_ref<const std::string&>();
    }
    if (action.jti.empty()) return unexpected(std::string("jti is empty"));
    // Records written before the token's exp was kept have none; the ledger then keeps the
    // recovery result for the longest lifetime a token may have.
    if (auto exp = parsed->find("exp"); exp != parsed->end()) {
        if (!exp->is_number_integer()) return unexpected(std::string("exp is not an integer"));
        action.exp = exp->get<std::int64_t>();
    }
    return action;
}

}  // namespace

std::filesystem::path InflightJournal::file_for(const std::string& jti) const {
    return directory_ / (jti_hash_hex(jti) + record_suffix);
}

Expected<void, std::string> InflightJournal::record(const InflightAction& action) {
    if (auto made = ensure_directory(directory_); !made) return made;
    Json record = {
        {"jti", action.jti},
        {"app_id", action.app_id},
        {"type", action.type},
        {"identifier", action.identifier},
        {"started_at", action.started_at},
    };
    if (action.exp) record["exp"] = *action.exp;
    const std::string text = record.dump(-1, ' ', false, Json::error_handler_t::replace);
    // The file is found again by the hash of the jti as read back, so the jti must survive the
    // round trip; one that is not UTF-8 would not (tokens that pass verification always are).
    const Json stored = Json::parse(text, nullptr, false);
    if (stored.is_discarded() || stored.value("jti", std::string()) != action.jti) {
        return unexpected("cannot record action " + file_for(action.jti).string() +
                          ": its jti is not valid UTF-8");
    }
    return write_file_atomically(file_for(action.jti), text);
}

void InflightJournal::remove(const std::string& jti) {
    // Best effort: a record that stays behind is reported as interrupted after the next start,
    // and the hub already has the real result for that jti.
    (void)remove_file_durably(file_for(jti));
}

std::vector<InflightAction> InflightJournal::leftovers(std::vector<std::string>* problems) const {
    auto note = [problems](std::string line) {
        if (problems != nullptr) problems->push_back(std::move(line));
    };
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
        names.push_back(it->path().filename().string());
    }
    if (ec) {
        if (ec != std::errc::no_such_file_or_directory) {
            note("cannot list " + directory_.string() + ": " + ec.message());
        }
        return {};
    }

    std::vector<InflightAction> actions;
    for (const std::string& name : names) {
        if (name == corrupt_directory) continue;
        const fs::path file = directory_ / name;
        if (ends_with(name, ".tmp")) {
            // A record whose write never finished: the action was not handed over.
            if (auto removed = remove_file_durably(file); !removed) {
                note(std::move(removed.error()));
            }
            continue;
        }
        std::string why;
        if (ends_with(name, record_suffix)) {
            auto action = parse_record(file);
            if (action && file.filename() == file_for(action->jti).filename()) {
                actions.push_back(std::move(*action));
                continue;
            }
            why = action ? "file name does not match the jti" : action.error();
        } else {
            why = "not a journal file name";
        }
        auto moved = move_into_directory(file, directory_ / corrupt_directory);
        note(file.string() + ": " + why +
             (moved ? "; moved to " + moved->string()
                    : "; could not move it aside: " + moved.error()));
    }
    std::sort(actions.begin(), actions.end(), [](const InflightAction& a, const InflightAction& b) {
        return a.started_at != b.started_at ? a.started_at < b.started_at : a.jti < b.jti;
    });
    return actions;
}

nlohmann::json interrupted_result(const InflightAction& action, bool token_consumed,
                                  const std::string& now_utc) {
    const std::string message =
        std::string("the agent stopped while monsys-action ran; ") +
        (token_consumed
             ? "monsys-action had accepted the token; whether the restart completed is unknown"
             : "monsys-action had not accepted the token; nothing was restarted");
    results::ActionResult result;
    result.jti = action.jti;
    result.app_id = action.app_id;
    // A record without a type (or with one this agent does not know) names no app type.
    result.type = app::parse_app_type(action.type);
    result.identifier = action.identifier;
    result.status = results::ActionStatus::failed;
    result.reason = "agent_interrupted";
    result.message = message;
    // A start time that cannot be read is reported as unknown (null), and so is the duration.
    result.started_at = parse_utc_millis(action.started_at);
    result.finished_at = parse_utc_millis(now_utc).value_or(std::chrono::system_clock::now());
    return results::to_json(result);
}

}  // namespace monsys::agent::actions
