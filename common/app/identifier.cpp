#include "common/app/identifier.hpp"

#include <array>

namespace monsys::app {
namespace {

bool is_ascii_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

constexpr std::array<std::string_view, 11> unit_suffixes = {
    ".service",   ".socket", ".target", ".timer", ".path",  ".mount",
    ".automount", ".swap",   ".slice",  ".scope", ".device"};

bool is_docker_name(std::string_view name) {
    if (name.empty() || name.size() > 255 || !is_ascii_alnum(name.front())) return false;
    for (char c : name) {
        if (!is_ascii_alnum(c) && c != '_' && c != '.' && c != '-') return false;
    }
    return true;
}

}  // namespace

bool is_valid_app_id(std::string_view id) {
    if (id.empty() || id.size() > max_app_id_bytes || !is_ascii_alnum(id.front())) return false;
    for (char c : id) {
        if (!is_ascii_alnum(c) && c != '.' && c != '_' && c != ':' && c != '@' && c != '-') {
            return false;
        }
    }
    return true;
}

bool is_valid_unit_name(std::string_view name) {
    if (name.empty() || name.size() > 255) return false;
    if (name.front() == '-' || name.front() == '.' || name.front() == '@') return false;
    std::string_view suffix;
    for (std::string_view s : unit_suffixes) {
        if (name.size() > s.size() && name.substr(name.size() - s.size()) == s) suffix = s;
    }
    if (suffix.empty()) return false;
    std::string_view stem = name.substr(0, name.size() - suffix.size());
    int ats = 0;
    for (char c : stem) {
        if (c == '@') {
            ++ats;
        } else if (!is_ascii_alnum(c) && c != ':' && c != '_' && c != '.' && c != '-' &&
                   c != '\\') {
            return false;
        }
    }
    return ats <= 1;
}

bool is_valid_container_ref(std::string_view ref) {
    return is_docker_name(ref);
}

std::optional<ComposeRef> parse_compose_identifier(std::string_view identifier) {
    auto sep = identifier.find("::");
    if (sep == std::string_view::npos || identifier.find("::", sep + 2) != std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view project = identifier.substr(0, sep);
    std::string_view service = identifier.substr(sep + 2);
    if (project.empty() || project.size() > 255 || !is_lower_alnum(project.front())) {
        return std::nullopt;
    }
    for (char c : project) {
        if (!is_lower_alnum(c) && c != '_' && c != '-') return std::nullopt;
    }
    if (!is_docker_name(service)) return std::nullopt;
    return ComposeRef{std::string(project), std::string(service)};
}

bool is_absolute_normalized_path(std::string_view path) {
    if (path.size() < 2 || path.size() > 4096 || path.front() != '/' || path.back() == '/') {
        return false;
    }
    for (char c : path) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
            return false;
        }
    }
    std::size_t start = 1;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view component = path.substr(start, end - start);
        if (component.empty() || component == "." || component == "..") return false;
        start = end + 1;
    }
    return true;
}

Expected<void, std::string> check_identifier(AppType type, std::string_view identifier) {
    switch (type) {
        case AppType::systemd:
            if (is_valid_unit_name(identifier)) return ok();
            return unexpected("not a valid systemd unit name (e.g. nginx.service)");
        case AppType::docker:
            if (is_valid_container_ref(identifier)) return ok();
            return unexpected("not a valid container name or id");
        case AppType::compose:
            if (parse_compose_identifier(identifier)) return ok();
            return unexpected(
                "not a valid compose service (<project>::<service>, e.g. flowd_dev::app)");
        case AppType::process:
            if (is_absolute_normalized_path(identifier)) return ok();
            return unexpected("not an absolute, normalized path");
    }
    return unexpected("unknown app type");
}

}  // namespace monsys::app
