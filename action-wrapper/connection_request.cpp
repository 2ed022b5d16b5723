#include "action-wrapper/connection_request.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/app/identifier.hpp"

namespace monsys::action {

Expected<ConnectionRequest, std::string> parse_connection_request(std::string_view bytes) {
    constexpr std::string_view verb = "restart-app ";
    auto first_end = bytes.find('\n');
    if (first_end == std::string_view::npos) {
        return unexpected(std::string("the request has no complete first line"));
    }
    std::string_view first = bytes.substr(0, first_end);
    if (first.substr(0, verb.size()) != verb) {
        return unexpected(std::string("the request must start with \"restart-app <app-id>\""));
    }
    ConnectionRequest request;
    request.app_id = std::string(first.substr(verb.size()));
    // The same grammar the token's app.id was held to, so a token the agent accepted is never
    // refused here for its id alone.
    if (!app::is_valid_app_id(request.app_id)) {
        return unexpected("the app id must be " + std::string(app::app_id_rule));
    }
    std::string_view rest = bytes.substr(first_end + 1);
    auto token_end = rest.find('\n');
    std::string_view token = rest.substr(0, token_end);
    if (token_end != std::string_view::npos &&
        rest.substr(token_end + 1).find_first_not_of("\r\n") != std::string_view::npos) {
        return unexpected(std::string("the request has more than two lines"));
    }
    while (!token.empty() && token.back() == '\r') token.remove_suffix(1);
    if (token.empty()) return unexpected(std::string("the request holds no token"));
    request.token = std::string(token);
    return request;
}

Expected<std::string, std::string> read_connection_request(int fd,
                                                           std::chrono::milliseconds deadline) {
    using Clock = std::chrono::steady_clock;
    const auto until = Clock::now() + deadline;
    std::string bytes;
    char chunk[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        if (left.count() <= 0) return unexpected(std::string("the request did not arrive in time"));
        pollfd waiting{fd, POLLIN, 0};
        int ready = ::poll(&waiting, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0)
            return unexpected(std::string("cannot wait for the request: ") + std::strerror(errno));
        if (ready == 0) continue;
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            return unexpected(std::string("cannot read the request: ") + std::strerror(errno));
        if (n == 0) return bytes;
        bytes.append(chunk, static_cast<std::size_t>(n));
        if (bytes.size() > max_connection_request_bytes) {
            return unexpected(std::string("the request is larger than 16 KiB"));
        }
    }
}

Expected<unsigned, std::string> peer_uid(int fd) {
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
        return unexpected(std::string("standard input is not a Unix socket connection: ") +
                          std::strerror(errno));
    }
    return static_cast<unsigned>(credentials.uid);
}

}  // namespace monsys::action
