#pragma once
// The grammar of app identifiers, checked before anything runs. Every check is an allow-list:
// anything a shell, systemctl or a URL could read as more than a name is refused.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/app/app.hpp"
#include "common/util/expected.hpp"

namespace monsys::app {

inline constexpr std::size_t max_app_id_bytes = 128;

// The one grammar of an app id (the hub's name for a tracked app), wherever one arrives: a
// token's app.id, the hub protocol's tracked apps, a serve-connection request. 1 to 128 bytes,
// the first [A-Za-z0-9], the rest [A-Za-z0-9._:@-]: no space, no control or non-ASCII byte, no
// '/', so an id is safe as an argument, in a log line and in a file name.
bool is_valid_app_id(std::string_view id);

// The rule above in words, for refusal messages.
inline constexpr std::string_view app_id_rule =
    "1 to 128 bytes: a letter or digit, then letters, digits, '.', '_', ':', '@' or '-'";

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

// Success when `identifier` is valid for `type`, else why it is not (one line, no identifier in
// it: callers quote the identifier themselves where they show it).
Expected<void, std::string> check_identifier(AppType type, std::string_view identifier);

}  // namespace monsys::app
