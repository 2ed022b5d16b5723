#pragma once
// The grammar of app identifiers, checked before anything runs. Every check is an allow-list:
// anything a shell, systemctl or a URL could read as more than a name is refused.
#include <optional>
#include <string>
#include <string_view>

#include "common/app/app.hpp"

namespace monsys::app {

// A systemd unit name: [A-Za-z0-9:_.\-@]+ with a known unit suffix, at most 255 bytes, optionally
// a template instance ("name@instance.service"). A leading '-' or '.' is refused.
bool is_valid_unit_name(std::string_view name);

// A Docker container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 255 bytes) or id (hex).
bool is_valid_container_ref(std::string_view ref);

// "<project>::<service>": project [a-z0-9][a-z0-9_-]*, service [a-zA-Z0-9][a-zA-Z0-9_.-]*.
struct ComposeRef {
    std::string project;
    std::string service;
};
std::optional<ComposeRef> parse_compose_identifier(std::string_view identifier);

// An absolute, normalized path: starts with '/', no empty, "." or ".." components, no trailing
// '/', printable ASCII only, at most 4096 bytes.
bool is_absolute_normalized_path(std::string_view path);

// Returns why `identifier` is not valid for `type`, or nothing when it is.
std::optional<std::string> identifier_problem(AppType type, std::string_view identifier);

}  // namespace monsys::app
