#include "common/app/app.hpp"

namespace monsys::app {

const char* to_string(AppType type) {
    switch (type) {
        case AppType::systemd:
            return "systemd";
        case AppType::docker:
            return "docker";
        case AppType::compose:
            return "compose";
        case AppType::process:
            return "process";
    }
    return "unknown";
}

std::optional<AppType> parse_app_type(std::string_view text) {
    for (AppType type : all_app_types) {
        if (text == to_string(type)) return type;
    }
    return std::nullopt;
}

}  // namespace monsys::app
