#pragma once
// Docker Engine API version negotiation: pure logic, no sockets.
#include <optional>
#include <string>
#include <string_view>

#include "common/util/expected.hpp"

namespace monsys::io::docker {

struct ApiVersion {
    int major = 1;
    int minor = 0;

    std::string to_string() const;  // "1.41"
    friend auto operator<=>(const ApiVersion&, const ApiVersion&) = default;
};

// The newest API version whose endpoints this code was checked against (Docker Engine 24).
inline constexpr ApiVersion kNewestKnownApiVersion{1, 43};
// The oldest we accept: every endpoint used here exists in this form since 1.24 (Docker 1.12).
inline constexpr ApiVersion kOldestSupportedApiVersion{1, 24};

// Parses "1.41" (digits '.' digits, nothing else, each part at most 4 digits).
std::optional<ApiVersion> parse_api_version(std::string_view text);

// min(server, newest known); an unparsable or too old server version is an error.
Expected<ApiVersion, std::string> choose_api_version(std::string_view server_version);

}  // namespace monsys::io::docker
