#include "common/io/docker/event_stream.hpp"

#include <cstdio>

#include "common/json/capped_json.hpp"

namespace monsys::io::docker {

namespace {

using json::Json;

constexpr const char* kProjectLabel = "com.docker.compose.project";
constexpr const char* kServiceLabel = "com.docker.compose.service";

std::string string_at(const Json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// An integer member, also when sent as a float (a JSON encoder may); nullopt if absent.
std::optional<std::int64_t> integer_at(const Json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end()) return std::nullopt;
    if (it->is_number_integer()) return it->get<std::int64_t>();
    if (it->is_number_float()) {
        double value = it->get<double>();
        if (value >= 0 && value < 9.2e18) return static_cast<std::int64_t>(value);
    }
    return std::nullopt;
}

std::string_view without_cr(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    return line;
}

enum class LineKind { container_event, other_event, unreadable };

// Decodes one line into `record`; says what the line was.
LineKind decode_line(std::string_view line, ContainerEventRecord& record) {
    line = without_cr(line);
    if (line.empty()) return LineKind::unreadable;
    json::Limits limits;
    limits.max_bytes = line.size();
    limits.max_depth = 8;
    // A duplicate member changes nothing we act on: the event only triggers a fresh look.
    limits.reject_duplicate_keys = false;
    auto parsed = json::parse(line, limits);
    if (!parsed || !parsed->is_object()) return LineKind::unreadable;
    const Json& event = *parsed;
    // Docker since API 1.22 sends "Type"; older events and some podman ones only "status"/"id"
    // (always about containers then).
    std::string type = string_at(event, "Type");
    if (!type.empty() && type != "container") return LineKind::other_event;

    record.action = string_at(event, "Action");
    if (record.action.empty()) record.action = string_at(event, "status");
    record.id = string_at(event, "id");
    auto actor = event.find("Actor");
    if (actor != event.end() && actor->is_object()) {
        if (std::string actor_id = string_at(*actor, "ID"); !actor_id.empty()) record.id = actor_id;
        auto attributes = actor->find("Attributes");
        if (attributes != actor->end() && attributes->is_object()) {
            record.name = string_at(*attributes, "name");
            record.compose_project = string_at(*attributes, kProjectLabel);
            record.compose_service = string_at(*attributes, kServiceLabel);
        }
    }
    if (!record.name.empty() && record.name.front() == '/') record.name.erase(0, 1);
    if (record.id.empty() && record.name.empty()) return LineKind::unreadable;

    if (auto nano = integer_at(event, "timeNano"); nano && *nano > 0) {
        record.time_nano = *nano;
    } else if (auto seconds = integer_at(event, "time");
               seconds && *seconds > 0 && *seconds < 9'000'000'000) {
        record.time_nano = *seconds * 1'000'000'000;
    }
    return LineKind::container_event;
}

}  // namespace

std::optional<ContainerEventRecord> decode_container_event(std::string_view line) {
    ContainerEventRecord record;
    if (decode_line(line, record) != LineKind::container_event) return std::nullopt;
    return record;
}

std::string events_since_value(std::int64_t time_nano) {
    if (time_nano < 0) time_nano = 0;
    char text[48];
    std::snprintf(text, sizeof text, "%lld.%09lld",
                  static_cast<long long>(time_nano / 1'000'000'000),
                  static_cast<long long>(time_nano % 1'000'000'000));
    return text;
}

std::vector<ContainerEventRecord> EventStreamParser::feed(std::string_view bytes) {
    std::vector<ContainerEventRecord> out;
    while (!bytes.empty()) {
        auto newline = bytes.find('\n');
        std::string_view piece = bytes.substr(0, newline);
        bytes = newline == std::string_view::npos ? std::string_view() : bytes.substr(newline + 1);
        if (skipping_) {
            if (newline != std::string_view::npos) skipping_ = false;
            continue;
        }
        if (line_.size() + piece.size() > max_line_) {
            // Too long to be an event we want: drop what we have and the rest of the line.
            ++oversized_;
            line_.clear();
            if (newline == std::string_view::npos) skipping_ = true;
            continue;
        }
        line_.append(piece);
        if (newline != std::string_view::npos) finish_line(out);
    }
    return out;
}

void EventStreamParser::finish_line(std::vector<ContainerEventRecord>& out) {
    std::string line = std::move(line_);
    line_.clear();
    if (without_cr(line).empty()) return;  // a keep-alive blank line
    ContainerEventRecord record;
    switch (decode_line(line, record)) {
        case LineKind::container_event:
            ++events_;
            out.push_back(std::move(record));
            break;
        case LineKind::other_event:
            ++ignored_;
            break;
        case LineKind::unreadable:
            ++unreadable_;
            break;
    }
}

void EventStreamParser::reset() {
    line_.clear();
    skipping_ = false;
}

}  // namespace monsys::io::docker
