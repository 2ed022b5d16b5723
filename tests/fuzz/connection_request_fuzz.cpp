// serve-connection's request reader (action-wrapper/connection_request): the bytes a client of
// monsys-action.socket writes, read from a real socket up to the cap, then parsed.
// Properties: the reader returns exactly what was written when it fits the cap and refuses it
// otherwise; a parsed request has a valid app id and a one-line token, and is the start of what
// was sent.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "action-wrapper/connection_request.hpp"
#include "common/app/identifier.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

// The bytes as monsys-action would read them from its connection: written by a peer that then
// shuts its side down. Inputs longer than the cap are cut just past it (the reader must refuse
// at that point), so the socket buffer never has to hold more.
monsys::Expected<std::string, std::string> read_through_socket(std::string_view bytes) {
    int fds[2];
    FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fds[1], bytes.data() + done, bytes.size() - done);
        FUZZ_CHECK(n > 0);
        done += static_cast<std::size_t>(n);
    }
    ::shutdown(fds[1], SHUT_WR);
    auto read = monsys::action::read_connection_request(fds[0], std::chrono::seconds(5));
    ::close(fds[0]);
    ::close(fds[1]);
    return read;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace monsys;
    constexpr std::size_t cap = action::max_connection_request_bytes;
    auto sent = fuzz::as_text(data, size).substr(0, cap + 1);
    auto read = read_through_socket(sent);
    if (sent.size() > cap) {
        FUZZ_CHECK(!read.has_value());
        return 0;
    }
    FUZZ_CHECK(read.has_value() && *read == sent);

    auto request = action::parse_connection_request(*read);
    if (!request) {
        FUZZ_CHECK(!request.error().empty() && request.error().find('\n') == std::string::npos);
        return 0;
    }
    FUZZ_CHECK(app::is_valid_app_id(request->app_id));
    FUZZ_CHECK(!request->token.empty() && request->token.find('\n') == std::string::npos &&
               request->token.back() != '\r');
    FUZZ_CHECK(sent.starts_with("restart-app " + request->app_id + "\n" + request->token));
    return 0;
}
