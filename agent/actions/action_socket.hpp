#pragma once
// The systemd-native way to reach monsys-action (docs/security.md): connect to
// monsys-action.socket, whose service runs one `monsys-action serve-connection` per connection as
// user monsys-action, write the request, and read the JSON result until the wrapper closes the
// connection. Blocking: call it from a worker thread.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

#include "common/util/expected.hpp"

namespace monsys::agent::actions {

// "restart-app <app-id>\n<token>\n", the request monsys-action serve-connection reads.
std::string connection_request(const std::string& app_id, const std::string& token);

// Sends `request`, half-closes, and returns everything the peer wrote, at most `cap` bytes
// (more is an error), within `timeout` in all. The error is one line naming the socket. When
// `cancel_fd` (>= 0) becomes readable the connection is closed at once and that is the error.
Expected<std::string, std::string> exchange_over_socket(const std::filesystem::path& socket,
                                                        const std::string& request,
                                                        std::chrono::milliseconds timeout,
                                                        std::size_t cap, int cancel_fd = -1);

}  // namespace monsys::agent::actions
