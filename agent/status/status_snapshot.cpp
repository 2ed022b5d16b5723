#include "agent/status/status_snapshot.hpp"

#include <type_traits>

#include "common/json/capped_json.hpp"
#include "common/util/time_format.hpp"

namespace monsys::agent::status {
namespace {

using Json = nlohmann::json;

Json time_or_null(const std::optional<Time>& time) {
    return time ? Json(format_utc_millis(*time)) : Json(nullptr);
}

// Reads the members of one object; the first problem is kept and named, later reads are no-ops.
class Reader {
  public:
    Reader(const Json& object, std::string where, std::string* error)
        : object_(object), where_(std::move(where)), error_(error) {
        if (!object_.is_object()) fail("", "is not an object");
    }

    const Json* member(const char* name) {
        if (!error_->empty()) return nullptr;
        auto it = object_.find(name);
        if (it == object_.end()) {
            fail(name, "is missing");
            return nullptr;
        }
        return &*it;
    }

    void string(const char* name, std::string& out) {
        const Json* value = member(name);
        if (!value) return;
        if (!value->is_string()) return fail(name, "is not a string");
        out = value->get<std::string>();
    }

    void boolean(const char* name, bool& out) {
        const Json* value = member(name);
        if (!value) return;
        if (!value->is_boolean()) return fail(name, "is not true or false");
        out = value->get<bool>();
    }

    template <class Integer>
    void integer(const char* name, Integer& out) {
        const Json* value = member(name);
        if (!value) return;
        if (!value->is_number_integer()) return fail(name, "is not an integer");
        if constexpr (std::is_unsigned_v<Integer>) {
            if (!value->is_number_unsigned()) return fail(name, "is negative");
        }
        out = value->get<Integer>();
    }

    void time(const char* name, Time& out) {
        std::optional<Time> read;
        optional_time(name, read);
        if (!error_->empty()) return;
        if (!read) return fail(name, "is null");
        out = *read;
    }

    void optional_time(const char* name, std::optional<Time>& out) {
        const Json* value = member(name);
        if (!value) return;
        if (value->is_null()) {
            out.reset();
            return;
        }
        auto parsed = value->is_string() ? parse_utc_millis(value->get_ref<const std::string&>())
                                         : std::nullopt;
        if (!parsed) return fail(name, "is not a time (YYYY-MM-DDTHH:MM:SS.mmmZ)");
        out = *parsed;
    }

    void fail(std::string_view name, std::string_view why) {
        if (!error_->empty()) return;
        *error_ = "status snapshot: " + where_ + (name.empty() ? "" : "." + std::string(name)) +
                  " " + std::string(why);
    }

  private:
    const Json& object_;
    std::string where_;
    std::string* error_;
};

constexpr const char* outbox_kinds[] = {"inventory", "state", "action_result"};

}  // namespace

Json to_json(const Snapshot& snapshot) {
    Json outbox = Json::object();
    for (const char* kind : outbox_kinds) {
        auto it = snapshot.outbox.find(kind);
        const OutboxKindStatus status =
            it == snapshot.outbox.end() ? OutboxKindStatus{} : it->second;
        outbox[kind] = {{"count", status.count}, {"oldest_at", time_or_null(status.oldest_at)}};
    }
    Json apps = Json::array();
    for (const AppStatus& app : snapshot.apps) {
        apps.push_back({{"id", app.id},
                        {"type", app.type},
                        {"state", app.state},
                        {"detail", app.detail},
                        {"changed_at", format_utc_millis(app.changed_at)}});
    }
    Json actions = Json::array();
    for (const ActionStatus& action : snapshot.actions) {
        actions.push_back({{"jti", action.jti},
                           {"app_id", action.app_id},
                           {"status", action.status},
                           {"reported_by", action.reported_by},
                           {"at", format_utc_millis(action.at)}});
    }
    Json section_errors = Json::object();
    for (const auto& [section, error] : snapshot.inventory.section_errors) {
        section_errors[section] = error;
    }
    return Json{
        {"format", snapshot_format},
        {"pid", snapshot.process.pid},
        {"process_start_ticks", snapshot.process.start_ticks},
        {"version", snapshot.version},
        {"started_at", format_utc_millis(snapshot.started_at)},
        {"written_at", format_utc_millis(snapshot.written_at)},
        {"heartbeat_secs", snapshot.heartbeat_secs},
        {"hub",
         {{"url", snapshot.hub.url},
          {"connected", snapshot.hub.connected},
          {"since", format_utc_millis(snapshot.hub.since)},
          {"last_error", snapshot.hub.last_error}}},
        {"last_acked_seq", snapshot.last_acked_seq},
        {"outbox", std::move(outbox)},
        {"apps", std::move(apps)},
        {"actions", std::move(actions)},
        {"inventory",
         {{"last_sent_at", time_or_null(snapshot.inventory.last_sent_at)},
          {"section_errors", std::move(section_errors)}}},
    };
}

Expected<Snapshot, std::string> parse_snapshot(std::string_view text) {
    json::Limits limits;
    limits.max_bytes = max_snapshot_bytes;
    limits.max_depth = 6;
    auto parsed = json::parse(text, limits);
    if (!parsed) return unexpected("status snapshot: not valid JSON: " + parsed.error().message);
    const Json& root = *parsed;

    std::string error;
    Snapshot snapshot;
    Reader top(root, "snapshot", &error);
    int format = 0;
    top.integer("format", format);
    if (error.empty() && format != snapshot_format) {
        return unexpected("status snapshot: format " + std::to_string(format) +
                          " is not the one this monsys-agent reads (" +
                          std::to_string(snapshot_format) + ")");
    }
    top.integer("pid", snapshot.process.pid);
    top.integer("process_start_ticks", snapshot.process.start_ticks);
    top.string("version", snapshot.version);
    top.time("started_at", snapshot.started_at);
    top.time("written_at", snapshot.written_at);
    top.integer("heartbeat_secs", snapshot.heartbeat_secs);
    if (error.empty() && (snapshot.process.pid <= 0 || snapshot.heartbeat_secs <= 0)) {
        top.fail("pid", "or heartbeat_secs is not positive");
    }
    top.integer("last_acked_seq", snapshot.last_acked_seq);

    if (const Json* hub = top.member("hub")) {
        Reader reader(*hub, "hub", &error);
        reader.string("url", snapshot.hub.url);
        reader.boolean("connected", snapshot.hub.connected);
        reader.time("since", snapshot.hub.since);
        reader.string("last_error", snapshot.hub.last_error);
    }
    if (const Json* outbox = top.member("outbox")) {
        Reader reader(*outbox, "outbox", &error);
        for (const char* kind : outbox_kinds) {
            const Json* entry = reader.member(kind);
            if (!entry) break;
            Reader kind_reader(*entry, std::string("outbox.") + kind, &error);
            OutboxKindStatus status;
            kind_reader.integer("count", status.count);
            kind_reader.optional_time("oldest_at", status.oldest_at);
            snapshot.outbox[kind] = status;
        }
    }
    if (const Json* apps = top.member("apps")) {
        if (!apps->is_array()) top.fail("apps", "is not an array");
        for (std::size_t i = 0; error.empty() && i < apps->size(); ++i) {
            Reader reader((*apps)[i], "apps[" + std::to_string(i) + "]", &error);
            AppStatus app;
            reader.string("id", app.id);
            reader.string("type", app.type);
            reader.string("state", app.state);
            reader.string("detail", app.detail);
            reader.time("changed_at", app.changed_at);
            snapshot.apps.push_back(std::move(app));
        }
    }
    if (const Json* actions = top.member("actions")) {
        if (!actions->is_array()) top.fail("actions", "is not an array");
        for (std::size_t i = 0; error.empty() && i < actions->size(); ++i) {
            Reader reader((*actions)[i], "actions[" + std::to_string(i) + "]", &error);
            ActionStatus action;
            reader.string("jti", action.jti);
            reader.string("app_id", action.app_id);
            reader.string("status", action.status);
            reader.string("reported_by", action.reported_by);
            reader.time("at", action.at);
            snapshot.actions.push_back(std::move(action));
        }
    }
    if (const Json* inventory = top.member("inventory")) {
        Reader reader(*inventory, "inventory", &error);
        reader.optional_time("last_sent_at", snapshot.inventory.last_sent_at);
        if (const Json* errors = reader.member("section_errors")) {
            if (!errors->is_object()) reader.fail("section_errors", "is not an object");
            for (auto it = errors->begin(); error.empty() && it != errors->end(); ++it) {
                if (!it->is_string()) {
                    reader.fail("section_errors", "holds a value that is not a string");
                    break;
                }
                snapshot.inventory.section_errors[it.key()] = it->get<std::string>();
            }
        }
    }
    if (!error.empty()) return unexpected(std::move(error));
    return snapshot;
}

}  // namespace monsys::agent::status
