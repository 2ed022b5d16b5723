#include "common/io/docker/api_version.hpp"

#include <charconv>

namespace monsys::io::docker {

namespace {

std::optional<int> parse_part(std::string_view digits) {
    if (digits.empty() || digits.size() > 4) return std::nullopt;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
    }
    int value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
    return value;
}

}  // namespace

std::string ApiVersion::to_string() const {
    return std::to_string(major) + "." + std::to_string(minor);
}

std::optional<ApiVersion> parse_api_version(std::string_view text) {
    auto dot = text.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    auto major = parse_part(text.substr(0, dot));
    auto minor = parse_part(text.substr(dot + 1));
    if (!major || !minor) return std::nullopt;
    return ApiVersion{*major, *minor};
}

Expected<ApiVersion, std::string> choose_api_version(std::string_view server_version) {
    auto server = parse_api_version(server_version);
    if (!server) {
        return unexpected("the engine reports an unreadable API version \"" +
                          std::string(server_version.substr(0, 32)) + "\"");
    }
    if (*server < kOldestSupportedApiVersion) {
        return unexpected("the engine's API version " + server->to_string() +
                          " is older than the oldest supported, " +
                          kOldestSupportedApiVersion.to_string());
    }
    return *server < kNewestKnownApiVersion ? *server : kNewestKnownApiVersion;
}

}  // namespace monsys::io::docker
