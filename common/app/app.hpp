#pragma once
// What the hub tracks: an app has a type, and an identifier whose grammar depends on the type.
#include <optional>
#include <string>
#include <string_view>

namespace monsys::app {

enum class AppType { systemd, docker, compose, process };

inline constexpr AppType all_app_types[] = {AppType::systemd, AppType::docker, AppType::compose,
                                            AppType::process};

const char* to_string(AppType type);
std::optional<AppType> parse_app_type(std::string_view text);

// One app as an Emergency Action Token names it.
struct AppRef {
    std::string id;
    AppType type = AppType::systemd;
    std::string identifier;
    std::string restart_command;  // process apps only: an absolute, normalized path
};

}  // namespace monsys::app
