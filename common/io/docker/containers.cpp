#include "common/io/docker/containers.hpp"

#include "common/io/docker/docker_client.hpp"
#include "common/json/capped_json.hpp"

namespace monsys::io::docker {

namespace {

using json::Json;

constexpr std::size_t kMaxLabels = 1000;

json::Limits reply_limits() {
    json::Limits limits;
    limits.max_bytes = Limits{}.max_body_bytes;
    limits.max_depth = 32;
    // Duplicates in an engine's reply change nothing we decide on; do not fail on them.
    limits.reject_duplicate_keys = false;
    return limits;
}

std::string string_field(const Json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t int_field(const Json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_number_integer()) return 0;
    return it->get<std::int64_t>();
}

bool bool_field(const Json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_boolean() && it->get<bool>();
}

std::string without_slash(std::string name) {
    if (!name.empty() && name.front() == '/') name.erase(0, 1);
    return name;
}

// Labels are {"k":"v"} in both engines; null (podman, docker for none) means none.
std::map<std::string, std::string> labels_of(const Json* labels) {
    std::map<std::string, std::string> out;
    if (labels == nullptr || !labels->is_object()) return out;
    for (const auto& [key, value] : labels->items()) {
        if (out.size() >= kMaxLabels) break;
        if (value.is_string()) out.emplace(key, value.get<std::string>());
    }
    return out;
}

const Json* child(const Json& object, const char* key) {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

}  // namespace

Expected<ContainerState, std::string> decode_container_inspect(std::string_view body) {
    auto parsed = json::parse(body, reply_limits());
    if (!parsed) return unexpected("unreadable container inspect reply: " + parsed.error().message);
    const Json& root = *parsed;
    if (!root.is_object())
        return unexpected(std::string("container inspect reply is not an object"));
    ContainerState state;
    state.id = string_field(root, "Id");
    state.name = without_slash(string_field(root, "Name"));
    state.restart_count = int_field(root, "RestartCount");
    const Json* st = child(root, "State");
    if (state.id.empty() || st == nullptr || !st->is_object()) {
        return unexpected(std::string("container inspect reply lacks Id or State"));
    }
    state.status = string_field(*st, "Status");
    state.running = bool_field(*st, "Running");
    state.started_at = string_field(*st, "StartedAt");
    state.finished_at = string_field(*st, "FinishedAt");
    state.pid = int_field(*st, "Pid");
    state.exit_code = int_field(*st, "ExitCode");
    state.error = string_field(*st, "Error");
    if (const Json* config = child(root, "Config"); config != nullptr && config->is_object()) {
        state.labels = labels_of(child(*config, "Labels"));
    }
    return state;
}

Expected<std::vector<ContainerSummary>, std::string> decode_container_list(std::string_view body,
                                                                           std::size_t max_count) {
    auto parsed = json::parse(body, reply_limits());
    if (!parsed) return unexpected("unreadable container list reply: " + parsed.error().message);
    if (!parsed->is_array()) return unexpected(std::string("container list reply is not an array"));
    if (parsed->size() > max_count) {
        return unexpected("container list has " + std::to_string(parsed->size()) +
                          " entries, more than the limit of " + std::to_string(max_count));
    }
    std::vector<ContainerSummary> out;
    out.reserve(parsed->size());
    for (const Json& entry : *parsed) {
        if (!entry.is_object())
            return unexpected(std::string("container list entry is not an object"));
        ContainerSummary summary;
        summary.id = string_field(entry, "Id");
        if (summary.id.empty()) return unexpected(std::string("container list entry lacks Id"));
        if (const Json* names = child(entry, "Names"); names != nullptr && names->is_array()) {
            for (const Json& name : *names) {
                if (name.is_string())
                    summary.names.push_back(without_slash(name.get<std::string>()));
            }
        }
        summary.image = string_field(entry, "Image");
        summary.state = string_field(entry, "State");
        summary.status = string_field(entry, "Status");
        summary.created = int_field(entry, "Created");
        summary.labels = labels_of(child(entry, "Labels"));
        out.push_back(std::move(summary));
    }
    return out;
}

std::string describe_http_failure(const Response& response) {
    std::string text = "HTTP " + std::to_string(response.status);
    json::Limits limits = reply_limits();
    limits.max_bytes = 64 * 1024;
    auto parsed = json::parse(response.body, limits);
    if (parsed && parsed->is_object()) {
        std::string message = string_field(*parsed, "message");
        if (message.size() > 512) message.resize(512);
        for (char& c : message) {
            if (c == '\n' || c == '\r') c = ' ';
        }
        if (!message.empty()) text += ": " + message;
    }
    return text;
}

std::string label_filter_query(const std::vector<std::string>& labels) {
    Json filter = Json::object();
    filter["label"] = labels;
    return url_encode(filter.dump());
}

Expected<ContainerState, CallError> inspect_container(DockerClient& client,
                                                      std::string_view name_or_id,
                                                      std::chrono::milliseconds step_timeout) {
    auto response = client.get("/containers/" + url_encode(name_or_id) + "/json", step_timeout);
    if (!response) return unexpected(CallError{std::move(response.error()), false});
    if (response->status != 200) {
        return unexpected(CallError{describe_http_failure(*response), response->status == 404});
    }
    auto state = decode_container_inspect(response->body);
    if (!state) return unexpected(CallError{std::move(state.error()), false});
    return std::move(*state);
}

Expected<std::vector<ContainerSummary>, CallError> list_containers(
    DockerClient& client, std::string_view query, std::chrono::milliseconds step_timeout) {
    auto response = client.get("/containers/json" + std::string(query), step_timeout);
    if (!response) return unexpected(CallError{std::move(response.error()), false});
    if (response->status != 200) {
        return unexpected(CallError{describe_http_failure(*response), response->status == 404});
    }
    auto list = decode_container_list(response->body);
    if (!list) return unexpected(CallError{std::move(list.error()), false});
    return std::move(*list);
}

}  // namespace monsys::io::docker
