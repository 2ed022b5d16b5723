#pragma once
// One HTTP response from the Docker Engine API, as plain data (no Asio), so decoders and their
// tests need no socket.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace monsys::io::docker {

struct Response {
    unsigned status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
    std::string body;

    // The first header of that name (case-insensitive), if any.
    std::optional<std::string_view> header(std::string_view name) const;
};

}  // namespace monsys::io::docker
