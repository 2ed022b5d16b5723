#include "common/config/config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/json/capped_json.hpp"
#include "common/util/printable.hpp"

namespace monsys::config {
namespace {

using json::Json;

constexpr std::size_t max_config_bytes = 1 << 20;

// Each reader checks one field's type and range; the error is the message after "field 'x': ".
using FieldCheck = Expected<void, std::string>;

FieldCheck invalid(std::string why) {
    return unexpected(std::move(why));
}

FieldCheck read_string(const Json& value, std::string& out, bool allow_empty = false) {
    if (!value.is_string()) return invalid("must be a string");
    out = value.get<std::string>();
    if (!allow_empty && out.empty()) return invalid("must not be empty");
    return ok();
}

FieldCheck read_path(const Json& value, std::filesystem::path& out, bool allow_empty = false) {
    std::string text;
    if (auto read = read_string(value, text, allow_empty); !read) return read;
    if (!text.empty() && text.front() != '/') return invalid("must be an absolute path");
    out = text;
    return ok();
}

FieldCheck read_seconds(const Json& value, std::int64_t& out, std::int64_t min, std::int64_t max) {
    if (!value.is_number_integer()) return invalid("must be an integer");
    auto number = value.get<std::int64_t>();
    if (number < min || number > max) {
        return invalid("must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = number;
    return ok();
}

FieldCheck read_bool(const Json& value, bool& out) {
    if (!value.is_boolean()) return invalid("must be true or false");
    out = value.get<bool>();
    return ok();
}

FieldCheck read_string_list(const Json& value, std::vector<std::string>& out, bool allow_empty) {
    if (!value.is_array()) return invalid("must be an array of strings");
    if (!allow_empty && value.empty()) return invalid("must not be empty");
    std::vector<std::string> items;
    for (const Json& item : value) {
        if (!item.is_string() || item.get<std::string>().empty()) {
            return invalid("must be an array of non-empty strings");
        }
        items.push_back(item.get<std::string>());
    }
    out = std::move(items);
    return ok();
}

FieldCheck read_hub_keys(const Json& value, std::map<std::string, eat::PublicKey>& out) {
    if (!value.is_object())
        return invalid("must be an object mapping key ids to base64 public keys");
    std::map<std::string, eat::PublicKey> keys;
    for (const auto& [kid, encoded] : value.items()) {
        if (kid.empty() || kid.size() > 128)
            return invalid("key ids must have 1 to 128 characters");
        if (!encoded.is_string())
            return invalid("key \"" + printable_name(kid) + "\" must be a base64 string");
        // A small-order, all-zero or non-canonical key is an error here, not a key with which
        // every token later fails (or, with a lax verifier, many forgeries pass).
        auto key = eat::decode_public_key(encoded.get<std::string>());
        if (!key) return invalid("key \"" + printable_name(kid) + "\" " + key.error());
        keys.emplace(kid, *key);
    }
    out = std::move(keys);
    return ok();
}

FieldCheck read_bus(const Json& value, BusKind& out) {
    if (value == "system") {
        out = BusKind::system;
    } else if (value == "user") {
        out = BusKind::user;
    } else {
        return invalid("must be \"system\" or \"user\"");
    }
    return ok();
}

FieldCheck read_hub_url(const Json& value, std::string& out) {
    if (auto read = read_string(value, out, /*allow_empty=*/true); !read) return read;
    if (!out.empty() && out.rfind("wss://", 0) != 0 && out.rfind("ws://", 0) != 0) {
        return invalid("must start with wss:// or ws://");
    }
    return ok();
}

// Only the scheme here: the rest (userinfo, host, port) is checked by the agent's proxy URL
// parser, which also words the errors check-config prints.
FieldCheck read_hub_proxy(const Json& value, std::optional<std::string>& out) {
    std::string text;
    if (auto read = read_string(value, text, /*allow_empty=*/true); !read) return read;
    if (!text.empty() && text.rfind("http://", 0) != 0 && text.rfind("https://", 0) != 0) {
        return invalid("must be \"\" (no proxy) or start with http:// or https://");
    }
    out = std::move(text);
    return ok();
}

FieldCheck read_field(const std::string& name, const Json& value, Config& config) {
    constexpr std::int64_t day = 86400;
    if (name == "agent_id") return read_string(value, config.agent_id);
    if (name == "issuer") return read_string(value, config.issuer);
    if (name == "hub_keys") return read_hub_keys(value, config.hub_keys);
    if (name == "clock_skew_secs") return read_seconds(value, config.clock_skew_secs, 0, 600);
    if (name == "max_token_lifetime_secs") {
        return read_seconds(value, config.max_token_lifetime_secs, 1, 3600);
    }
    if (name == "systemd_bus") return read_bus(value, config.systemd_bus);
    if (name == "docker_socket") {
        std::filesystem::path path;
        if (auto read = read_path(value, path); !read) return read;
        config.docker_socket = path.string();
        return ok();
    }
    if (name == "source_timeout_secs")
        return read_seconds(value, config.source_timeout_secs, 1, 300);
    if (name == "state_dir") return read_path(value, config.state_dir);
    if (name == "restart_timeout_secs") {
        return read_seconds(value, config.restart_timeout_secs, 1, 3600);
    }
    if (name == "output_cap_bytes") {
        return read_seconds(value, config.output_cap_bytes, 1024, 16 << 20);
    }
    if (name == "action_command") {
        if (auto read = read_string_list(value, config.action_command, false); !read) return read;
        if (config.action_command.front().front() != '/')
            return invalid("must start with an absolute path");
        return ok();
    }
    if (name == "action_socket")
        return read_path(value, config.action_socket, /*allow_empty=*/true);
    if (name == "restart_result_dir") return read_path(value, config.restart_result_dir);
    if (name == "restart_settle_ms") return read_seconds(value, config.restart_settle_ms, 0, 60000);
    if (name == "hub_url") return read_hub_url(value, config.hub_url);
    if (name == "hub_token_file") return read_path(value, config.hub_token_file);
    if (name == "hub_ca_file") return read_path(value, config.hub_ca_file, /*allow_empty=*/true);
    if (name == "hub_state_dir") return read_path(value, config.hub_state_dir);
    if (name == "hub_proxy") return read_hub_proxy(value, config.hub_proxy);
    if (name == "hub_proxy_ca_file") {
        return read_path(value, config.hub_proxy_ca_file, /*allow_empty=*/true);
    }
    if (name == "status_file") return read_path(value, config.status_file);
    if (name == "hub_allow_insecure_ws") return read_bool(value, config.hub_allow_insecure_ws);
    if (name == "observe_events") return read_bool(value, config.observe_events);
    if (name == "docker_events") return read_bool(value, config.docker_events);
    if (name == "observe_interval_secs")
        return read_seconds(value, config.observe_interval_secs, 1, 3600);
    if (name == "state_interval_secs")
        return read_seconds(value, config.state_interval_secs, 5, day);
    if (name == "inventory_interval_secs") {
        return read_seconds(value, config.inventory_interval_secs, 60, 30 * day);
    }
    if (name == "tags") return read_string_list(value, config.tags, true);
    return invalid("unknown field (see docs/configuration.md)");
}

}  // namespace

const char* to_string(BusKind kind) {
    return kind == BusKind::user ? "user" : "system";
}

Expected<Config, std::string> parse_config(std::string_view text) {
    json::Limits limits;
    limits.max_bytes = max_config_bytes;
    limits.allow_comments = true;
    auto document = json::parse(text, limits);
    if (!document) return unexpected("not valid JSON: " + document.error().message);
    if (!document->is_object()) return unexpected(std::string("must be a JSON object"));

    Config config;
    for (const auto& [name, value] : document->items()) {
        if (value.is_null()) continue;  // null means "the default"
        if (auto read = read_field(name, value, config); !read) {
            return unexpected("field '" + printable_name(name) + "': " + read.error());
        }
    }
    return config;
}

Expected<Config, std::string> load_config(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return unexpected(path.string() + ": cannot read: " + std::strerror(errno));
    }
    std::string text(max_config_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_config_bytes) {
        return unexpected(path.string() + ": larger than 1 MiB");
    }
    auto config = parse_config(text);
    if (!config) return unexpected(path.string() + ": " + config.error());
    return config;
}

Expected<void, std::string> check_fields_for_actions(const Config& config) {
    if (config.agent_id.empty()) return invalid("field 'agent_id' is required");
    if (config.issuer.empty()) return invalid("field 'issuer' is required");
    if (config.hub_keys.empty()) return invalid("field 'hub_keys' must pin at least one hub key");
    return ok();
}

std::filesystem::path replay_store_path(const Config& config) {
    return config.state_dir / "eat-replay.db";
}

}  // namespace monsys::config
