#pragma once
// The request the agent writes into a monsys-action.socket connection (docs/monsys-action.md,
// "serve-connection"):
//
//     restart-app <app-id>\n
//     <token>\n
//
// Pure: parsing the bytes, and reading them from a descriptor with a cap and a deadline.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/util/expected.hpp"

namespace monsys::action {

inline constexpr std::size_t max_connection_request_bytes = 16 * 1024;

struct ConnectionRequest {
    std::string app_id;
    std::string token;
};

// The error is one line for the result's message.
Expected<ConnectionRequest, std::string> parse_connection_request(std::string_view bytes);

// Reads until the peer shuts its side down, at most max_connection_request_bytes (more is an
// error) and at most `deadline` in all.
Expected<std::string, std::string> read_connection_request(int fd,
                                                           std::chrono::milliseconds deadline);

// The uid of the process on the other end of a Unix socket; an error when `fd` is not one.
Expected<unsigned, std::string> peer_uid(int fd);

}  // namespace monsys::action
